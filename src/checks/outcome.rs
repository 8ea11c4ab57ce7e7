//! What a check observes, before waivers and scoring turn it into a status.

use std::collections::BTreeMap;

use crate::redact::Redactor;
use crate::vocab::Level;

/// One thing wrong (or worth a look) about one subject.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub subject: String,
    pub message: String,
    pub level: Level,
    pub evidence: serde_json::Value,
    /// Texts too long to show whole: `evaluate` masks the secrets in them, then cuts them.
    pub cuts: Vec<Cut>,
    /// The rule that found it, where a kind judges one subject by several rules: it is part of
    /// the fingerprint, so that one rule's new finding is new against a baseline.
    pub rule: Option<&'static str>,
}

/// A text of a finding to cut to a number of bytes once its secrets are masked: cut first, a
/// secret straddling the cut would leak its first characters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cut {
    Message(usize),
    /// The part of the message a `Finding::quoting` quotes.
    MessageQuote(Quote),
    /// A string at the top level of the evidence.
    Evidence(&'static str, usize),
    /// A string at the top level of the evidence, cut to its first `head` and last `tail`
    /// bytes with a note of what lies between; `unread` counts the bytes the kind already left
    /// out there (a stream it kept only the ends of).
    EvidenceEnds {
        key: &'static str,
        head: usize,
        tail: usize,
        unread: u64,
    },
}

impl Finding {
    pub fn fail(subject: impl Into<String>, message: impl Into<String>) -> Finding {
        Finding {
            subject: subject.into(),
            message: message.into(),
            level: Level::Fail,
            evidence: serde_json::Value::Null,
            cuts: Vec::new(),
            rule: None,
        }
    }

    pub fn warn(subject: impl Into<String>, message: impl Into<String>) -> Finding {
        Finding {
            level: Level::Warn,
            ..Finding::fail(subject, message)
        }
    }

    pub fn with_evidence(mut self, evidence: serde_json::Value) -> Finding {
        self.evidence = evidence;
        self
    }

    pub fn cut(mut self, cuts: &[Cut]) -> Finding {
        self.cuts.extend_from_slice(cuts);
        self
    }

    /// The message `before`, `quoted` and `after`; `quoted` is shown cut to `max` bytes once
    /// masked. A kind that edits the message later may only append to it.
    pub fn quoting(mut self, before: &str, quoted: &str, after: &str, max: usize) -> Finding {
        let (message, quote) = Quote::join(before, quoted, after, max);
        self.message = message;
        self.cuts.push(Cut::MessageQuote(quote));
        self
    }

    pub fn with_rule(mut self, rule: &'static str) -> Finding {
        self.rule = Some(rule);
        self
    }
}

/// A check that could look: its findings (none means it passed) and its measurements.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Observation {
    pub findings: Vec<Finding>,
    pub measurements: BTreeMap<String, f64>,
    /// What was verified, shown when there is no finding ("3 rows, expected at most 5").
    pub summary: Option<String>,
}

impl Observation {
    pub fn measure(&mut self, name: &str, value: f64) {
        self.measurements.insert(name.to_string(), value);
    }
}

/// The check could not verify what it checks: unreachable, timed out, refused, misconfigured.
/// The second field marks a text the message quotes (a reply, a tool's stderr) that `evaluate`
/// cuts once the secrets in it are masked.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct CheckError(pub String, Option<Quote>);

/// Where a message quotes a text of unbounded length, and how many bytes of it to show.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quote {
    start: usize,
    end: usize,
    max: usize,
}

impl Quote {
    /// `before`, `quoted` (bounded by `keep`) and `after` as one text, and where `quoted` is.
    fn join(before: &str, quoted: &str, after: &str, max: usize) -> (String, Quote) {
        let quoted = crate::checks::params::keep(quoted);
        let quote = Quote {
            start: before.len(),
            end: before.len() + quoted.len(),
            max,
        };
        (format!("{before}{quoted}{after}"), quote)
    }

    /// `text` masked, the quoted part then cut; the text past the quote is kept whole.
    pub fn show(&self, text: &str, redactor: &Redactor) -> String {
        let Quote { start, end, max } = *self;
        format!(
            "{}{}{}",
            redactor.redact(&text[..start]),
            redactor.redact_and_cut(&text[start..end], max),
            redactor.redact(&text[end..])
        )
    }
}

impl CheckError {
    pub fn new(message: impl Into<String>) -> CheckError {
        CheckError(message.into(), None)
    }

    /// `before`, `quoted` and `after` as one message; `quoted` is shown cut to `max` bytes once
    /// masked (cut first, a secret straddling the cut would leak its first characters).
    pub fn quoting(before: &str, quoted: &str, after: &str, max: usize) -> CheckError {
        let (message, quote) = Quote::join(before, quoted, after, max);
        CheckError(message, Some(quote))
    }

    /// The message as a report shows it: masked, the quoted text then cut.
    pub fn shown(&self, redactor: &Redactor) -> String {
        match &self.1 {
            None => redactor.redact(&self.0),
            Some(quote) => quote.show(&self.0, redactor),
        }
    }
}

pub type CheckOutcome = Result<Observation, CheckError>;
