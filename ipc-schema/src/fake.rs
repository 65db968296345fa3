//! A scripted chatd on a temp socket, for testing clients without a daemon:
//! ipc-schema's own client tests and chat-ctl's, which runs its real binary
//! against it. Test-only: built for this crate's tests and, for other crates,
//! with the `test-fake` feature, which they enable as a dev-dependency only.
//!
//! It speaks the socket's framing (NDJSON, docs/IPC.md §2) and nothing else:
//! each request line goes to a handler, which returns the frames to write
//! back, so a test can answer with anything, including garbage or a hang-up.
#![warn(missing_docs)]

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread;

use serde_json::{Value, json};

/// Answers one request with the frames to write back, in order. A JSON
/// `null` among them closes the connection at that point instead.
pub type Handler = dyn Fn(&Value, &Subscribers) -> Vec<Value> + Send + Sync;

/// The connections that called `subscribe` (and were not closed by their
/// answer); events written here reach every one of them.
#[derive(Clone, Default)]
pub struct Subscribers(Arc<Mutex<Vec<UnixStream>>>);

impl Subscribers {
    /// Writes one frame to every subscribed connection.
    pub fn broadcast(&self, frame: &Value) {
        let mut line = serde_json::to_vec(frame).expect("a JSON value serializes");
        line.push(b'\n');
        for stream in self.0.lock().expect("fake poisoned").iter_mut() {
            // A subscriber that went away is none of the test's business.
            let _ = stream.write_all(&line);
        }
    }
}

/// A fake chatd listening on `chatd.sock` in a temp dir of its own, until dropped.
pub struct FakeDaemon {
    _dir: tempfile::TempDir,
    path: PathBuf,
    requests: Arc<Mutex<Vec<Value>>>,
}

impl FakeDaemon {
    /// Starts listening; `handler` answers every request, `hello` included.
    pub fn start(
        handler: impl Fn(&Value, &Subscribers) -> Vec<Value> + Send + Sync + 'static,
    ) -> FakeDaemon {
        let dir = tempfile::tempdir().expect("a temp dir");
        let path = dir.path().join("chatd.sock");
        let listener = UnixListener::bind(&path).expect("bind the fake's socket");
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

    /// The socket to connect to.
    pub fn socket(&self) -> &Path {
        &self.path
    }

    /// The params of every request for `method` received so far, in order.
    pub fn params_of(&self, method: &str) -> Vec<Value> {
        self.requests
            .lock()
            .expect("fake poisoned")
            .iter()
            .filter(|r| r["method"] == method)
            .map(|r| r["params"].clone())
            .collect()
    }
}

fn serve(stream: UnixStream, handler: &Handler, seen: &Mutex<Vec<Value>>, subs: &Subscribers) {
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    for line in BufReader::new(stream).lines() {
        let Ok(line) = line else { return };
        let request: Value = serde_json::from_str(&line).expect("clients send JSON lines");
        assert_eq!(request["jsonrpc"], "2.0", "{line}");
        seen.lock().expect("fake poisoned").push(request.clone());
        let frames = handler(&request, subs);
        // Register before answering: once the client has the answer it may
        // act on another connection, and the events of that must reach it.
        // A connection about to be closed is not kept, or the kept clone
        // would hold it open.
        if request["method"] == "subscribe" && !frames.iter().any(Value::is_null) {
            match writer.try_clone() {
                Ok(clone) => subs.0.lock().expect("fake poisoned").push(clone),
                Err(_) => return,
            }
        }
        for frame in &frames {
            if frame.is_null() {
                return;
            }
            let mut bytes = serde_json::to_vec(frame).expect("a JSON value serializes");
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

/// An error response to `request`, with `data` when given.
pub fn error(request: &Value, code: i64, message: &str, data: Option<Value>) -> Value {
    let mut error = json!({"code": code, "message": message});
    if let Some(data) = data {
        error["data"] = data;
    }
    json!({"jsonrpc": "2.0", "id": request["id"], "error": error})
}

/// The answer of a chatd 0.1.0 of protocol 1 whose account is `user`.
pub fn hello(request: &Value, user: Option<&str>) -> Value {
    ok(
        request,
        json!({"protocol": 1, "version": "0.1.0", "user": user}),
    )
}
