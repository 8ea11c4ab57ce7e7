//! `per:` — who each request of the probe is from, so that a per-user limit can be told from a
//! global one: an identity in a request header, a query parameter or a field of a JSON body,
//! or one of several bearer tokens read from secret sources.

use std::collections::BTreeMap;

use bytes::Bytes;
use serde::{Deserialize, Deserializer, de};
use serde_json::Value as Json;

use crate::checks::Ctx;
use crate::checks::local::secret::SecretSource;
use crate::checks::outcome::CheckError;

/// Where the identity goes in each request.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Per {
    /// A request header: `{ header: X-User-Id }`.
    Header(String),
    /// A query parameter: `{ query: user }`.
    Query(String),
    /// A field of the JSON `body`, by JSON pointer: `{ json: /username }` (an account).
    Json(String),
    /// Bearer tokens from secret sources, one identity each: `{ bearer: [env:TOKEN_A, env:TOKEN_B] }`.
    Bearer(Tokens),
}

/// At least two token sources: the first identity and a second one.
#[derive(Debug, Clone)]
pub struct Tokens(pub Vec<SecretSource>);

impl schemars::JsonSchema for Tokens {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "BearerTokens".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": "array", "minItems": 2, "items": { "type": "string", "description": "env:NAME, dotenv:PATH#NAME or file:PATH" } })
    }
}

impl<'de> Deserialize<'de> for Tokens {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let sources = Vec::<SecretSource>::deserialize(d)?;
        if sources.len() < 2 {
            return Err(de::Error::custom(
                "`per: { bearer: … }` needs at least two tokens: one to reach its limit, and \
                 another that must still be served",
            ));
        }
        Ok(Tokens(sources))
    }
}

/// A request body: sent as is, JSON with its content type.
#[derive(Debug, Clone)]
pub struct Body {
    pub bytes: Bytes,
    pub json: bool,
}

/// One request of the probe as one identity sends it.
#[derive(Debug, Clone)]
pub struct Shot {
    pub url: url::Url,
    pub headers: BTreeMap<String, String>,
    pub body: Option<Body>,
}

/// The identities of one check: `ready-probe-RUN-N` values (RUN is random, so that a second
/// run within the limiter's window does not meet the first run's counters), or the tokens.
pub struct Identities {
    base: Shot,
    per: Option<Per>,
    /// The parsed JSON body, when `per: { json }` places the identity in it.
    json_body: Option<Json>,
    tokens: Vec<String>,
    run: String,
}

impl Identities {
    /// Reads the tokens (each one masked in every output from now on) and checks that a JSON
    /// pointer names a field of the body.
    pub fn resolve(
        base: Shot,
        per: Option<&Per>,
        body: Option<&Json>,
        ctx: &Ctx<'_>,
    ) -> Result<Identities, CheckError> {
        let mut tokens = Vec::new();
        if let Some(Per::Bearer(Tokens(sources))) = per {
            for source in sources {
                let token = source
                    .read(ctx.env, ctx.base_dir)?
                    .filter(|t| !t.is_empty())
                    .ok_or_else(|| {
                        CheckError::new(format!(
                            "the bearer token {} is not set: the per-user limit cannot be verified",
                            source.shown()
                        ))
                    })?;
                ctx.secrets.add(token.clone());
                tokens.push(token);
            }
        }
        let json_body = match per {
            Some(Per::Json(pointer)) => {
                let mut doc = body.cloned().unwrap_or(Json::Null);
                if doc.pointer_mut(pointer).is_none() {
                    return Err(CheckError::new(format!(
                        "`per: {{ json: {pointer} }}` names no field of the request body: give \
                         a `body` with that field (the account of a login, for example)"
                    )));
                }
                Some(doc)
            }
            _ => None,
        };
        let run = format!("{:06x}", rand::random::<u32>() & 0xff_ffff);
        Ok(Identities {
            base,
            per: per.cloned(),
            json_body,
            tokens,
            run,
        })
    }

    /// How many distinct identities exist: the tokens, else as many as asked for.
    pub fn available(&self) -> Option<usize> {
        (!self.tokens.is_empty()).then_some(self.tokens.len())
    }

    /// The request of identity `n` (from 0). Tokens are taken in turn.
    pub fn shot(&self, n: usize) -> Shot {
        let mut shot = self.base.clone();
        let value = format!("ready-probe-{}-{}", self.run, n + 1);
        match &self.per {
            None => {}
            Some(Per::Header(name)) => {
                shot.headers.insert(name.clone(), value);
            }
            Some(Per::Query(name)) => {
                shot.url.query_pairs_mut().append_pair(name, &value);
            }
            Some(Per::Json(pointer)) => {
                let mut doc = self.json_body.clone().unwrap_or(Json::Null);
                if let Some(field) = doc.pointer_mut(pointer) {
                    *field = Json::String(value);
                }
                shot.body = Some(Body {
                    bytes: Bytes::from(doc.to_string()),
                    json: true,
                });
            }
            Some(Per::Bearer(_)) => {
                let token = &self.tokens[n % self.tokens.len()];
                shot.headers
                    .insert("authorization".into(), format!("Bearer {token}"));
            }
        }
        shot
    }
}

/// The request body of the check: a string as is, anything else as JSON.
pub fn body(value: Option<&Json>) -> Option<Body> {
    value.map(|value| match value {
        Json::String(text) => Body {
            bytes: Bytes::from(text.clone()),
            json: false,
        },
        json => Body {
            bytes: Bytes::from(json.to_string()),
            json: true,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::node::parse_document;

    fn per(yaml: &str) -> Result<Per, String> {
        parse_document(yaml)
            .unwrap()
            .parse::<Per>()
            .map_err(|e| e.message)
    }

    fn identities(per: Option<Per>, body: Option<Json>, tokens: &[&str]) -> Identities {
        let url = url::Url::parse("http://127.0.0.1/login").unwrap();
        Identities {
            base: Shot {
                url,
                headers: BTreeMap::new(),
                body: self::body(body.as_ref()),
            },
            per,
            json_body: body,
            tokens: tokens.iter().map(|t| t.to_string()).collect(),
            run: "abc123".into(),
        }
    }

    #[test]
    fn each_form_of_per_is_read() {
        assert!(matches!(per("header: X-User-Id"), Ok(Per::Header(h)) if h == "X-User-Id"));
        assert!(matches!(per("query: user"), Ok(Per::Query(_))));
        assert!(matches!(per("json: /username"), Ok(Per::Json(_))));
        assert!(matches!(per("bearer: [env:A, file:b.txt]"), Ok(Per::Bearer(t)) if t.0.len() == 2));
        assert!(
            per("bearer: [env:A]")
                .unwrap_err()
                .contains("at least two tokens")
        );
        assert!(
            per("bearer: [hunter2, env:B]")
                .unwrap_err()
                .contains("not a secret source")
        );
    }

    #[test]
    fn every_identity_is_its_own_and_the_tokens_go_in_turn() {
        let header = identities(Some(Per::Header("X-User-Id".into())), None, &[]);
        assert_eq!(header.shot(0).headers["X-User-Id"], "ready-probe-abc123-1");
        assert_eq!(header.shot(1).headers["X-User-Id"], "ready-probe-abc123-2");
        let query = identities(Some(Per::Query("user".into())), None, &[]);
        assert_eq!(
            query.shot(2).url.as_str(),
            "http://127.0.0.1/login?user=ready-probe-abc123-3"
        );
        let login = serde_json::json!({"username": "alice", "password": "wrong"});
        let json = identities(Some(Per::Json("/username".into())), Some(login), &[]);
        let body = json.shot(1).body.unwrap();
        assert!(body.json);
        assert_eq!(
            body.bytes,
            r#"{"username":"ready-probe-abc123-2","password":"wrong"}"#
        );
        let bearer = identities(Some(Per::Bearer(Tokens(vec![]))), None, &["t1", "t2"]);
        assert_eq!(bearer.shot(2).headers["authorization"], "Bearer t1");
        assert_eq!(bearer.available(), Some(2));
        assert_eq!(header.available(), None);
    }
}
