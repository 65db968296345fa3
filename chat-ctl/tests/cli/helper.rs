//! The shared fake chatd set up the way chat-ctl talks to it, and a way to
//! run the real chat-ctl binary against a socket.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

pub use ipc_schema::fake::{FakeDaemon, Subscribers, error, ok};
use serde_json::Value;

/// The shared fake chatd (`ipc_schema::fake`): it answers `hello` as chatd
/// 0.1.0 with the account alice, after checking that chat-ctl says it right,
/// and `handler` answers every other call.
pub fn fake_chatd(
    handler: impl Fn(&Value, &Subscribers) -> Vec<Value> + Send + Sync + 'static,
) -> FakeDaemon {
    FakeDaemon::start(move |request, subscribers| {
        if request["method"] != "hello" {
            return handler(request, subscribers);
        }
        assert_eq!(request["params"]["protocol"], 1);
        let client = request["params"]["client"].as_str().unwrap_or_default();
        assert!(client.starts_with("chat-ctl/"), "{client}");
        vec![ipc_schema::fake::hello(request, Some("alice"))]
    })
}

/// A fixture from ipc-schema's golden files, e.g. `results/status.json`.
pub fn fixture(rel: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../ipc-schema/tests/fixtures")
        .join(rel);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// What a run of chat-ctl did.
#[derive(Debug)]
pub struct Run {
    /// The exit code.
    pub code: i32,
    /// Everything on stdout.
    pub stdout: String,
    /// Everything on stderr.
    pub stderr: String,
}

impl Run {
    /// stdout's lines.
    pub fn lines(&self) -> Vec<&str> {
        self.stdout.lines().collect()
    }

    /// Asserts the exit code and that stderr is exactly one `chat-ctl: …` line.
    pub fn assert_failed_with(&self, code: i32) -> String {
        assert_eq!(self.code, code, "{self:#?}");
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "one line on stderr: {self:#?}");
        assert!(lines[0].starts_with("chat-ctl: "), "{self:#?}");
        lines[0].to_owned()
    }

    /// Asserts success and returns stdout.
    pub fn assert_ok(&self) -> String {
        assert_eq!(self.code, 0, "{self:#?}");
        self.stdout.clone()
    }
}

/// Runs chat-ctl with `args` against `socket`, feeding `stdin`; kills it after 20 s.
pub fn chat_ctl(socket: &Path, args: &[&str], stdin: &str) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_chat-ctl"))
        .arg("--socket")
        .arg(socket)
        .args(args)
        .env_remove("CHAT_SOCKET")
        .env("TZ", "UTC")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    let stdin = stdin.to_owned();
    thread::spawn(move || {
        let _ = input.write_all(stdin.as_bytes());
    });
    let drain = |mut r: Box<dyn Read + Send>| {
        thread::spawn(move || {
            let mut s = String::new();
            r.read_to_string(&mut s).unwrap();
            s
        })
    };
    let stdout = drain(Box::new(child.stdout.take().unwrap()));
    let stderr = drain(Box::new(child.stderr.take().unwrap()));
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("chat-ctl {args:?} did not finish in 20 s");
        }
        thread::sleep(Duration::from_millis(10));
    };
    Run {
        code: status.code().expect("chat-ctl exits, it is not killed"),
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    }
}
