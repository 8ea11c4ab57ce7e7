//! Logging to stderr with secrets masked, even at `-v` / `RUST_LOG=trace`.

use std::io;
use std::sync::{LazyLock, RwLock};

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

use crate::redact::Redactor;

static SECRETS: LazyLock<RwLock<Redactor>> = LazyLock::new(|| RwLock::new(Redactor::default()));

/// Makes the secrets of the loaded configuration known to every output path.
pub fn set_secrets(redactor: Redactor) {
    if let Ok(mut guard) = SECRETS.write() {
        *guard = redactor;
    }
}

/// Adds values read while checks run (what a `secret` check reads) to the masked set; called
/// before the result is assembled, so every report and later log line masks them.
pub fn add_secrets(values: impl IntoIterator<Item = String>) {
    if let Ok(mut guard) = SECRETS.write() {
        *guard = guard.extended(values);
    }
}

pub fn redactor() -> Redactor {
    SECRETS.read().map(|g| g.clone()).unwrap_or_default()
}

pub fn redact(text: &str) -> String {
    redactor().redact(text)
}

pub fn init(verbose: bool) {
    let default = if verbose { "ready=debug,info" } else { "warn" };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(RedactingStderr)
        .with_target(false)
        .try_init();
}

struct RedactingStderr;

impl<'a> MakeWriter<'a> for RedactingStderr {
    type Writer = LineWriter;
    fn make_writer(&'a self) -> LineWriter {
        LineWriter(Vec::new())
    }
}

/// Buffers one event and writes it masked when dropped (the formatter writes an event at once).
struct LineWriter(Vec<u8>);

impl io::Write for LineWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for LineWriter {
    fn drop(&mut self) {
        let text = redact(&String::from_utf8_lossy(&self.0));
        let _ = io::Write::write_all(&mut io::stderr(), text.as_bytes());
    }
}
