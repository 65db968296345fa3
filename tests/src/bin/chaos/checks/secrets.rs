//! No message body, password, session token or private key material in any
//! log, and no body at rest in the relay's database.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

use crate::keyring::keyring_secrets;
use crate::report::Report;
use crate::stage::Stage;
use crate::{FLOOD_PASSWORD, USERS, count};

/// Searches the relay's, the daemons' and the notification server's logs for
/// every secret of the run: the body marker `tag`, the passwords, the tokens
/// and windows of each daemon's private keys, read back from its keyring.
pub fn secrets_in_logs(stage: &Stage, tag: &str, report: &mut Report) {
    let needles = needles(stage, tag);
    report.needles = needles.len();
    let mut scanned: Vec<PathBuf> = std::fs::read_dir(stage.logs.path())
        .expect("log dir")
        .flatten()
        .map(|e| e.path())
        .collect();
    scanned.push(stage.world.dir.path().join("notify.log"));
    for file in &scanned {
        let bytes = std::fs::read(file).unwrap_or_default();
        for (what, needle) in &needles {
            let n = count(&bytes, needle);
            if n > 0 {
                report.leaks.push(format!(
                    "{what} ×{n} in {}",
                    file.file_name().unwrap_or_default().to_string_lossy()
                ));
            }
        }
    }
}

/// Secrets for the log scan, `(what, bytes)`; the daemons' read back from
/// each one's keyring.
fn needles(stage: &Stage, tag: &str) -> Vec<(String, Vec<u8>)> {
    let mut needles: Vec<(String, Vec<u8>)> = vec![("body marker".into(), tag.as_bytes().to_vec())];
    for u in USERS {
        needles.push((
            format!("{u}'s password"),
            format!("{u}-password").into_bytes(),
        ));
    }
    needles.push(("flooder's password".into(), FLOOD_PASSWORD.into()));
    needles.push(("keyring password".into(), b"e2e-keyring-password".to_vec()));
    needles.push((
        "flooder's token".into(),
        stage.flood_token.clone().into_bytes(),
    ));
    for (u, t) in &stage.probe_tokens {
        needles.push((format!("{u}'s probe token"), t.clone().into_bytes()));
    }
    for d in &stage.daemons {
        for (name, secret) in keyring_secrets(&stage.world, d) {
            if name == chatd::keystore::names::PASSWORD {
                continue; // the password, already a needle
            }
            let what = format!("{}'s {name}", d.name);
            if name == chatd::keystore::names::TOKEN {
                needles.push((what, secret));
                continue;
            }
            // Private keys: windows of their base64 and hex, as a log line
            // would show a key or a slice of it.
            let b64 = B64.encode(&secret);
            for (k, w) in b64.as_bytes().chunks(40).enumerate() {
                if w.len() == 40 {
                    needles.push((format!("{what} (base64 @{})", k * 40), w.to_vec()));
                }
            }
            for (k, w) in secret.chunks(24).enumerate() {
                if w.len() == 24 {
                    let hex: String = w.iter().map(|b| format!("{b:02x}")).collect();
                    needles.push((format!("{what} (hex @{})", k * 24), hex.into_bytes()));
                }
            }
        }
    }
    needles
}

/// Occurrences of the body marker `tag` in the relay's database and its WAL.
pub fn bodies_at_rest(relay_dir: &Path, tag: &str, report: &mut Report) {
    for name in ["relay.db", "relay.db-wal"] {
        let bytes = std::fs::read(relay_dir.join(name)).unwrap_or_default();
        report.at_rest_leaks += count(&bytes, tag.as_bytes()) as u64;
    }
}
