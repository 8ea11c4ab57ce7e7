//! Logging to stderr with secrets masked, even at `-v` / `RUST_LOG=trace`.

use std::io;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

use crate::redact::SharedRedactor;

/// Installs the stderr logger, masking what `secrets` knows when each line is written. The
/// caller keeps `secrets` and adds to it as the run learns secrets. `color` colours the levels.
pub fn init(verbose: bool, color: bool, secrets: SharedRedactor) {
    let default = if verbose { "ready=debug,info" } else { "warn" };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(RedactingStderr(secrets))
        .with_target(false)
        .with_ansi(color)
        .try_init();
}

struct RedactingStderr(SharedRedactor);

impl<'a> MakeWriter<'a> for RedactingStderr {
    type Writer = LineWriter;
    fn make_writer(&'a self) -> LineWriter {
        LineWriter {
            buffer: Vec::new(),
            secrets: self.0.clone(),
        }
    }
}

/// Buffers one event and writes it masked when dropped (the formatter writes an event at once).
struct LineWriter {
    buffer: Vec<u8>,
    secrets: SharedRedactor,
}

impl io::Write for LineWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.buffer.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for LineWriter {
    fn drop(&mut self) {
        let text = self.secrets.redact(&String::from_utf8_lossy(&self.buffer));
        let _ = io::Write::write_all(&mut io::stderr(), text.as_bytes());
    }
}
