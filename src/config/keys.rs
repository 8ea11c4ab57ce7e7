//! The keys of every section of the configuration, once: what each key holds, whether it is
//! required, and its bounds. The loader's `Table` reads a mapping against its `Section` (unknown
//! keys, required keys, the bounds of numbers), and `schema` writes the JSON Schema from the same
//! sections, so the two cannot drift.

use std::ops::RangeInclusive;

/// One mapping of the configuration: a check, a target, a stage, …
pub struct Section {
    /// Its name in the schema's `$defs`.
    pub name: &'static str,
    pub doc: &'static str,
    pub keys: &'static [KeyDef],
    /// A check: besides its keys, exactly one kind key (`sql:`, `http:`, …) with its parameters.
    pub with_kind: bool,
}

/// One key of a section.
pub struct KeyDef {
    pub name: &'static str,
    pub doc: &'static str,
    pub value: ValueType,
    pub required: bool,
}

/// What a key holds, with its bounds.
pub enum ValueType {
    Text,
    /// Text that matches a regular expression.
    Pattern(&'static str),
    /// A date written YYYY-MM-DD.
    Date,
    Texts,
    /// A mapping of text to text (HTTP headers).
    TextMap,
    Bool,
    /// Text with a unit, such as `30s`.
    Duration,
    Whole(RangeInclusive<i64>),
    Number(RangeInclusive<f64>),
    Severity,
    /// A mapping with one key per severity, each holding this.
    PerSeverity(&'static ValueType),
    /// A nested mapping.
    Table(&'static Section),
    /// A mapping of names to one of these sections (targets: PostgreSQL or HTTP).
    MapOf(&'static [&'static Section]),
    ListOf(&'static Section),
}

impl Section {
    /// The definition of `name`; every key the loader reads is one of the section's.
    pub fn key(&self, name: &str) -> &'static KeyDef {
        let keys: &'static [KeyDef] = self.keys;
        keys.iter()
            .find(|k| k.name == name)
            .unwrap_or_else(|| panic!("`{name}` is not a key of {}", self.name))
    }

    pub fn names(&self) -> impl Iterator<Item = &'static str> {
        let keys: &'static [KeyDef] = self.keys;
        keys.iter().map(|k| k.name)
    }
}

/// The largest weight: ten thousand checks at it still sum to a finite score.
pub const MAX_WEIGHT: f64 = 1000.0;
/// A weight: sums of weights must stay finite, or the score becomes NaN.
pub const WEIGHT: ValueType = ValueType::Number(0.0..=MAX_WEIGHT);
/// How many checks run at once, overall or against one target.
pub const CONCURRENCY: ValueType = ValueType::Whole(1..=10_000);
/// The only configuration format version.
pub const VERSION: i64 = 1;

/// What `valid_id` accepts, for the schema: also `{{item}}` (before `for_each` expansion) and
/// `${VAR}` (before interpolation).
pub const ID_PATTERN: &str =
    r"^([a-z0-9]|\{\{item\}\}|\$\{[^}]+\})([a-z0-9._-]|\{\{item\}\}|\$\{[^}]+\})*$";

const fn key(name: &'static str, value: ValueType, doc: &'static str) -> KeyDef {
    KeyDef {
        name,
        doc,
        value,
        required: false,
    }
}

const fn required(name: &'static str, value: ValueType, doc: &'static str) -> KeyDef {
    KeyDef {
        name,
        doc,
        value,
        required: true,
    }
}

const VERSION_KEY: KeyDef = key("version", ValueType::Whole(VERSION..=VERSION), "Always 1.");
const CHECKS_KEY: KeyDef = key("checks", ValueType::ListOf(&CHECK), "");

/// `ready.yaml`.
pub const PROJECT: Section = Section {
    name: "ProjectFile",
    doc: "`ready.yaml`, or a check file holding only `checks:`.",
    with_kind: false,
    keys: &[
        VERSION_KEY,
        key("project", ValueType::Text, "Shown in reports."),
        key(
            "targets",
            ValueType::MapOf(&[&POSTGRES_TARGET, &HTTP_TARGET]),
            "",
        ),
        key(
            "categories",
            ValueType::MapOf(&[&CATEGORY]),
            "Category id → weight (and title). The five defaults exist unless overridden.",
        ),
        key("severity_weights", ValueType::PerSeverity(&WEIGHT), ""),
        key(
            "stages",
            ValueType::ListOf(&STAGE),
            "Ordered, lowest first.",
        ),
        key("defaults", ValueType::Table(&DEFAULTS), ""),
        key(
            "include",
            ValueType::Texts,
            "Check files: globs relative to this file; each must match a file.",
        ),
        key("waivers", ValueType::ListOf(&WAIVER), ""),
        CHECKS_KEY,
    ],
};

/// An included check file (or a built-in one).
pub const CHECK_FILE: Section = Section {
    name: "CheckFile",
    doc: "A check file named by `include`.",
    with_kind: false,
    keys: &[VERSION_KEY, CHECKS_KEY],
};

pub const POSTGRES_TARGET: Section = Section {
    name: "PostgresTargetDef",
    doc: "",
    with_kind: false,
    keys: &[
        required(
            "postgres",
            ValueType::Text,
            "A connection URL, e.g. `${DATABASE_URL}`; its password is never printed.",
        ),
        key(
            "api_roles",
            ValueType::Texts,
            "Roles that serve untrusted clients (e.g. anon, authenticated).",
        ),
        key(
            "exposed_schemas",
            ValueType::Texts,
            "Schemas those roles reach (default: public).",
        ),
        key(
            "allow_writes",
            ValueType::Bool,
            "Probes that write (always rolled back) need true.",
        ),
        key("connect_timeout", ValueType::Duration, ""),
        key(
            "concurrency",
            CONCURRENCY,
            "Checks in flight against this target (default 4).",
        ),
    ],
};

pub const HTTP_TARGET: Section = Section {
    name: "HttpTargetDef",
    doc: "",
    with_kind: false,
    keys: &[
        required(
            "http",
            ValueType::Text,
            "The base URL; check paths join onto it.",
        ),
        key(
            "headers",
            ValueType::TextMap,
            "Sent with every request; values are secrets and never printed.",
        ),
        key(
            "insecure_tls",
            ValueType::Bool,
            "Turns certificate verification off (reported on every https check).",
        ),
        key(
            "concurrency",
            CONCURRENCY,
            "Checks in flight against this target (default 32).",
        ),
    ],
};

pub const CATEGORY: Section = Section {
    name: "CategoryDef",
    doc: "",
    with_kind: false,
    keys: &[
        key(
            "weight",
            WEIGHT,
            "Needed for a new category; a default category keeps its own without it.",
        ),
        key("title", ValueType::Text, ""),
    ],
};

/// The bounds of a stage's `min_score`.
pub const MIN_SCORE: ValueType = ValueType::Number(0.0..=100.0);

pub const STAGE: Section = Section {
    name: "StageDef",
    doc: "",
    with_kind: false,
    keys: &[
        required("name", ValueType::Text, ""),
        required("min_score", MIN_SCORE, ""),
        key(
            "require",
            ValueType::Texts,
            "Selectors: a glob or id:GLOB, tag:NAME, category:NAME, kind:NAME, severity>=LEVEL, blocker.",
        ),
    ],
};

pub const DEFAULTS: Section = Section {
    name: "DefaultsDef",
    doc: "",
    with_kind: false,
    keys: &[
        key("timeout", ValueType::Duration, ""),
        key("concurrency", CONCURRENCY, ""),
    ],
};

pub const WAIVER: Section = Section {
    name: "WaiverDef",
    doc: "",
    with_kind: false,
    keys: &[
        required("check", ValueType::Text, "A check id or glob."),
        key("subject", ValueType::Text, "A glob over finding subjects."),
        required("reason", ValueType::Text, ""),
        required(
            "expires",
            ValueType::Date,
            "YYYY-MM-DD; the waiver lapses at the end of that day (UTC).",
        ),
        key("approved_by", ValueType::Text, ""),
        key("ticket", ValueType::Text, ""),
    ],
};

/// The bounds of `retries`.
pub const RETRIES: ValueType = ValueType::Whole(0..=10);

pub const CHECK: Section = Section {
    name: "CheckDef",
    doc: "A check: the common keys and exactly one kind key.",
    with_kind: true,
    keys: &[
        required(
            "id",
            ValueType::Pattern(ID_PATTERN),
            "Unique; [a-z0-9][a-z0-9._-]*; may hold {{item}} with for_each.",
        ),
        key("title", ValueType::Text, ""),
        key("description", ValueType::Text, ""),
        key("rationale", ValueType::Text, ""),
        required("category", ValueType::Text, ""),
        required("severity", ValueType::Severity, ""),
        key("weight", WEIGHT, "Default: the severity's weight."),
        key("blocker", ValueType::Bool, ""),
        key("tags", ValueType::Texts, ""),
        key("target", ValueType::Text, ""),
        key("timeout", ValueType::Duration, ""),
        key("retries", RETRIES, ""),
        key("remediation", ValueType::Text, ""),
        key(
            "for_each",
            ValueType::Texts,
            "One check per item; {{item}} is replaced in every string.",
        ),
    ],
};
