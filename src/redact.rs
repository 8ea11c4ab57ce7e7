//! Keeping secrets out of every output.
//!
//! Two layers: URLs are shown with their password masked wherever the code prints one, and
//! every text that leaves the program (reports, diagnostics, logs) passes through a `Redactor`
//! that knows the secret values the configuration holds and masks any of them it finds.

use std::sync::{Arc, RwLock};

pub const MASK: &str = "***";

/// `postgres://user:***@host/db`: the password masked, the rest kept for the reader.
pub fn redact_url(text: &str) -> String {
    match url::Url::parse(text) {
        Ok(mut url) if url.password().is_some() => {
            let _ = url.set_password(Some(MASK));
            url.to_string()
        }
        Ok(url) => url.to_string(),
        // Not a URL we can parse: mask anything between `//user:` and `@`.
        Err(_) => match (text.find("://"), text.rfind('@')) {
            (Some(s), Some(at)) if at > s => {
                let auth = &text[s + 3..at];
                match auth.find(':') {
                    Some(c) => format!("{}{}:{MASK}{}", &text[..s + 3], &auth[..c], &text[at..]),
                    None => text.to_string(),
                }
            }
            _ => text.to_string(),
        },
    }
}

/// Masks known secret values in any text.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    secrets: Arc<Vec<String>>,
}

/// Secrets shorter than this are not searched for: masking every "a" would garble reports,
/// and a secret that short is itself a finding of the `secret` kind.
const MIN_SECRET_LEN: usize = 4;

impl Redactor {
    pub fn new(secrets: impl IntoIterator<Item = String>) -> Redactor {
        let mut list: Vec<String> = Vec::new();
        for secret in secrets {
            // A URL's password also appears percent-decoded in messages.
            if let Ok(url) = url::Url::parse(&secret)
                && let Some(pw) = url.password()
            {
                list.push(pw.to_string());
                if let Ok(decoded) = percent_encoding::percent_decode_str(pw).decode_utf8() {
                    list.push(decoded.into_owned());
                }
            }
            list.push(secret);
        }
        list.retain(|s| s.len() >= MIN_SECRET_LEN);
        // Longest first, so that a secret containing another is masked whole.
        list.sort_by_key(|s| std::cmp::Reverse(s.len()));
        list.dedup();
        Redactor {
            secrets: Arc::new(list),
        }
    }

    /// This redactor's secrets and `more`.
    pub fn extended(&self, more: impl IntoIterator<Item = String>) -> Redactor {
        Redactor::new(self.secrets.iter().cloned().chain(more))
    }

    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        for secret in self.secrets.iter() {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), MASK);
            }
        }
        out
    }

    /// Masks the secrets in every string of a JSON value (a finding's evidence).
    pub fn redact_json(&self, value: &mut serde_json::Value) {
        match value {
            serde_json::Value::String(s) => *s = self.redact(s),
            serde_json::Value::Array(items) => items.iter_mut().for_each(|v| self.redact_json(v)),
            serde_json::Value::Object(map) => map.values_mut().for_each(|v| self.redact_json(v)),
            _ => {}
        }
    }

    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }
}

/// The redactor of a run as it grows: the configuration's secrets first, then what the checks
/// read. The log writer holds a clone, so a line logged after a secret is known masks it.
#[derive(Debug, Clone, Default)]
pub struct SharedRedactor(Arc<RwLock<Redactor>>);

impl SharedRedactor {
    pub fn current(&self) -> Redactor {
        self.0.read().map(|r| r.clone()).unwrap_or_default()
    }

    pub fn replace(&self, redactor: Redactor) {
        if let Ok(mut guard) = self.0.write() {
            *guard = redactor;
        }
    }

    pub fn extend(&self, more: impl IntoIterator<Item = String>) {
        if let Ok(mut guard) = self.0.write() {
            *guard = guard.extended(more);
        }
    }

    pub fn redact(&self, text: &str) -> String {
        self.current().redact(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_passwords_are_masked() {
        assert_eq!(
            redact_url("postgres://app:s3cret@db.internal:5432/prod?sslmode=require"),
            "postgres://app:***@db.internal:5432/prod?sslmode=require"
        );
        assert_eq!(
            redact_url("https://api.example.com/x"),
            "https://api.example.com/x"
        );
        assert_eq!(
            redact_url("postgres://u:p@ss@h/db"),
            "postgres://u:***@h/db"
        );
    }

    #[test]
    fn known_secrets_are_masked_anywhere() {
        let r = Redactor::new([
            "postgres://app:p%40ssw0rd@h/db".to_string(),
            "tok-123456".into(),
        ]);
        assert_eq!(
            r.redact("auth p@ssw0rd failed, key tok-123456"),
            "auth *** failed, key ***"
        );
        assert_eq!(r.redact("p%40ssw0rd"), "***");
    }

    #[test]
    fn a_shared_redactor_masks_what_is_added_later() {
        let shared = SharedRedactor::default();
        let writer = shared.clone();
        shared.replace(Redactor::new(["tok-123456".to_string()]));
        shared.extend(["read-by-a-check".to_string()]);
        assert_eq!(
            writer.redact("tok-123456 and read-by-a-check"),
            "*** and ***"
        );
    }
}
