//! A YAML document as a tree of located nodes.
//!
//! serde-saphyr parses the text and gives every node its line and column (`Spanned`). Validation
//! then works on this tree instead of on one big typed struct, so that one mistake does not hide
//! the next: every check, target and waiver is validated on its own and all problems of a run are
//! reported together (cargo-deny's two phases). Kind parameters are still typed: `NodeDeserializer`
//! lets serde derive read them from a node, and its errors carry the position of the node at fault.

use std::fmt;

use serde::Deserialize;
use serde::de::{
    self, DeserializeSeed, Deserializer, IntoDeserializer, MapAccess, SeqAccess, Visitor,
};
use serde_saphyr::Spanned;

/// A 1-based position in a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Loc {
    pub line: u32,
    pub col: u32,
}

impl Loc {
    fn from_saphyr(loc: serde_saphyr::Location) -> Loc {
        Loc {
            line: u32::try_from(loc.line()).unwrap_or(u32::MAX),
            col: u32::try_from(loc.column()).unwrap_or(u32::MAX),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub loc: Loc,
    pub value: Value,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    /// `from_env` is true when `${VAR}` interpolation put environment content in the string:
    /// such text may be a secret and is never quoted back in a diagnostic.
    Str {
        text: String,
        from_env: bool,
    },
    Seq(Vec<Node>),
    Map(Vec<(Key, Node)>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Key {
    pub loc: Loc,
    pub name: String,
}

impl Node {
    pub fn str(&self) -> Option<&str> {
        match &self.value {
            Value::Str { text, .. } => Some(text),
            _ => None,
        }
    }

    pub fn entries(&self) -> Option<&[(Key, Node)]> {
        match &self.value {
            Value::Map(entries) => Some(entries),
            _ => None,
        }
    }

    pub fn items(&self) -> Option<&[Node]> {
        match &self.value {
            Value::Seq(items) => Some(items),
            _ => None,
        }
    }

    pub fn get(&self, name: &str) -> Option<&Node> {
        self.entries()?
            .iter()
            .find(|(k, _)| k.name == name)
            .map(|(_, v)| v)
    }

    pub fn type_name(&self) -> &'static str {
        match self.value {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a number",
            Value::Str { .. } => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }

    /// Reads a typed value out of this node; the error names the position of the node at fault.
    pub fn parse<T: de::DeserializeOwned>(&self) -> Result<T, NodeError> {
        T::deserialize(NodeDeserializer { node: self }).map_err(|e| e.located(self.loc))
    }

    /// Rewrites every string of the tree (keys stay as written); `f` is told where each is.
    pub fn map_strings(&self, f: &mut dyn FnMut(&str, Loc) -> (String, bool)) -> Node {
        let value = match &self.value {
            Value::Str { text, from_env } => {
                let (text, env) = f(text, self.loc);
                Value::Str {
                    text,
                    from_env: *from_env || env,
                }
            }
            Value::Seq(items) => Value::Seq(items.iter().map(|n| n.map_strings(f)).collect()),
            Value::Map(entries) => Value::Map(
                entries
                    .iter()
                    .map(|(k, v)| (k.clone(), v.map_strings(f)))
                    .collect(),
            ),
            other => other.clone(),
        };
        Node {
            loc: self.loc,
            value,
        }
    }
}

/// Parses one YAML document. An empty document is an empty mapping.
pub fn parse_document(text: &str) -> Result<Node, (Option<Loc>, String)> {
    if text.trim().is_empty() {
        return Ok(Node {
            loc: Loc { line: 1, col: 1 },
            value: Value::Map(Vec::new()),
        });
    }
    // YAML 1.2 booleans only: `no`, `on` or `y` stay text (a title "no", a key `on`).
    let mut options = serde_saphyr::Options::default();
    options.strict_booleans = true;
    // Comments are not used; not capturing them makes parsing cheaper.
    options.emit_comments = false;
    serde_saphyr::from_str_with_options::<Node>(text, options).map_err(|e| {
        let loc = e.location().map(Loc::from_saphyr).filter(|l| l.line > 0);
        (loc, plain_yaml_message(&e))
    })
}

/// The parser's message without its own "at line X column Y" suffix: the diagnostic prints the
/// position in front, as `FILE:LINE:COL: message`.
fn plain_yaml_message(e: &serde_saphyr::Error) -> String {
    let mut inner = e;
    while let serde_saphyr::Error::WithSnippet { error, .. }
    | serde_saphyr::Error::AliasError { error, .. } = inner
    {
        inner = error;
    }
    match inner {
        serde_saphyr::Error::DuplicateMappingKey { key: Some(key), .. } => {
            return format!("`{key}` appears twice in this mapping: keep one of them");
        }
        serde_saphyr::Error::DuplicateMappingKey { key: None, .. } => {
            return "a key appears twice in this mapping: keep one of them".into();
        }
        serde_saphyr::Error::NonFiniteFloat { value, .. } => {
            return format!(
                "`{value}` is not a number this configuration accepts: write a finite number"
            );
        }
        serde_saphyr::Error::Budget { .. } => {
            return "the document is too large to read (past the parser's limit on nodes, \
                    aliases or nesting): split it into included files and avoid aliases of aliases"
                .into();
        }
        _ => {}
    }
    let text = e.without_snippet().to_string();
    let first = text.lines().next().unwrap_or_default().trim();
    match first.rfind(" at line ") {
        Some(i) => first[..i].to_string(),
        None => first.to_string(),
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let spanned = Spanned::<Value>::deserialize(deserializer)?;
        Ok(Node {
            loc: Loc::from_saphyr(spanned.referenced),
            value: spanned.value,
        })
    }
}

/// A mapping key as text: YAML allows `200: ok`, the config only ever needs the spelling.
struct KeyText(String);

impl<'de> Deserialize<'de> for KeyText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = KeyText;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a scalar key")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
        }
        deserializer.deserialize_any(KeyVisitor)
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ValueVisitor;
        impl<'de> Visitor<'de> for ValueVisitor {
            type Value = Value;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any YAML value")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
                Ok(Value::Null)
            }
            fn visit_none<E: de::Error>(self) -> Result<Value, E> {
                Ok(Value::Null)
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
                Value::deserialize(d)
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
                Ok(Value::Bool(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
                Ok(Value::Int(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
                Ok(i64::try_from(v)
                    .map(Value::Int)
                    .unwrap_or(Value::Float(v as f64)))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
                Ok(Value::Float(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
                Ok(Value::Str {
                    text: v.to_string(),
                    from_env: false,
                })
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
                Ok(Value::Str {
                    text: v,
                    from_env: false,
                })
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element::<Node>()? {
                    items.push(item);
                }
                Ok(Value::Seq(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
                let mut entries = Vec::new();
                while let Some(key) = map.next_key::<Spanned<KeyText>>()? {
                    let value = map.next_value::<Node>()?;
                    entries.push((
                        Key {
                            loc: Loc::from_saphyr(key.referenced),
                            name: key.value.0,
                        },
                        value,
                    ));
                }
                Ok(Value::Map(entries))
            }
        }
        deserializer.deserialize_any(ValueVisitor)
    }
}

/// An error while reading typed parameters out of a node.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeError {
    pub loc: Option<Loc>,
    pub message: String,
}

impl NodeError {
    fn located(mut self, loc: Loc) -> NodeError {
        self.loc.get_or_insert(loc);
        self
    }
}

impl fmt::Display for NodeError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for NodeError {}

impl de::Error for NodeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        NodeError {
            loc: None,
            message: msg.to_string(),
        }
    }

    // serde's defaults quote the offending value; a value may come from a secret, so say only
    // what kind of value it was.
    fn invalid_type(unexp: de::Unexpected, exp: &dyn de::Expected) -> Self {
        <NodeError as de::Error>::custom(format_args!("expected {exp}, found {}", describe(&unexp)))
    }

    fn invalid_value(unexp: de::Unexpected, exp: &dyn de::Expected) -> Self {
        <NodeError as de::Error>::custom(format_args!(
            "invalid {}, expected {exp}",
            describe(&unexp)
        ))
    }
}

fn describe(unexp: &de::Unexpected) -> String {
    match unexp {
        de::Unexpected::Str(_) | de::Unexpected::Bytes(_) => "string".into(),
        de::Unexpected::Map => "a mapping".into(),
        de::Unexpected::Seq => "a list".into(),
        de::Unexpected::Unit | de::Unexpected::Option => "null".into(),
        other => other.to_string(),
    }
}

/// The serde struct name by which `Located<T>` asks for the node's position.
pub(crate) const LOCATED_MARKER: &str = "$ready::Located";

/// serde `Deserializer` over one node.
pub struct NodeDeserializer<'a> {
    pub node: &'a Node,
}

impl<'de> Deserializer<'de> for NodeDeserializer<'_> {
    type Error = NodeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, NodeError> {
        let loc = self.node.loc;
        let result = match &self.node.value {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Int(i) => visitor.visit_i64(*i),
            Value::Float(f) => visitor.visit_f64(*f),
            Value::Str { text, from_env } => visitor
                .visit_str(text)
                .map_err(|e| if *from_env { hide(e, text) } else { e }),
            Value::Seq(items) => visitor.visit_seq(NodeSeq { iter: items.iter() }),
            Value::Map(entries) => visitor.visit_map(NodeMap {
                iter: entries.iter(),
                value: None,
            }),
        };
        result.map_err(|e| e.located(loc))
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, NodeError> {
        match self.node.value {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, NodeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, NodeError> {
        if name == LOCATED_MARKER {
            return visitor.visit_map(LocatedAccess {
                node: self.node,
                step: 0,
            });
        }
        let _ = fields;
        self.deserialize_any(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, NodeError> {
        let loc = self.node.loc;
        let result = match &self.node.value {
            Value::Str { text, from_env } => visitor
                .visit_enum(text.as_str().into_deserializer())
                .map_err(|e: NodeError| if *from_env { hide(e, text) } else { e }),
            Value::Map(entries) if entries.len() == 1 => {
                let (key, value) = &entries[0];
                visitor.visit_enum(NodeEnum { key, value })
            }
            _ => Err(<NodeError as de::Error>::custom(format_args!(
                "expected a name or a one-key mapping, found {}",
                self.node.type_name()
            ))),
        };
        result.map_err(|e| e.located(loc))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map identifier ignored_any
    }
}

/// Removes environment-derived text from an error message.
fn hide(mut e: NodeError, text: &str) -> NodeError {
    if !text.is_empty() {
        e.message = e.message.replace(text, "<from environment>");
    }
    e
}

struct NodeSeq<'a> {
    iter: std::slice::Iter<'a, Node>,
}

impl<'de> SeqAccess<'de> for NodeSeq<'_> {
    type Error = NodeError;
    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, NodeError> {
        match self.iter.next() {
            Some(node) => seed
                .deserialize(NodeDeserializer { node })
                .map(Some)
                .map_err(|e| e.located(node.loc)),
            None => Ok(None),
        }
    }
}

struct NodeMap<'a> {
    iter: std::slice::Iter<'a, (Key, Node)>,
    value: Option<&'a Node>,
}

impl<'de> MapAccess<'de> for NodeMap<'_> {
    type Error = NodeError;
    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, NodeError> {
        match self.iter.next() {
            Some((key, value)) => {
                self.value = Some(value);
                let de: de::value::StrDeserializer<NodeError> =
                    key.name.as_str().into_deserializer();
                seed.deserialize(de)
                    .map(Some)
                    .map_err(|e| e.located(key.loc))
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, NodeError> {
        let node = self
            .value
            .take()
            .ok_or_else(|| <NodeError as de::Error>::custom("value without a key"))?;
        seed.deserialize(NodeDeserializer { node })
            .map_err(|e| e.located(node.loc))
    }
}

struct NodeEnum<'a> {
    key: &'a Key,
    value: &'a Node,
}

impl<'de, 'a> de::EnumAccess<'de> for NodeEnum<'a> {
    type Error = NodeError;
    type Variant = NodeDeserializerVariant<'a>;
    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, Self::Variant), NodeError> {
        let de: de::value::StrDeserializer<NodeError> = self.key.name.as_str().into_deserializer();
        let variant = seed.deserialize(de).map_err(|e| e.located(self.key.loc))?;
        Ok((variant, NodeDeserializerVariant { node: self.value }))
    }
}

pub struct NodeDeserializerVariant<'a> {
    node: &'a Node,
}

impl<'de> de::VariantAccess<'de> for NodeDeserializerVariant<'_> {
    type Error = NodeError;
    fn unit_variant(self) -> Result<(), NodeError> {
        Ok(())
    }
    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, NodeError> {
        seed.deserialize(NodeDeserializer { node: self.node })
    }
    fn tuple_variant<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, NodeError> {
        NodeDeserializer { node: self.node }.deserialize_any(visitor)
    }
    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, NodeError> {
        NodeDeserializer { node: self.node }.deserialize_any(visitor)
    }
}

/// Feeds `Located<T>`: first the position, then the value.
struct LocatedAccess<'a> {
    node: &'a Node,
    step: u8,
}

impl<'de> MapAccess<'de> for LocatedAccess<'_> {
    type Error = NodeError;
    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, NodeError> {
        let key = match self.step {
            0 => "line",
            1 => "col",
            2 => "value",
            _ => return Ok(None),
        };
        let de: de::value::StrDeserializer<NodeError> = key.into_deserializer();
        seed.deserialize(de).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, NodeError> {
        self.step += 1;
        match self.step {
            1 => seed.deserialize(self.node.loc.line.into_deserializer()),
            2 => seed.deserialize(self.node.loc.col.into_deserializer()),
            _ => seed.deserialize(NodeDeserializer { node: self.node }),
        }
    }
}

/// A parameter with the position it was written at, for errors found after parsing.
#[derive(Debug, Clone, PartialEq)]
pub struct Located<T> {
    pub loc: Loc,
    pub value: T,
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Located<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(rename = "$ready::Located")]
        struct Parts<T> {
            line: u32,
            col: u32,
            value: T,
        }
        let parts = Parts::<T>::deserialize(deserializer)?;
        Ok(Located {
            loc: Loc {
                line: parts.line,
                col: parts.col,
            },
            value: parts.value,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodes_carry_line_and_column() {
        let node = parse_document("a: 1\nlist:\n  - x\n  - {y: true, n: no}\n").unwrap();
        let list = node.get("list").unwrap().items().unwrap();
        assert_eq!(list[0].loc, Loc { line: 3, col: 5 });
        assert_eq!(list[1].get("y").unwrap().value, Value::Bool(true));
        assert_eq!(list[1].get("n").unwrap().str(), Some("no"));
        assert_eq!(node.entries().unwrap()[1].0.loc, Loc { line: 2, col: 1 });
    }

    #[test]
    fn typed_errors_point_at_the_field() {
        #[derive(Deserialize, Debug)]
        #[serde(deny_unknown_fields)]
        struct Params {
            path: String,
            count: u32,
        }
        let node = parse_document("path: /x\ncount: 1\n").unwrap();
        let read = node.parse::<Params>().unwrap();
        assert_eq!((read.path.as_str(), read.count), ("/x", 1));

        let node = parse_document("path: /x\n  \ncount: many\n").unwrap();
        let err = node.parse::<Params>().unwrap_err();
        assert_eq!(err.loc, Some(Loc { line: 3, col: 8 }));
        assert_eq!(err.message, "expected u32, found string");

        let node = parse_document("path: /x\ncount: 1\ncuont: 2\n").unwrap();
        let err = node.parse::<Params>().unwrap_err();
        assert_eq!(err.loc, Some(Loc { line: 3, col: 1 }));
        assert!(
            err.message.contains("unknown field `cuont`"),
            "{}",
            err.message
        );
    }

    #[test]
    fn located_values_know_where_they_were_written() {
        let node = parse_document("x:\n  - 1\n  - 22\n").unwrap();
        let items: Vec<Located<u32>> = node.get("x").unwrap().parse().unwrap();
        assert_eq!(
            items[1],
            Located {
                loc: Loc { line: 3, col: 5 },
                value: 22
            }
        );
    }

    #[test]
    fn syntax_errors_have_a_position() {
        let (loc, message) = parse_document("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(loc.is_some());
        assert!(!message.contains(" at line "), "{message}");
    }
}
