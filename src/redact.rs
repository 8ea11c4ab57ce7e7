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
    /// The secrets as they were given, to extend from.
    given: Arc<Vec<String>>,
    /// Every printed form of every secret, longest first.
    secrets: Arc<Vec<String>>,
}

/// Secrets shorter than this are not searched for: masking every "a" would garble reports,
/// and a secret that short is itself a finding of the `secret` kind.
const MIN_SECRET_LEN: usize = 4;

impl Redactor {
    pub fn new(secrets: impl IntoIterator<Item = String>) -> Redactor {
        let mut given: Vec<String> = secrets.into_iter().collect();
        given.sort();
        given.dedup();
        let mut list: Vec<String> = Vec::new();
        for secret in given.iter().cloned() {
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
        let mut forms: Vec<String> = list.iter().flat_map(|s| encodings(s)).collect();
        forms.retain(|s| s.len() >= MIN_SECRET_LEN);
        // Longest first, so that a secret containing another is masked whole.
        forms.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        forms.dedup();
        Redactor {
            given: Arc::new(given),
            secrets: Arc::new(forms),
        }
    }

    /// This redactor's secrets and `more`.
    pub fn extended(&self, more: impl IntoIterator<Item = String>) -> Redactor {
        Redactor::new(self.given.iter().cloned().chain(more))
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

    /// Masks the secrets in `text`, then cuts it to at most `max` bytes, never inside a mask (a
    /// secret straddling the cut would otherwise leak its first characters).
    pub fn redact_and_cut(&self, text: &str, max: usize) -> String {
        cut_outside_masks(&self.redact(text), max)
    }

    /// Masks the secrets in `text`, then keeps its first `head` and last `tail` bytes around a
    /// note of how many bytes lie between, `unread` (left out before) included; never inside a
    /// mask.
    pub fn redact_and_cut_ends(&self, text: &str, head: usize, tail: usize, unread: u64) -> String {
        let masked = self.redact(text);
        let end = head_end(&masked, head);
        let start = tail_start(&masked, tail).max(end);
        let left_out = (start - end) as u64 + unread;
        if left_out == 0 {
            return masked;
        }
        format!(
            "{}\n… ({left_out} bytes not kept) …\n{}",
            &masked[..end],
            &masked[start..]
        )
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

/// Every form `secret` takes in text we print: raw, JSON-escaped (once, twice, and with
/// non-ASCII as `\\u` escapes), HTML/XML-escaped (named, decimal and hex references),
/// URL-encoded (`%XX` for everything, the userinfo set, and `+` for spaces), Rust `Debug`-escaped
/// (what tracing and sqlx print) and markdown-escaped.
pub fn encodings(secret: &str) -> Vec<String> {
    let json = json_escaped(secret, false);
    let mut forms = vec![
        secret.to_string(),
        json_escaped(&json, false),
        json_escaped(secret, true),
        html_escaped(secret, |c| match c {
            '&' => "&amp;".into(),
            '<' => "&lt;".into(),
            '>' => "&gt;".into(),
            '"' => "&quot;".into(),
            _ => "&#39;".into(),
        }),
        html_escaped(secret, |c| format!("&#{};", c as u32)),
        html_escaped(secret, |c| format!("&#x{:x};", c as u32)),
        html_escaped(secret, |c| format!("&#x{:X};", c as u32)),
        percent_encoding::utf8_percent_encode(secret, percent_encoding::NON_ALPHANUMERIC)
            .to_string(),
        percent_encoding::utf8_percent_encode(secret, USERINFO).to_string(),
        secret
            .split(' ')
            .map(|part| {
                percent_encoding::utf8_percent_encode(part, percent_encoding::NON_ALPHANUMERIC)
                    .to_string()
            })
            .collect::<Vec<_>>()
            .join("+"),
        debug_escaped(secret),
        secret.chars().fold(String::new(), |mut out, c| {
            if c.is_ascii_punctuation() {
                out.push('\\');
            }
            out.push(c);
            out
        }),
        json,
    ];
    forms.dedup();
    forms
}

/// `text` with every form of `secret` (in any of its encodings, lower- or upper-cased)
/// replaced by `name`: how a diagnostic names the variable a secret came from.
pub fn name_secret(text: &str, secret: &str, name: &str) -> String {
    if secret.len() < MIN_SECRET_LEN {
        return text.to_string();
    }
    let mut forms: Vec<String> = [
        secret.to_string(),
        secret.to_lowercase(),
        secret.to_uppercase(),
    ]
    .iter()
    .flat_map(|s| encodings(s))
    .collect();
    forms.sort_by_key(|f| std::cmp::Reverse(f.len()));
    forms.iter().fold(text.to_string(), |out, form| {
        out.replace(form.as_str(), name)
    })
}

/// The characters the URL standard percent-encodes in userinfo (what `url` writes back).
const USERINFO: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'/')
    .add(b':')
    .add(b';')
    .add(b'=')
    .add(b'@')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'|');

fn json_escaped(text: &str, ascii_only: bool) -> String {
    let quoted = serde_json::to_string(text).unwrap_or_default();
    let inner = &quoted[1..quoted.len() - 1];
    if !ascii_only {
        return inner.to_string();
    }
    inner.chars().fold(String::new(), |mut out, c| {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
        out
    })
}

fn html_escaped(text: &str, escape: impl Fn(char) -> String) -> String {
    text.chars()
        .map(|c| match c {
            '&' | '<' | '>' | '"' | '\'' => escape(c),
            _ => c.to_string(),
        })
        .collect()
}

fn debug_escaped(text: &str) -> String {
    let quoted = format!("{text:?}");
    quoted[1..quoted.len() - 1].to_string()
}

/// `Basic base64(user:password)`, with and without padding: what an HTTP client sends for a
/// URL with userinfo, a secret as much as the password it is made from.
pub fn basic_credentials(url_text: &str) -> Vec<String> {
    use base64::Engine;
    let Ok(url) = url::Url::parse(url_text) else {
        return Vec::new();
    };
    let Some(password) = url.password() else {
        return Vec::new();
    };
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8_lossy()
            .into_owned()
    };
    let pair = format!("{}:{}", decode(url.username()), decode(password));
    let padded = base64::engine::general_purpose::STANDARD.encode(&pair);
    let unpadded = base64::engine::general_purpose::STANDARD_NO_PAD.encode(&pair);
    vec![padded, unpadded]
}

/// The encodings of a key that signs (a webhook secret): its bytes in hex and base64, which
/// a server or a log may print instead of the secret's own text.
pub fn key_encodings(key: &[u8]) -> Vec<String> {
    use base64::Engine;
    let engines = [
        &base64::engine::general_purpose::STANDARD,
        &base64::engine::general_purpose::STANDARD_NO_PAD,
        &base64::engine::general_purpose::URL_SAFE,
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
    ];
    let mut out = vec![hex::encode(key), hex::encode_upper(key)];
    out.extend(engines.iter().map(|e| e.encode(key)));
    out.extend(String::from_utf8(key.to_vec()));
    out
}

/// `text` cut to at most `max` bytes on a character boundary, moved back to the start of a mask
/// it would split, saying how much was left out.
pub fn cut_outside_masks(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let end = head_end(text, max);
    format!("{}… ({} more bytes)", &text[..end], text.len() - end)
}

/// Where the first `max` bytes of `text` end: on a character boundary, moved back to the start
/// of a mask the end would split.
fn head_end(text: &str, max: usize) -> usize {
    if text.len() <= max {
        return text.len();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    mask_start_across(text, end).unwrap_or(end)
}

/// Where the last `max` bytes of `text` start: on a character boundary, moved back to the start
/// of a mask the start would split.
fn tail_start(text: &str, max: usize) -> usize {
    let mut start = text.len().saturating_sub(max);
    while !text.is_char_boundary(start) {
        start += 1;
    }
    mask_start_across(text, start).unwrap_or(start)
}

/// The start of a mask that begins before `at` and reaches past it.
fn mask_start_across(text: &str, at: usize) -> Option<usize> {
    let window_start = at.saturating_sub(MASK.len() - 1);
    let end = (at + MASK.len() - 1).min(text.len());
    text.as_bytes()[window_start..end]
        .windows(MASK.len())
        .position(|w| w == MASK.as_bytes())
        .map(|i| window_start + i)
        .filter(|&i| i < at)
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

    const TRICKY: &str = "Ab1\"cd\\ef<gh&ij%kl+mn op-ü9";

    #[test]
    fn every_printed_form_of_a_secret_is_masked() {
        let r = Redactor::new([TRICKY.to_string()]);
        let json = serde_json::to_string(TRICKY).unwrap();
        let printed = [
            TRICKY.to_string(),
            json.clone(),
            serde_json::to_string(&json).unwrap(),
            "Ab1&quot;cd\\ef&lt;gh&amp;ij%kl+mn op-ü9".to_string(),
            "Ab1&#34;cd\\ef&#60;gh&#38;ij%kl+mn op-ü9".to_string(),
            "Ab1&#x22;cd\\ef&#x3c;gh&#x26;ij%kl+mn op-ü9".to_string(),
            "Ab1%22cd%5Cef%3Cgh%26ij%25kl%2Bmn%20op%2D%C3%BC9".to_string(),
            "Ab1%22cd%5Cef%3Cgh%26ij%25kl%2Bmn+op%2D%C3%BC9".to_string(),
            "Ab1%22cd%5Cef%3Cgh&ij%kl+mn%20op-%C3%BC9".to_string(),
            format!("{TRICKY:?}"),
            "Ab1\\\"cd\\\\ef\\<gh\\&ij\\%kl\\+mn op\\-ü9".to_string(),
        ];
        for text in printed {
            let masked = r.redact(&format!("before {text} after"));
            assert!(
                !masked.contains("cd") && !masked.contains("kl"),
                "{text} -> {masked}"
            );
        }
    }

    #[test]
    fn credentials_derived_from_a_secret_are_secrets() {
        let url = "http://svc:p%40ss%20w0rd@api.internal/";
        // base64("svc:p@ss w0rd")
        assert_eq!(
            basic_credentials(url),
            ["c3ZjOnBAc3MgdzByZA==", "c3ZjOnBAc3MgdzByZA"]
        );
        assert!(basic_credentials("http://api.internal/").is_empty());
        assert!(key_encodings(b"\x01\xfe\x10\x20").contains(&"01fe1020".to_string()));
        let r = Redactor::new(basic_credentials(url));
        assert_eq!(
            r.redact("Authorization: Basic c3ZjOnBAc3MgdzByZA=="),
            "Authorization: Basic ***"
        );
    }

    #[test]
    fn text_is_cut_after_masking_and_never_inside_a_mask() {
        let r = Redactor::new(["tok-123456".to_string()]);
        let text = format!("{}tok-123456{}", ".".repeat(8), ".".repeat(8));
        // Cut first, `tok-1` would remain; masked first, the secret is gone whole.
        assert_eq!(r.redact_and_cut(&text, 13), "........***..… (6 more bytes)");
        assert_eq!(r.redact_and_cut(&text, 10), "........… (11 more bytes)");
        assert_eq!(r.redact_and_cut("short", 10), "short");
    }

    #[test]
    fn both_ends_are_kept_after_masking_and_never_split_a_mask() {
        let r = Redactor::new(["tok-123456".to_string()]);
        // The secret straddles both cuts: cut first, `tok-1` and `3456` would remain.
        let text = format!("ab tok-123456{}tok-123456 yz", "m".repeat(20));
        assert_eq!(
            r.redact_and_cut_ends(&text, 5, 5, 0),
            "ab \n… (23 bytes not kept) …\n*** yz"
        );
        assert_eq!(r.redact_and_cut_ends("short", 5, 5, 0), "short");
        assert_eq!(
            r.redact_and_cut_ends("aabb", 2, 2, 7),
            "aa\n… (7 bytes not kept) …\nbb"
        );
    }

    #[test]
    fn debug_escaped_log_lines_are_masked() {
        let shared = SharedRedactor::default();
        shared.replace(Redactor::new([TRICKY.to_string()]));
        let sqlx_line = format!(
            "statement: {:?}",
            format!("ALTER ROLE x PASSWORD '{TRICKY}'")
        );
        assert_eq!(
            shared.redact(&sqlx_line),
            "statement: \"ALTER ROLE x PASSWORD '***'\""
        );
    }

    #[test]
    fn a_secret_is_named_in_any_form_or_case() {
        assert_eq!(
            name_secret("unknown category `ab-cdef`", "AB-CDEF", "${API_KEY}"),
            "unknown category `${API_KEY}`"
        );
        assert_eq!(
            name_secret("x \"a\\\"bcd\" y", "a\"bcd", "${K}"),
            "x \"${K}\" y"
        );
    }
}
