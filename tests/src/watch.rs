//! A running `chat-ctl --json watch`, and events shaped like its lines.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use ipc_schema::methods::EventEnvelope;

use crate::Ctl;
use crate::process::{bin, read_lines, wait_exit};

/// An event as `chat-ctl --json watch` prints it: the notification's params
/// with the event name added.
pub fn watch_shape(e: &EventEnvelope) -> serde_json::Value {
    let mut v = serde_json::to_value(e).expect("events serialize");
    let mut params = v["params"].take();
    params["event"] = v["method"].take();
    params
}

/// A running `chat-ctl --json watch`, its stdout read line by line.
pub struct Watch {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Watch {
    /// Starts `chat-ctl --socket <socket> --json watch args…`.
    pub(crate) fn start(socket: &Path, args: &[&str]) -> Watch {
        let mut child = Command::new(bin("chat-ctl"))
            .arg("--socket")
            .arg(socket)
            .args(["--json", "watch"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run chat-ctl watch");
        let lines = read_lines(child.stdout.take().unwrap());
        Watch { child, lines }
    }

    /// The next line printed, parsed as JSON, within `timeout`.
    pub fn next(&self, timeout: Duration) -> serde_json::Value {
        let line = self
            .lines
            .recv_timeout(timeout)
            .unwrap_or_else(|e| panic!("no line from chat-ctl watch within {timeout:?}: {e}"));
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"))
    }

    /// The next line printed, parsed as JSON, if one comes within `timeout`.
    pub fn try_next(&self, timeout: Duration) -> Option<serde_json::Value> {
        let line = self.lines.recv_timeout(timeout).ok()?;
        Some(serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}")))
    }

    /// Reads lines until one satisfies `f`, within `timeout`; returns all read.
    pub fn until(
        &self,
        timeout: Duration,
        mut f: impl FnMut(&serde_json::Value) -> bool,
    ) -> Vec<serde_json::Value> {
        let deadline = Instant::now() + timeout;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let v = self.next(left);
            let done = f(&v);
            seen.push(v);
            if done {
                return seen;
            }
        }
    }

    /// Waits for it to end by itself (within `timeout`): its exit code, the
    /// lines it printed that were not read yet, and its stderr.
    pub fn wait(mut self, timeout: Duration) -> Ctl {
        let status = wait_exit(&mut self.child, timeout)
            .unwrap_or_else(|| panic!("chat-ctl watch still runs after {timeout:?}"));
        let mut stderr = String::new();
        if let Some(mut err) = self.child.stderr.take() {
            let _ = std::io::Read::read_to_string(&mut err, &mut stderr);
        }
        Ctl {
            code: status.code().unwrap_or(-1),
            stdout: self.lines.iter().map(|l| l + "\n").collect(),
            stderr,
        }
    }

    /// `kill -9`, then every line it printed that was not read yet.
    pub fn kill(mut self) -> Vec<serde_json::Value> {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.lines
            .iter()
            .map(|l| serde_json::from_str(&l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
            .collect()
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
