//! Cobertura XML: `<class filename>` holds `<lines><line number hits branch
//! condition-coverage="50% (1/2)">`. Lines under `<method>` repeat the class's own: they are not
//! counted as lines, only to tell whether the method ran (a method is covered when its `hits` or
//! one of its lines' is above zero). Classes of the same file (inner classes) are merged line by line.

use std::collections::BTreeMap;
use std::time::SystemTime;

use quick_xml::events::BytesStart;

use super::xml::{Tag, read_tags};
use super::{Counts, Report};

/// Per line of one file: hits, covered branches, total branches (the highest seen of each).
type Lines = BTreeMap<u64, (u64, u64, u64)>;

/// Per method of one file (class, name, signature): whether one of its lines was hit.
type Methods = BTreeMap<(String, String, String), bool>;

/// Where the reader is.
#[derive(Default)]
struct Position {
    file: Option<String>,
    class: String,
    method: Option<(String, String, String)>,
    method_depth: usize,
}

pub fn parse(text: &str) -> Result<Report, String> {
    let mut reading = Reading::default();
    read_tags(text, |tag| match tag {
        Tag::Open {
            element,
            has_children,
        } => reading.open(element, has_children),
        Tag::Close(name) => {
            reading.close(name);
            Ok(())
        }
    })?;
    if !reading.saw_root {
        return Err("no <coverage> element: not a Cobertura report".into());
    }
    Ok(reading.into_report())
}

/// What has been read of a report so far.
#[derive(Default)]
struct Reading {
    files: BTreeMap<String, Lines>,
    methods: BTreeMap<String, Methods>,
    at: Position,
    saw_root: bool,
    generated: Option<SystemTime>,
}

impl Reading {
    fn open(&mut self, element: &BytesStart<'_>, has_children: bool) -> Result<(), String> {
        let at = &mut self.at;
        match element.name().as_ref() {
            b"coverage" => {
                self.saw_root = true;
                self.generated = attr(element, "timestamp").and_then(|t| generated_at(&t));
            }
            b"class" if has_children => {
                at.file = attr(element, "filename");
                at.class = attr(element, "name").unwrap_or_default();
            }
            b"method" => method(element, has_children, at, &mut self.methods),
            b"line" if at.method_depth == 0 => {
                if let Some(file) = &at.file {
                    record_line(element, self.files.entry(file.clone()).or_default())?;
                }
            }
            b"line" => {
                let hit = attr(element, "hits")
                    .and_then(|h| h.parse::<f64>().ok())
                    .is_some_and(|h| h > 0.0);
                if let (Some(file), Some(key)) = (&at.file, &at.method)
                    && hit
                {
                    self.methods
                        .entry(file.clone())
                        .or_default()
                        .insert(key.clone(), true);
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn close(&mut self, name: &[u8]) {
        match name {
            b"method" => {
                self.at.method_depth = self.at.method_depth.saturating_sub(1);
                self.at.method = None;
            }
            b"class" => self.at.file = None,
            _ => {}
        }
    }

    /// Each file's line and branch counts, and its functions as the methods that ran.
    fn into_report(self) -> Report {
        let methods = self.methods;
        let files = self
            .files
            .into_iter()
            .map(|(name, lines)| {
                let mut c = counts(&lines);
                if let Some(methods) = methods.get(&name) {
                    c.functions = (
                        methods.values().filter(|&&hit| hit).count() as u64,
                        methods.len() as u64,
                    );
                }
                (name, c)
            })
            .collect();
        Report {
            files,
            total: None,
            generated: self.generated,
        }
    }
}

/// A `<method>` of the class being read: known from its start, covered once a line of it is hit.
fn method(
    element: &BytesStart<'_>,
    is_start: bool,
    at: &mut Position,
    methods: &mut BTreeMap<String, Methods>,
) {
    let Some(file) = &at.file else {
        return;
    };
    let key = (
        at.class.clone(),
        attr(element, "name").unwrap_or_default(),
        attr(element, "signature").unwrap_or_default(),
    );
    // istanbul writes the method's own `hits`; coverage.py and others only its lines.
    let hit = attr(element, "hits")
        .and_then(|h| h.parse::<f64>().ok())
        .is_some_and(|h| h > 0.0);
    *methods
        .entry(file.clone())
        .or_default()
        .entry(key.clone())
        .or_insert(false) |= hit;
    if is_start {
        at.method_depth += 1;
        at.method = Some(key);
    }
}

fn attr(element: &BytesStart<'_>, name: &str) -> Option<String> {
    element
        .attributes()
        .flatten()
        .find(|a| a.key.as_ref() == name.as_bytes())
        .and_then(|a| a.unescape_value().ok().map(|v| v.into_owned()))
}

/// Milliseconds since the epoch (coverage.py, istanbul), or seconds.
fn generated_at(timestamp: &str) -> Option<SystemTime> {
    let t = timestamp.trim().parse::<u64>().ok()?;
    let ms = if t > 100_000_000_000 { t } else { t * 1000 };
    Some(SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(ms))
}

fn record_line(element: &BytesStart<'_>, lines: &mut Lines) -> Result<(), String> {
    let number: u64 = attr(element, "number")
        .and_then(|n| n.parse().ok())
        .ok_or("a <line> without a numeric `number`")?;
    let hits: u64 = attr(element, "hits")
        .and_then(|h| h.parse::<f64>().ok())
        .ok_or("a <line> without numeric `hits`")?
        .max(0.0) as u64;
    let (covered, total) = if attr(element, "branch").as_deref() == Some("true") {
        attr(element, "condition-coverage")
            .as_deref()
            .and_then(parse_condition_coverage)
            .unwrap_or((0, 0))
    } else {
        (0, 0)
    };
    let entry = lines.entry(number).or_default();
    entry.0 = entry.0.max(hits);
    entry.1 = entry.1.max(covered);
    entry.2 = entry.2.max(total);
    Ok(())
}

fn counts(lines: &Lines) -> Counts {
    let mut c = Counts::default();
    for (hits, covered, total) in lines.values() {
        c.lines.1 += 1;
        c.lines.0 += u64::from(*hits > 0);
        c.branches.0 += covered;
        c.branches.1 += total;
    }
    c
}

/// `50% (1/2)` → (1, 2).
fn parse_condition_coverage(text: &str) -> Option<(u64, u64)> {
    let inner = text.split_once('(')?.1.split_once(')')?.0;
    let (covered, total) = inner.split_once('/')?;
    Some((covered.trim().parse().ok()?, total.trim().parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_of_one_file_merge_and_method_lines_are_skipped() {
        let xml = r#"<?xml version="1.0"?>
<coverage timestamp="1700000000000">
  <packages><package><classes>
    <class filename="src/a.py" name="a">
      <methods>
        <method name="f" signature="()V"><lines><line number="1" hits="0"/></lines></method>
        <method name="g" signature="()V"><lines><line number="2" hits="4"/></lines></method>
        <method name="h" signature="()V"/>
        <method name="i" signature="()V" hits="2"/>
      </methods>
      <lines>
        <line number="1" hits="3"/>
        <line number="2" hits="0" branch="true" condition-coverage="50% (1/2)"/>
      </lines>
    </class>
    <class filename="src/a.py">
      <lines><line number="2" hits="1"/></lines>
    </class>
  </classes></package></packages>
</coverage>"#;
        let report = parse(xml).unwrap();
        assert_eq!(
            report.files["src/a.py"],
            Counts {
                lines: (2, 2),
                branches: (1, 2),
                functions: (2, 4),
            }
        );
        assert_eq!(
            report.generated,
            Some(SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000))
        );
        assert_eq!(generated_at("1700000000"), report.generated);
    }

    #[test]
    fn lines_need_numbers_and_the_root_must_be_coverage() {
        let bad = r#"<coverage><class filename="a"><line hits="1"/></class></coverage>"#;
        assert_eq!(
            parse(bad).unwrap_err(),
            "a <line> without a numeric `number`"
        );
        assert!(parse("<report/>").unwrap_err().starts_with("no <coverage>"));
        assert_eq!(parse_condition_coverage("50% (1/2)"), Some((1, 2)));
    }
}
