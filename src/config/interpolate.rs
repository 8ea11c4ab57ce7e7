//! `${VAR}`, `${VAR:-default}`, `${VAR:?message}` and `$$` in configuration strings.

use std::collections::HashMap;

/// A variable that was needed and is not set, or set but empty. The string it was in cannot be
/// trusted, so whatever uses it (a target, a check) becomes `error` naming the variable.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct MissingVar {
    pub name: String,
    pub message: Option<String>,
    /// Set to the empty string, which is not a value either.
    pub empty: bool,
}

impl MissingVar {
    pub fn describe(&self) -> String {
        let state = if self.empty {
            "is set but empty"
        } else {
            "is not set"
        };
        match &self.message {
            Some(m) => format!("environment variable {} {state}: {m}", self.name),
            None => format!("environment variable {} {state}", self.name),
        }
    }

    /// How to give it a value.
    pub fn help(&self) -> String {
        let name = &self.name;
        let what = if self.empty {
            format!("give {name} a value")
        } else {
            format!("set {name}")
        };
        format!("{what} before `ready check`, or write a default: ${{{name}:-…}}")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InterpolationError {
    Unterminated,
    BadName(String),
}

/// What came out of one string: the text, whether environment content went into it, and the
/// variables it needed that were unset.
#[derive(Debug, Default, PartialEq)]
pub struct Interpolated {
    pub text: String,
    pub from_env: bool,
    pub missing: Vec<MissingVar>,
    /// Values of variables whose names say they hold secrets (`*_KEY`, `*TOKEN*`, …).
    pub secrets: Vec<String>,
}

/// Whether a variable's name says it holds a secret.
pub fn names_a_secret(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    [
        "SECRET",
        "TOKEN",
        "PASSWORD",
        "PASSWD",
        "PWD",
        "KEY",
        "AUTH",
        "CREDENTIAL",
        "PRIVATE",
        "DSN",
        "COOKIE",
        "SESSION",
        "SIGNATURE",
        "SALT",
    ]
    .iter()
    .any(|word| upper.contains(word))
}

pub fn interpolate(
    input: &str,
    env: &HashMap<String, String>,
) -> Result<Interpolated, InterpolationError> {
    let mut out = Interpolated::default();
    let mut rest = input;
    while let Some(i) = rest.find('$') {
        out.text.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.text.push('$');
            rest = tail;
            continue;
        }
        let Some(body_start) = after.strip_prefix('{') else {
            out.text.push('$');
            rest = after;
            continue;
        };
        let end = body_start
            .find('}')
            .ok_or(InterpolationError::Unterminated)?;
        let body = &body_start[..end];
        rest = &body_start[end + 1..];
        let (name, op) = match body.find(':') {
            Some(j) => (&body[..j], Some(&body[j + 1..])),
            None => (body, None),
        };
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(InterpolationError::BadName(body.to_string()));
        }
        let empty = env.get(name).is_some_and(|v| v.is_empty());
        let value = env.get(name).filter(|v| !v.is_empty());
        match (value, op) {
            (Some(v), _) => {
                out.text.push_str(v);
                out.from_env = true;
                if names_a_secret(name) {
                    out.secrets.push(v.clone());
                }
            }
            (None, Some(op)) if op.starts_with('-') => out.text.push_str(&op[1..]),
            (None, Some(op)) if op.starts_with('?') => out.missing.push(MissingVar {
                name: name.to_string(),
                message: Some(op[1..].to_string()).filter(|m| !m.is_empty()),
                empty,
            }),
            (None, Some(_)) => return Err(InterpolationError::BadName(body.to_string())),
            (None, None) => out.missing.push(MissingVar {
                name: name.to_string(),
                message: None,
                empty,
            }),
        }
    }
    out.text.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> HashMap<String, String> {
        HashMap::from([
            ("HOST".into(), "db.internal".into()),
            ("EMPTY".into(), String::new()),
        ])
    }

    #[test]
    fn substitutes_set_variables() {
        let r = interpolate("postgres://${HOST}:5432", &env()).unwrap();
        assert_eq!(r.text, "postgres://db.internal:5432");
        assert!(r.from_env);
        assert!(r.missing.is_empty());
    }

    #[test]
    fn defaults_apply_to_unset_and_empty() {
        assert_eq!(
            interpolate("${NOPE:-x}/${EMPTY:-y}", &env()).unwrap().text,
            "x/y"
        );
        assert!(!interpolate("${NOPE:-x}", &env()).unwrap().from_env);
    }

    #[test]
    fn unset_variables_are_reported_with_their_message() {
        let r = interpolate("${A} ${B:?set B to the API key}", &env()).unwrap();
        assert_eq!(
            r.missing,
            vec![
                MissingVar {
                    name: "A".into(),
                    message: None,
                    empty: false,
                },
                MissingVar {
                    name: "B".into(),
                    message: Some("set B to the API key".into()),
                    empty: false,
                },
            ]
        );
    }

    #[test]
    fn empty_variables_are_told_from_unset_ones() {
        let r = interpolate("${EMPTY}/${EMPTY:?the API key}/${NOPE}", &env()).unwrap();
        let described: Vec<String> = r.missing.iter().map(MissingVar::describe).collect();
        assert_eq!(
            described,
            [
                "environment variable EMPTY is set but empty",
                "environment variable EMPTY is set but empty: the API key",
                "environment variable NOPE is not set",
            ]
        );
        assert_eq!(
            r.missing[0].help(),
            "give EMPTY a value before `ready check`, or write a default: ${EMPTY:-…}"
        );
    }

    #[test]
    fn dollar_escapes_and_plain_dollars_stay() {
        assert_eq!(
            interpolate("$$HOME costs $5", &env()).unwrap().text,
            "$HOME costs $5"
        );
    }

    #[test]
    fn values_of_secret_looking_variables_are_collected() {
        let env = HashMap::from([
            ("API_TOKEN".to_string(), "t-1".to_string()),
            ("REGION".to_string(), "eu".to_string()),
        ]);
        let r = interpolate("Bearer ${API_TOKEN} in ${REGION}", &env).unwrap();
        assert_eq!(r.secrets, ["t-1"]);
        assert!(
            names_a_secret("stripe_webhook_secret")
                && names_a_secret("SENTRY_DSN")
                && !names_a_secret("APP_ENV")
        );
    }

    #[test]
    fn malformed_references_are_errors() {
        assert_eq!(
            interpolate("${HOST", &env()),
            Err(InterpolationError::Unterminated)
        );
        assert!(matches!(
            interpolate("${A B}", &env()),
            Err(InterpolationError::BadName(_))
        ));
        assert!(matches!(
            interpolate("${A:x}", &env()),
            Err(InterpolationError::BadName(_))
        ));
    }
}
