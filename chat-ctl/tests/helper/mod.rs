//! A fake chatd on a temp socket, and a way to run the real chat-ctl binary against it.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The connections that called `subscribe`; events written here reach every watcher.
#[derive(Clone, Default)]
pub struct Subscribers(Arc<Mutex<Vec<UnixStream>>>);

impl Subscribers {
    /// Writes one frame to every subscribed connection.
    pub fn broadcast(&self, frame: &Value) {
        let mut line = serde_json::to_vec(frame).unwrap();
        line.push(b'\n');
        for stream in self.0.lock().unwrap().iter_mut() {
            let _ = stream.write_all(&line);
        }
    }
}

/// Answers one request (not `hello`, which the fake answers itself) with the
/// frames to write back; a JSON `null` among them closes the connection.
type Handler = dyn Fn(&Value, &Subscribers) -> Vec<Value> + Send + Sync;

/// A fake chatd speaking NDJSON JSON-RPC on a socket in a temp dir.
pub struct FakeDaemon {
    _dir: tempfile::TempDir,
    path: PathBuf,
    requests: Arc<Mutex<Vec<Value>>>,
}

impl FakeDaemon {
    /// Starts listening; `handler` answers every call after `hello`.
    pub fn start(
        handler: impl Fn(&Value, &Subscribers) -> Vec<Value> + Send + Sync + 'static,
    ) -> FakeDaemon {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("chatd.sock");
        let listener = UnixListener::bind(&path).unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let handler: Arc<Handler> = Arc::new(handler);
        let subscribers = Subscribers::default();
        let seen = requests.clone();
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let (handler, seen, subscribers) =
                    (handler.clone(), seen.clone(), subscribers.clone());
                thread::spawn(move || serve(stream, &*handler, &seen, &subscribers));
            }
        });
        FakeDaemon {
            _dir: dir,
            path,
            requests,
        }
    }

    /// The socket to pass as `--socket`.
    pub fn socket(&self) -> &Path {
        &self.path
    }

    /// The params of every request for `method` received so far.
    pub fn params_of(&self, method: &str) -> Vec<Value> {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r["method"] == method)
            .map(|r| r["params"].clone())
            .collect()
    }
}

fn serve(stream: UnixStream, handler: &Handler, seen: &Mutex<Vec<Value>>, subs: &Subscribers) {
    let mut writer = stream.try_clone().unwrap();
    for line in BufReader::new(stream).lines() {
        let Ok(line) = line else { return };
        let request: Value = serde_json::from_str(&line).expect("chat-ctl sends JSON");
        assert_eq!(request["jsonrpc"], "2.0");
        seen.lock().unwrap().push(request.clone());
        let frames = if request["method"] == "hello" {
            assert_eq!(request["params"]["protocol"], 1);
            assert!(
                request["params"]["client"]
                    .as_str()
                    .unwrap()
                    .starts_with("chat-ctl/")
            );
            vec![ok(
                &request,
                json!({"protocol": 1, "version": "0.1.0", "user": "alice"}),
            )]
        } else {
            handler(&request, subs)
        };
        // Register before answering: once chat-ctl has the answer, it may send
        // on another connection, and the events of that send must reach it.
        // A stream that is about to be closed is not registered, or the kept
        // clone would hold the socket open.
        if request["method"] == "subscribe" && !frames.iter().any(Value::is_null) {
            subs.0.lock().unwrap().push(writer.try_clone().unwrap());
        }
        for frame in &frames {
            if frame.is_null() {
                return;
            }
            let mut bytes = serde_json::to_vec(frame).unwrap();
            bytes.push(b'\n');
            if writer.write_all(&bytes).is_err() {
                return;
            }
        }
    }
}

/// A successful response to `request`.
pub fn ok(request: &Value, result: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": request["id"], "result": result})
}

/// An error response to `request`.
pub fn error(request: &Value, code: i64, message: &str, data: Option<Value>) -> Value {
    let mut error = json!({"code": code, "message": message});
    if let Some(data) = data {
        error["data"] = data;
    }
    json!({"jsonrpc": "2.0", "id": request["id"], "error": error})
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
