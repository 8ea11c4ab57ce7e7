//! Configuration problems, each with its place and a stable code.

use std::fmt;

use super::node::Loc;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Diagnostic {
    pub file: String,
    pub loc: Option<Loc>,
    pub code: Code,
    pub message: String,
}

/// Stable diagnostic codes: scripts and docs may rely on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Code {
    Io,
    Syntax,
    UnknownKey,
    MissingKey,
    InvalidValue,
    KindCount,
    DuplicateId,
    UnknownTarget,
    UnknownCategory,
    UnknownCheck,
    BadSelector,
    Interpolation,
    Include,
}

impl Code {
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Io => "io",
            Code::Syntax => "syntax",
            Code::UnknownKey => "unknown-key",
            Code::MissingKey => "missing-key",
            Code::InvalidValue => "invalid-value",
            Code::KindCount => "kind-count",
            Code::DuplicateId => "duplicate-id",
            Code::UnknownTarget => "unknown-target",
            Code::UnknownCategory => "unknown-category",
            Code::UnknownCheck => "unknown-check",
            Code::BadSelector => "bad-selector",
            Code::Interpolation => "interpolation",
            Code::Include => "include",
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self.loc {
            Some(loc) => write!(f, "{}:{}:{}: ", self.file, loc.line, loc.col)?,
            None => write!(f, "{}: ", self.file)?,
        }
        write!(f, "{} [{}]", self.message, self.code.as_str())
    }
}

/// Every problem found while loading, reported together.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    pub fn push(&mut self, file: &str, loc: Option<Loc>, code: Code, message: impl Into<String>) {
        self.0.push(Diagnostic {
            file: file.to_string(),
            loc,
            code,
            message: message.into(),
        });
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Sorted by file and position, each problem once (a `for_each` check repeats its mistakes).
    pub fn finish(mut self) -> Diagnostics {
        self.0.sort();
        self.0.dedup();
        self
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        for d in &self.0 {
            writeln!(f, "{d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}
