//! `ipc_frame`: bytes → the NDJSON frame decoder (checked against a simple
//! model of the framing rules) → every decoded frame parsed as a JSON-RPC
//! request and dispatched to chatd's real handlers, on a real `Daemon` with a
//! temporary SQLite store.
//!
//! Every input gets a fresh daemon (about a millisecond on tmpfs), so a crash
//! never depends on what earlier inputs left in the store. The daemon is
//! registered as bob with alice as a contact and a session token, so the
//! handlers behind the login checks are reached. Its relay URL points at a
//! closed loopback port: `account.login`, `account.logout`,
//! `account.delete` and `contact.add` from the directory fail fast with
//! `relay_unreachable` instead of waiting on a network. `account.register`
//! is refused with `account_exists` before any key generation, because the
//! account always exists; the harness also skips it should that ever change,
//! since generating RSA keys per input would stall the fuzzer.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use chatd::config::Config;
use chatd::daemon::Daemon;
use chatd::ipc::handlers::{Outcome, dispatch};
use chatd::keystore::{Keystore, MemoryStore, names};
use chatd::store::{AccountRow, EventBus, RelayTrust, Store};
use ipc_schema::jsonrpc::{Request, Response};
use ipc_schema::methods::Method;
use ipc_schema::{FrameDecoder, FrameError, encode_frame};

use crate::fixtures::people;

/// The small line cap the first input byte can choose, so the fuzzer reaches
/// the over-the-cap paths without 16 MiB inputs.
const SMALL_CAP: usize = 64;

/// Decodes `data` as a stream of frames and answers each like chatd would.
///
/// Byte 0 chooses how the stream is cut into pushes (bits 0–5: chunk length
/// 1–64; bit 7: everything at once) and the cap (bit 6: [`SMALL_CAP`]).
pub fn ipc_frame(data: &[u8]) {
    let Some((&control, stream)) = data.split_first() else {
        return;
    };
    let max = if control & 0x40 != 0 {
        SMALL_CAP
    } else {
        ipc_schema::MAX_FRAME
    };
    let chunk = if control & 0x80 != 0 {
        stream.len().max(1)
    } else {
        usize::from(control & 0x3f) + 1
    };
    let frames = decode(stream, chunk, max);
    assert_eq!(
        frames,
        model(stream, max),
        "decoder differs from the framing rules"
    );

    let (frames, _) = frames;
    if frames.is_empty() {
        return;
    }
    let world = world();
    let dir = tempfile::Builder::new()
        .prefix("chatd-")
        .tempdir_in(&world.scratch)
        .expect("temp dir");
    world.runtime.block_on(async {
        let daemon = world.daemon(&dir.path().join("chatd.db")).await;
        for frame in &frames {
            answer(&daemon, frame).await;
        }
    });
}

/// Runs the decoder the way the socket server does: push, then pop until `None`.
fn decode(stream: &[u8], chunk: usize, max: usize) -> (Vec<Vec<u8>>, bool) {
    let mut decoder = FrameDecoder::with_max(max);
    let mut frames = Vec::new();
    for piece in stream.chunks(chunk) {
        let pushed = decoder.push(piece);
        loop {
            match decoder.next_frame() {
                Ok(Some(frame)) => frames.push(frame),
                Ok(None) => break,
                Err(FrameError::TooLarge { limit }) => {
                    assert_eq!(limit, max);
                    return (frames, true);
                }
                Err(e) => panic!("decoding gave an encoding error: {e}"),
            }
        }
        assert!(pushed.is_ok(), "push failed but next_frame never did");
    }
    (frames, false)
}

/// The framing rules of docs/IPC.md §2 written the obvious way: lines end in `\n`,
/// one `\r` before it is dropped, blank lines are skipped, and a line longer
/// than `max` (complete or not) ends the stream after the frames before it.
fn model(stream: &[u8], max: usize) -> (Vec<Vec<u8>>, bool) {
    let mut frames = Vec::new();
    let mut lines = stream.split(|b| *b == b'\n').peekable();
    while let Some(line) = lines.next() {
        if line.len() > max {
            return (frames, true);
        }
        if lines.peek().is_none() {
            break; // unfinished last line: kept for more input
        }
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if !line.iter().all(|b| matches!(b, b' ' | b'\t' | b'\r')) {
            frames.push(line.to_vec());
        }
    }
    (frames, false)
}

/// What the socket server does with one frame, minus the socket.
async fn answer(daemon: &Daemon, frame: &[u8]) {
    let request = match Request::from_slice(frame) {
        Ok(r) => r,
        Err(e) => {
            encode_frame(&e.to_response()).expect("an error response encodes");
            return;
        }
    };
    let Request { id, method, .. } = request;
    if matches!(method, Method::AccountRegister(_)) && daemon.account().is_err() {
        return; // would generate RSA keys: see the module doc
    }
    let encoded = match dispatch(daemon, 1, method).await {
        Outcome::Reply(result) | Outcome::Subscribe { result, .. } => {
            encode_frame(&Response::ok(id, result))
        }
        Outcome::Shutdown(result) => {
            let _ = daemon.shutdown.send(true);
            encode_frame(&Response::ok(id, result))
        }
        Outcome::Error(err) => encode_frame(&Response::<()>::error(Some(id), err)),
    };
    let bytes = encoded.expect("every answer encodes as a frame");
    assert_eq!(bytes.iter().filter(|b| **b == b'\n').count(), 1);
}

/// What every input shares.
struct World {
    /// Runs the async handlers.
    runtime: tokio::runtime::Runtime,
    /// Where each input's store directory is made (and removed after it).
    scratch: PathBuf,
    /// A relay that refuses connections.
    relay_url: String,
}

impl World {
    /// A fresh daemon: new store, registered as bob, alice a contact, logged in.
    async fn daemon(&self, db: &Path) -> Arc<Daemon> {
        let p = people();
        let store = Store::open(db).expect("store opens");
        store
            .set_account(&AccountRow {
                user: "bob".into(),
                relay_urls: vec![self.relay_url.clone()],
                key_bits: 2048,
                trust: RelayTrust::default(),
                device_id: None,
            })
            .expect("account row");
        let _ = store
            .add_contact(p.alice.card())
            .expect("contact")
            .publish(&EventBus::default());
        let keystore = MemoryStore::default();
        keystore.set(names::ENC_KEY, &p.bob.enc_pkcs8).unwrap();
        keystore.set(names::SIG_KEY, &p.bob.sig_pkcs8).unwrap();
        keystore.set(names::TOKEN, b"fuzz-token").unwrap();
        Daemon::start(store, Arc::new(keystore), Config::default())
            .await
            .expect("daemon starts")
    }
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        // tmpfs when there is one: every store write is fsynced.
        let scratch = Some(PathBuf::from("/dev/shm"))
            .filter(|p| p.is_dir())
            .unwrap_or_else(std::env::temp_dir);
        // Bind and drop: connecting to this port is refused at once.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free loopback port")
            .port();
        World {
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("tokio runtime"),
            scratch,
            relay_url: format!("http://127.0.0.1:{port}"),
        }
    })
}
