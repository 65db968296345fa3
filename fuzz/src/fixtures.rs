//! Fixed keys shared by the targets: the identities of chatd's frozen
//! envelope vectors (alice 3072-bit, bob and carol 2048-bit), decoded once per
//! process. Generating RSA keys per input would make every target crawl.

use std::sync::OnceLock;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use chatd::crypto::{Card, Identity};
use serde_json::Value;

/// chatd's envelope v1 vectors, embedded so the targets do not depend on the cwd.
const VECTORS: &str = include_str!("../../chatd/tests/vectors/envelope-v1.json");
/// The v2 vectors (the same alice and bob, and carol).
const VECTORS_V2: &str = include_str!("../../chatd/tests/vectors/envelope-v2.json");

/// A vectors identity: its private keys as PKCS#8 DER and the parsed identity.
pub struct Keys {
    /// PKCS#8 DER of the encryption key.
    pub enc_pkcs8: Vec<u8>,
    /// PKCS#8 DER of the signing key.
    pub sig_pkcs8: Vec<u8>,
    /// The identity rebuilt from them.
    pub identity: Identity,
}

impl Keys {
    fn load(vectors: &Value, name: &str) -> Keys {
        let key = &vectors["keys"][name];
        let der = |field: &str| {
            B64.decode(key[field].as_str().expect("vectors hold base64 keys"))
                .expect("vectors hold valid base64")
        };
        let (enc_pkcs8, sig_pkcs8) = (der("enc_private_pkcs8"), der("sig_private_pkcs8"));
        let identity =
            Identity::from_pkcs8(name, &enc_pkcs8, &sig_pkcs8).expect("vector keys load");
        Keys {
            enc_pkcs8,
            sig_pkcs8,
            identity,
        }
    }

    /// The public card.
    pub fn card(&self) -> &Card {
        self.identity.card()
    }
}

/// alice, bob and carol of the vectors files.
pub struct People {
    /// alice, 3072-bit keys.
    pub alice: Keys,
    /// bob, 2048-bit keys.
    pub bob: Keys,
    /// carol, 2048-bit keys (v2 vectors only).
    pub carol: Keys,
}

/// The vectors' identities, decoded on first use.
pub fn people() -> &'static People {
    static PEOPLE: OnceLock<People> = OnceLock::new();
    PEOPLE.get_or_init(|| {
        let vectors: Value = serde_json::from_str(VECTORS).expect("vectors file is JSON");
        let v2: Value = serde_json::from_str(VECTORS_V2).expect("v2 vectors file is JSON");
        People {
            alice: Keys::load(&vectors, "alice"),
            bob: Keys::load(&vectors, "bob"),
            carol: Keys::load(&v2, "carol"),
        }
    })
}
