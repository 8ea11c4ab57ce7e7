//! Third-party servers for the interoperability tests: the Python and Node apps beside this file,
//! started on loopback with the dependencies that `tests/interop/setup.sh` installs, and killed
//! when dropped.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::Duration;

/// How long an app may take to print its ready line: generous for a loaded 2-core machine,
/// never waited for in full by an app that starts.
const START_TIMEOUT: Duration = Duration::from_secs(20);

fn interop_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop")
}

fn missing_setup(what: &Path) -> ! {
    panic!(
        "{} is missing: run `bash tests/interop/setup.sh` once (CI's .ci/run does)",
        what.display()
    )
}

/// A server that has been spawned but may not listen yet: `wait` for it. Starting several
/// before waiting for any lets them start in parallel.
pub struct Starting {
    name: String,
    child: Child,
    ready: Receiver<u16>,
    stderr: tempfile::NamedTempFile,
}

/// A running server, killed when dropped.
pub struct Server {
    child: Child,
    pub port: u16,
    pub base: String,
    _stderr: tempfile::NamedTempFile,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `tests/interop/python/APP.py ARGS…` on the pinned virtual environment's Python.
pub fn python(app: &str, args: &[&str], env: &[(&str, &str)]) -> Starting {
    let python = interop_dir().join(".venv/bin/python");
    if !python.is_file() {
        missing_setup(&python);
    }
    let script = interop_dir().join("python").join(format!("{app}.py"));
    spawn(app, Command::new(python).arg(script), args, env)
}

/// `node tests/interop/node/APP.mjs ARGS…` with the packages of `package-lock.json`.
pub fn node(app: &str, args: &[&str], env: &[(&str, &str)]) -> Starting {
    let modules = interop_dir().join("node_modules");
    if !modules.is_dir() {
        missing_setup(&modules);
    }
    let script = interop_dir().join("node").join(format!("{app}.mjs"));
    spawn(app, Command::new("node").arg(script), args, env)
}

fn spawn(name: &str, command: &mut Command, args: &[&str], env: &[(&str, &str)]) -> Starting {
    let stderr = tempfile::NamedTempFile::new().unwrap();
    // Port 0: the app binds a free port and says which on its ready line; no race for ports.
    command
        .arg("0")
        .args(args)
        .envs(env.iter().copied())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(stderr.reopen().unwrap());
    let mut child = command
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
    let stdout = child.stdout.take().unwrap();
    let (tx, ready) = mpsc::channel();
    // Reads the ready line, then drains stdout for as long as the app runs.
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(port) = line.strip_prefix("ready ") {
                let _ = tx.send(port.trim().parse().unwrap_or(0));
            }
        }
    });
    Starting {
        name: name.to_string(),
        child,
        ready,
        stderr,
    }
}

impl Starting {
    pub fn wait(mut self) -> Server {
        match self.ready.recv_timeout(START_TIMEOUT) {
            Ok(port) if port > 0 => Server {
                child: self.child,
                port,
                base: format!("http://127.0.0.1:{port}"),
                _stderr: self.stderr,
            },
            outcome => {
                let _ = self.child.kill();
                let _ = self.child.wait();
                let log = std::fs::read_to_string(self.stderr.path()).unwrap_or_default();
                panic!(
                    "{} did not print its ready line ({outcome:?}):\n{log}",
                    self.name
                );
            }
        }
    }
}
