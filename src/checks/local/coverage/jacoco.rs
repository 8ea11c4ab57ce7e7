//! JaCoCo XML (`jacoco:report`, `jacococli report --xml`): `<report>` holds `<counter
//! type="LINE|BRANCH|METHOD|…" missed covered>` for the whole report, and each
//! `<package name><sourcefile name>` its own; the report's counters are the totals.
//! The `<!DOCTYPE report … "report.dtd">` it starts with is never fetched, and no entity is
//! expanded: the reader does not resolve DTDs, and an undeclared entity in a value is an error.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use quick_xml::events::BytesStart;

use super::xml::{Tag, read_tags};
use super::{Counts, Report};

pub fn parse(text: &str) -> Result<Report, String> {
    let mut open: Vec<Vec<u8>> = Vec::new();
    let mut package = String::new();
    let mut file: Option<String> = None;
    let mut files: BTreeMap<String, Counts> = BTreeMap::new();
    let mut total: Option<Counts> = None;
    let mut generated: Option<SystemTime> = None;
    read_tags(text, |tag| {
        let (element, has_children) = match tag {
            Tag::Open {
                element,
                has_children,
            } => (element, has_children),
            Tag::Close(_) => {
                if open.pop().as_deref() == Some(b"sourcefile") {
                    file = None;
                }
                return Ok(());
            }
        };
        let parent = open.last().map(Vec::as_slice);
        match element.name().as_ref() {
            b"report" if parent.is_none() => total = Some(Counts::default()),
            b"package" => package = attr(element, "name")?.unwrap_or_default(),
            b"sourcefile" => {
                let name = attr(element, "name")?.unwrap_or_default();
                let path = if package.is_empty() {
                    name
                } else {
                    format!("{package}/{name}")
                };
                files.entry(path.clone()).or_default();
                file = Some(path);
            }
            b"sessioninfo" => {
                let dump = attr(element, "dump")?.and_then(|d| d.parse::<u64>().ok());
                let at = dump.map(|ms| SystemTime::UNIX_EPOCH + Duration::from_millis(ms));
                generated = generated.max(at);
            }
            b"counter" => {
                let counts = match parent {
                    Some(b"report") => total.as_mut(),
                    Some(b"sourcefile") => file.as_ref().and_then(|f| files.get_mut(f)),
                    _ => None,
                };
                if let Some(counts) = counts {
                    counter(element, counts)?;
                }
            }
            _ => {}
        }
        if has_children {
            open.push(element.name().as_ref().to_vec());
        }
        Ok(())
    })?;
    let total = total.ok_or("no <report> element: not a JaCoCo XML report")?;
    Ok(Report {
        files,
        total: Some(total),
        generated,
    })
}

/// A value, unescaped; an entity the XML standard does not define is an error, never expanded.
fn attr(element: &BytesStart<'_>, name: &str) -> Result<Option<String>, String> {
    let Some(a) = element
        .attributes()
        .flatten()
        .find(|a| a.key.as_ref() == name.as_bytes())
    else {
        return Ok(None);
    };
    a.unescape_value()
        .map(|v| Some(v.into_owned()))
        .map_err(|e| format!("the `{name}` value cannot be read: {e}"))
}

/// `<counter type="LINE" missed="3" covered="7"/>` into the lines (branches, methods) of `counts`.
fn counter(element: &BytesStart<'_>, counts: &mut Counts) -> Result<(), String> {
    let number = |name: &str| -> Result<u64, String> {
        attr(element, name)?
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| format!("a <counter> without a numeric `{name}`"))
    };
    let slot = match attr(element, "type")?.as_deref() {
        Some("LINE") => &mut counts.lines,
        Some("BRANCH") => &mut counts.branches,
        Some("METHOD") => &mut counts.functions,
        _ => return Ok(()),
    };
    let (missed, covered) = (number("missed")?, number("covered")?);
    *slot = (covered, missed + covered);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// In the format of JaCoCo's report.dtd (1.1), as `jacococli report --xml` writes it.
    const REPORT: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><!DOCTYPE report PUBLIC "-//JACOCO//DTD Report 1.1//EN" "report.dtd"><report name="calc"><sessioninfo id="host-1" start="1700000000000" dump="1700000005000"/><package name="com/example"><class name="com/example/Calc" sourcefilename="Calc.java"><method name="&lt;init&gt;" desc="()V" line="3"><counter type="LINE" missed="0" covered="1"/><counter type="METHOD" missed="0" covered="1"/></method><counter type="METHOD" missed="1" covered="2"/></class><sourcefile name="Calc.java"><line nr="3" mi="0" ci="3" mb="0" cb="0"/><counter type="INSTRUCTION" missed="4" covered="20"/><counter type="BRANCH" missed="1" covered="3"/><counter type="LINE" missed="2" covered="7"/><counter type="METHOD" missed="1" covered="2"/></sourcefile><counter type="LINE" missed="2" covered="7"/></package><counter type="INSTRUCTION" missed="4" covered="20"/><counter type="BRANCH" missed="1" covered="3"/><counter type="LINE" missed="2" covered="7"/><counter type="METHOD" missed="1" covered="2"/></report>"#;

    #[test]
    fn report_counters_are_the_totals_and_sourcefiles_the_files() {
        let report = parse(REPORT).unwrap();
        let expected = Counts {
            lines: (7, 9),
            branches: (3, 4),
            functions: (2, 3),
        };
        assert_eq!(report.total, Some(expected));
        assert_eq!(report.files["com/example/Calc.java"], expected);
        assert_eq!(
            report.generated,
            Some(SystemTime::UNIX_EPOCH + Duration::from_millis(1_700_000_005_000))
        );
    }

    #[test]
    fn the_dtd_is_not_fetched_and_entities_are_not_expanded() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}/report.dtd", listener.local_addr().unwrap());
        let laughs = (1..10)
            .map(|i| format!("<!ENTITY l{i} \"&l{0};&l{0};&l{0};&l{0};&l{0};\">", i - 1))
            .collect::<String>();
        let doctype = format!(
            "<!DOCTYPE report SYSTEM \"{url}\" [<!ENTITY l0 \"lol\">{laughs}<!ENTITY x SYSTEM \"file:///etc/passwd\">]>"
        );
        let external = REPORT.replace(
            r#"<!DOCTYPE report PUBLIC "-//JACOCO//DTD Report 1.1//EN" "report.dtd">"#,
            &doctype,
        );
        assert_eq!(parse(&external).unwrap().total.unwrap().lines, (7, 9));
        let total = r#"<counter type="METHOD" missed="1" covered="2"/></report>"#;
        for entity in ["&l9;", "&x;"] {
            let used = external.replace(
                total,
                &format!(r#"<counter type="METHOD" missed="{entity}" covered="2"/></report>"#),
            );
            let e = parse(&used).unwrap_err();
            assert!(e.starts_with("the `missed` value cannot be read"), "{e}");
        }
        assert!(
            listener.accept().is_err(),
            "nothing connected to the DTD's address"
        );
    }

    #[test]
    fn other_xml_is_not_a_jacoco_report() {
        assert_eq!(
            parse("<coverage/>").unwrap_err(),
            "no <report> element: not a JaCoCo XML report"
        );
        let bad = REPORT.replace(
            r#"<counter type="METHOD" missed="1" covered="2"/></report>"#,
            r#"<counter type="METHOD" covered="2"/></report>"#,
        );
        assert_eq!(
            parse(&bad).unwrap_err(),
            "a <counter> without a numeric `missed`"
        );
    }
}
