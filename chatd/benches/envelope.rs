//! Envelope v1 and v2 seal/open cost, against the bare RSA cost they cannot go below.
//!
//! `cargo bench -p chatd --bench envelope` (only v2: `... -- v2_`)
//!
//! Bounds, measured in the same run:
//! - open's bound: one blinded RSA-OAEP decrypt + one RSA-PSS verify;
//! - seal's bound: one RSA-PSS sign + one RSA-OAEP encrypt.
//!   The ratio envelope/bound shows what framing, AES, HMAC and JSON add.
//! - v2 seal's bound for N recipients: one RSA-PSS sign + N RSA-OAEP
//!   encrypts; the ratio shows what the recipient tree, base64 and sorting add.
//!   Opening a v2 delivered form has v1's open bound.

use std::collections::HashMap;
use std::hint::black_box;

use chatd::crypto::primitives;
use chatd::crypto::{Card, Identity, KeyBits, Peers, open, open_json, seal, seal_v2_as};
use criterion::{
    BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};
use ipc_schema::Payload;
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use rsa::pkcs8::DecodePrivateKey;

struct Contacts(HashMap<String, Card>);

impl Peers for Contacts {
    fn contact(&self, user: &str) -> Option<&Card> {
        self.0.get(user)
    }
    fn already_seen(&self, _: &str, _: &str) -> bool {
        false
    }
}

const SIZES: [(usize, &str); 4] = [
    (1024, "1KiB"),
    (64 * 1024, "64KiB"),
    (1024 * 1024, "1MiB"),
    (4 * 1024 * 1024, "4MiB"),
];

fn bench(c: &mut Criterion) {
    for bits in [KeyBits::B2048, KeyBits::B3072, KeyBits::B4096] {
        let n = bits.bits();
        let mut rng = ChaCha20Rng::from_seed([n as u8; 32]);
        let alice = Identity::generate("alice", bits, &mut rng).unwrap();
        let bob = Identity::generate("bob", bits, &mut rng).unwrap();
        let contacts = Contacts(HashMap::from([("alice".to_owned(), alice.card().clone())]));

        // The bounds: the RSA operations that seal and open cannot avoid.
        let bob_enc =
            rsa::PrivateKey::from_pkcs8_der(bob.enc_private_pkcs8().expose_secret()).unwrap();
        let alice_sig =
            rsa::PrivateKey::from_pkcs8_der(alice.sig_private_pkcs8().expose_secret()).unwrap();
        let keys = [7u8; 64];
        let wk = primitives::oaep_encrypt(bob.card().enc_key(), &keys, &mut rand::rng()).unwrap();
        let msg = [1u8; 300];
        let sig = primitives::pss_sign(&alice_sig, &msg, &mut rand::rng()).unwrap();

        let mut group = c.benchmark_group(format!("rsa{n}"));
        group.sample_size(20);
        group.bench_function("bound_open: oaep_decrypt+pss_verify", |b| {
            b.iter(|| {
                primitives::oaep_decrypt(&bob_enc, &[], black_box(&wk), &mut rand::rng()).unwrap();
                primitives::pss_verify(alice.card().sig_key(), black_box(&msg), &sig).unwrap();
            })
        });
        group.bench_function("bound_seal: pss_sign+oaep_encrypt", |b| {
            b.iter(|| {
                primitives::pss_sign(&alice_sig, black_box(&msg), &mut rand::rng()).unwrap();
                primitives::oaep_encrypt(bob.card().enc_key(), black_box(&keys), &mut rand::rng())
                    .unwrap();
            })
        });
        for (size, label) in SIZES {
            let payload = Payload::text("x".repeat(size));
            let env = seal(&alice, bob.card(), &payload, 1, &mut rand::rng()).unwrap();
            group.throughput(Throughput::Bytes(size as u64));
            group.bench_with_input(BenchmarkId::new("seal", label), &payload, |b, p| {
                b.iter(|| seal(&alice, bob.card(), p, 1, &mut rand::rng()).unwrap())
            });
            group.bench_with_input(BenchmarkId::new("open", label), &env, |b, e| {
                b.iter(|| open(&bob, e, &contacts, &mut rand::rng()).unwrap())
            });
        }
        group.finish();
    }
}

/// Group sizes of the v2 bench.
const GROUPS: [usize; 2] = [100, 1000];

/// Envelope v2 (docs/PROTOCOL.md §8): sealing a 1 KiB text to 100 and 1,000
/// recipients against one RSA-PSS sign + N RSA-OAEP encrypts, and opening one
/// delivered form of a 1,000-recipient envelope against v1's open bound.
/// 3072-bit keys. Generating 1,000 key pairs would take minutes, so the
/// recipients' cards share two generated key pairs under distinct usernames
/// (an RSA public-key operation costs the same whichever key of a size it
/// uses). Prints the sizes of the sealed and delivered forms next to v1's.
fn bench_v2(c: &mut Criterion) {
    let bits = KeyBits::B3072;
    let mut rng = ChaCha20Rng::from_seed([0x32; 32]);
    let alice = Identity::generate("alice", bits, &mut rng).unwrap();
    let keys: Vec<Identity> = (0..2)
        .map(|k| Identity::generate(&format!("key{k}"), bits, &mut rng).unwrap())
        .collect();
    let member = |i: usize| format!("member{i:04}");
    // The identity of member `i`: its key pair is keys[i % 2] under its own name.
    let identity_of = |i: usize| {
        let k = &keys[i % keys.len()];
        Identity::from_pkcs8(
            &member(i),
            k.enc_private_pkcs8().expose_secret(),
            k.sig_private_pkcs8().expose_secret(),
        )
        .unwrap()
    };
    let max = GROUPS[GROUPS.len() - 1];
    let cards: Vec<Card> = (0..max)
        .map(|i| {
            let k = keys[i % keys.len()].card();
            Card::from_der(&member(i), k.enc_der(), k.sig_der()).unwrap()
        })
        .collect();
    let contacts = Contacts(HashMap::from([("alice".to_owned(), alice.card().clone())]));
    let payload = Payload::text("x".repeat(1024));
    let id = |rng: &mut rand::rngs::ThreadRng| {
        let mut id = [0u8; 16];
        rand::Rng::fill_bytes(rng, &mut id);
        id
    };
    const TS: u64 = 1_764_000_000_123;

    // The bounds' operations.
    let alice_sig =
        rsa::PrivateKey::from_pkcs8_der(alice.sig_private_pkcs8().expose_secret()).unwrap();
    let opener = identity_of(max / 2);
    let opener_enc =
        rsa::PrivateKey::from_pkcs8_der(opener.enc_private_pkcs8().expose_secret()).unwrap();
    let content_keys = [7u8; 64];
    let wk =
        primitives::oaep_encrypt(opener.card().enc_key(), &content_keys, &mut rand::rng()).unwrap();
    let msg = [1u8; 300];
    let sig = primitives::pss_sign(&alice_sig, &msg, &mut rand::rng()).unwrap();

    // Sizes, against a v1 envelope of the same text to one of the members.
    let v1 = seal(&alice, &cards[0], &payload, TS, &mut rand::rng()).unwrap();
    let v1_len = serde_json::to_vec(&v1).unwrap().len();
    println!("v2 sizes (1 KiB text, 3072-bit keys): v1 envelope {v1_len} B");
    let mut delivered_of_max = Vec::new();
    for n in GROUPS {
        let to: Vec<&Card> = cards[..n].iter().collect();
        let sealed = seal_v2_as(
            &alice,
            &to,
            &payload,
            id(&mut rand::rng()),
            TS,
            &mut rand::rng(),
        )
        .unwrap();
        let sealed_len = serde_json::to_vec(&sealed).unwrap().len();
        let delivered: Vec<Vec<u8>> = sealed
            .split()
            .unwrap()
            .iter()
            .map(|d| serde_json::to_vec(d).unwrap())
            .collect();
        let over: Vec<usize> = delivered.iter().map(|d| d.len() - v1_len).collect();
        println!(
            "  N={n}: sealed {sealed_len} B ({:.1} B per recipient over v1's {v1_len}; \
             {n} v1 envelopes: {} B); delivered {}..{} B, over v1 min {} / mean {:.1} / max {} B",
            (sealed_len - v1_len) as f64 / n as f64,
            n * v1_len,
            delivered.iter().map(Vec::len).min().unwrap(),
            delivered.iter().map(Vec::len).max().unwrap(),
            over.iter().min().unwrap(),
            over.iter().sum::<usize>() as f64 / n as f64,
            over.iter().max().unwrap(),
        );
        if n == max {
            delivered_of_max = delivered;
        }
    }

    let started = std::time::SystemTime::now();
    let mut group = c.benchmark_group(V2_GROUP);
    group.sample_size(20);
    // v1's open bound: one blinded oaep_decrypt + one pss_verify.
    group.bench_function("bound_open", |b| {
        b.iter(|| {
            primitives::oaep_decrypt(&opener_enc, &[], black_box(&wk), &mut rand::rng()).unwrap();
            primitives::pss_verify(alice.card().sig_key(), black_box(&msg), &sig).unwrap();
        })
    });
    let one = &delivered_of_max[max / 2];
    group.bench_with_input(BenchmarkId::new("open_delivered_1KiB", max), one, |b, d| {
        b.iter(|| open_json(&opener, d, &contacts, &mut rand::rng()).unwrap())
    });
    // Tens of milliseconds an iteration and more: the same number of
    // iterations in every sample, and for 1,000 the fewest samples.
    group.sampling_mode(SamplingMode::Flat);
    for n in GROUPS {
        if n >= 1000 {
            group.sample_size(10);
        }
        let to: Vec<&Card> = cards[..n].iter().collect();
        // pss_sign + N oaep_encrypt.
        group.bench_function(BenchmarkId::new("bound_seal", n), |b| {
            b.iter(|| {
                primitives::pss_sign(&alice_sig, black_box(&msg), &mut rand::rng()).unwrap();
                for card in &to {
                    primitives::oaep_encrypt(
                        card.enc_key(),
                        black_box(&content_keys),
                        &mut rand::rng(),
                    )
                    .unwrap();
                }
            })
        });
        group.bench_function(BenchmarkId::new("seal_1KiB", n), |b| {
            b.iter(|| {
                let mut rng = rand::rng();
                seal_v2_as(&alice, &to, &payload, id(&mut rng), TS, &mut rng).unwrap()
            })
        });
    }
    group.finish();

    // The ratios, from the medians criterion just wrote (skipped for a
    // benchmark this run filtered out).
    let median = |bench: &str| -> Option<f64> {
        let file = criterion_dir()?
            .join(V2_GROUP)
            .join(bench)
            .join("new/estimates.json");
        if std::fs::metadata(&file).ok()?.modified().ok()? < started {
            return None;
        }
        let e: serde_json::Value = serde_json::from_slice(&std::fs::read(file).ok()?).ok()?;
        Some(e["median"]["point_estimate"].as_f64()? / 1e6)
    };
    let ratio = |what: &str, num: &str, den: &str| {
        if let (Some(a), Some(b)) = (median(num), median(den)) {
            println!("{what}: {a:.2} ms / {b:.2} ms = {:.3}", a / b);
        }
    };
    println!("v2 ratios (criterion medians):");
    for n in GROUPS {
        ratio(
            &format!("  seal 1 KiB to {n} / (1 sign + {n} encrypts)"),
            &format!("seal_1KiB/{n}"),
            &format!("bound_seal/{n}"),
        );
    }
    ratio(
        &format!("  open 1 of {max} / (1 decrypt + 1 verify)"),
        &format!("open_delivered_1KiB/{max}"),
        "bound_open",
    );
}

/// The v2 benchmark group's name (and criterion's directory for it).
const V2_GROUP: &str = "v2_rsa3072";

/// Where criterion writes its results: `$CRITERION_HOME`, else
/// `<target>/criterion` (the bench runs from `<target>/release/deps/`).
fn criterion_dir() -> Option<std::path::PathBuf> {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return Some(home.into());
    }
    if let Some(target) = std::env::var_os("CARGO_TARGET_DIR") {
        return Some(std::path::PathBuf::from(target).join("criterion"));
    }
    let exe = std::env::current_exe().ok()?;
    Some(exe.parent()?.parent()?.parent()?.join("criterion"))
}

/// Sent-message sync (docs/PROTOCOL.md §11.1): a 1 KiB text to bob sealed
/// v1, against the same text sealed v2 to bob and the sender's own account
/// (with `to`), as a device with other devices sends it; and the bound of
/// each, pss_sign plus one or two oaep_encrypt.
fn bench_sync(c: &mut Criterion) {
    let bits = KeyBits::B3072;
    let mut rng = ChaCha20Rng::from_seed([0x5c; 32]);
    let alice = Identity::generate("alice", bits, &mut rng).unwrap();
    let bob = Identity::generate("bob", bits, &mut rng).unwrap();
    let body = "x".repeat(1024);
    let plain = Payload::text(body.clone());
    let synced = Payload::Text {
        body,
        reply_to: None,
        to: Some("bob".into()),
    };
    let alice_sig =
        rsa::PrivateKey::from_pkcs8_der(alice.sig_private_pkcs8().expose_secret()).unwrap();
    let (msg, keys) = ([1u8; 300], [7u8; 64]);
    const TS: u64 = 1_764_000_000_123;
    let mut group = c.benchmark_group("sync_rsa3072");
    group.sample_size(30);
    group.bench_function("bound_v1: pss_sign+oaep_encrypt", |b| {
        b.iter(|| {
            primitives::pss_sign(&alice_sig, black_box(&msg), &mut rand::rng()).unwrap();
            primitives::oaep_encrypt(bob.card().enc_key(), black_box(&keys), &mut rand::rng())
                .unwrap();
        })
    });
    group.bench_function("seal_v1_to_bob", |b| {
        b.iter(|| seal(&alice, bob.card(), black_box(&plain), TS, &mut rand::rng()).unwrap())
    });
    group.bench_function("bound_sync: pss_sign+2*oaep_encrypt", |b| {
        b.iter(|| {
            primitives::pss_sign(&alice_sig, black_box(&msg), &mut rand::rng()).unwrap();
            for card in [bob.card(), alice.card()] {
                primitives::oaep_encrypt(card.enc_key(), black_box(&keys), &mut rand::rng())
                    .unwrap();
            }
        })
    });
    group.bench_function("seal_v2_to_bob_and_own_devices", |b| {
        let to = [bob.card(), alice.card()];
        b.iter(|| {
            let mut rng = rand::rng();
            let mut id = [0u8; 16];
            rand::Rng::fill_bytes(&mut rng, &mut id);
            seal_v2_as(&alice, &to, black_box(&synced), id, TS, &mut rng).unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, bench_v2, bench, bench_sync);
criterion_main!(benches);
