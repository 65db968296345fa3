//! Envelope v1 seal/open cost, against the bare RSA cost it cannot go below.
//!
//! `cargo bench -p chatd --bench envelope`
//!
//! Bounds, measured in the same run:
//! - open's bound: one blinded RSA-OAEP decrypt + one RSA-PSS verify;
//! - seal's bound: one RSA-PSS sign + one RSA-OAEP encrypt.
//!   The ratio envelope/bound shows what framing, AES, HMAC and JSON add.

use std::collections::HashMap;
use std::hint::black_box;

use chatd::crypto::primitives;
use chatd::crypto::{Card, Identity, KeyBits, Peers, open, seal};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
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

criterion_group!(benches, bench);
criterion_main!(benches);
