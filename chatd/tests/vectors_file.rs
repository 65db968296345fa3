//! Frozen vectors of files in chunks (docs/PROTOCOL.md §15),
//! `vectors/file.json`. tests/interop/check_vectors.py checks the same file
//! from an independent Python reading of §15.
//!
//! A vector gives the key, the blob id, the file's size and SHA-256, and the
//! ivs; the file's bytes are `i * 31 mod 251` for byte `i` (so a 2 MiB file
//! needs no 2 MiB of JSON); chunk `i`'s iv is the first 16 bytes of
//! SHA-256("chat-file-vector-iv" || u64be(i)). Small files carry the whole
//! blob (`blob`, b64); every vector carries the blob's SHA-256 and each
//! chunk's tag. Invalid vectors are changes made to a valid one's blob,
//! each with the error §15.3 names.
//!
//! Regenerate (only on purpose, a format change):
//! `CHAT_REGEN_VECTORS=1 cargo test -p chatd --test vectors_file -- --ignored`

use std::path::PathBuf;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use chatd::crypto::file::{CHUNK, FileError, FileKey, KEY_BYTES, Opener, Sealer};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

fn path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/file.json")
}

fn plain(size: usize) -> Vec<u8> {
    (0..size).map(|i| (i * 31 % 251) as u8).collect()
}

fn iv(i: u64) -> [u8; 16] {
    let h = Sha256::new()
        .chain_update(b"chat-file-vector-iv")
        .chain_update(i.to_be_bytes())
        .finalize();
    h[..16].try_into().unwrap()
}

fn key_bytes(seed: u8) -> Vec<u8> {
    (0..KEY_BYTES as u8)
        .map(|b| b.wrapping_mul(7).wrapping_add(seed))
        .collect()
}

/// The blob's chunks for a file of `size` bytes.
fn seal(key: &[u8], id: [u8; 16], size: usize) -> Vec<Vec<u8>> {
    let data = plain(size);
    let mut s = Sealer::new(FileKey::from_bytes(key).unwrap(), id, size as u64);
    let mut out = Vec::new();
    let mut at = 0;
    let mut i = 0;
    while let Some(n) = s.next_len() {
        out.push(s.seal_chunk_with_iv(&data[at..at + n], &iv(i)).unwrap());
        at += n;
        i += 1;
    }
    out
}

/// Opens `chunks` as a file of `size` bytes; the error's name, if any.
fn open(
    key: &[u8],
    id: [u8; 16],
    size: usize,
    chunks: &[Vec<u8>],
    sha: &[u8; 32],
) -> Result<(), String> {
    let mut o = Opener::new(FileKey::from_bytes(key).unwrap(), id, size as u64);
    for c in chunks {
        o.open_chunk(c)
            .map_err(|e: FileError| e.name().to_owned())?;
    }
    o.finish(sha).map_err(|e| e.name().to_owned())
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn build() -> Value {
    let mut valid = Vec::new();
    for (name, seed, size) in [
        ("empty file", 1u8, 0usize),
        ("one byte", 2, 1),
        ("one block exactly", 3, 16),
        ("a small text", 4, 1000),
        ("one full chunk and one byte", 5, CHUNK + 1),
        ("two full chunks and a part", 6, 2 * CHUNK + 1000),
    ] {
        let key = key_bytes(seed);
        let id = [seed; 16];
        let chunks = seal(&key, id, size);
        let blob: Vec<u8> = chunks.concat();
        let tags: Vec<String> = chunks.iter().map(|c| hex(&c[c.len() - 32..])).collect();
        let mut v = json!({
            "name": name, "key": B64.encode(&key), "id": hex(&id), "size": size,
            "sha256": hex(&Sha256::digest(plain(size))),
            "blob_length": blob.len(), "blob_sha256": hex(&Sha256::digest(&blob)), "tags": tags,
        });
        if blob.len() <= 4096 {
            v["blob"] = B64.encode(&blob).into();
        }
        valid.push(v);
    }
    // Changes to "two full chunks and a part" (seed 6), each opened as that
    // file unless said.
    let key = key_bytes(6);
    let id = [6u8; 16];
    let size = 2 * CHUNK + 1000;
    let sha: [u8; 32] = Sha256::digest(plain(size)).into();
    let base = seal(&key, id, size);
    let mut invalid = Vec::new();
    let mut add = |name: &str,
                   change: Value,
                   chunks: Vec<Vec<u8>>,
                   size: usize,
                   sha: [u8; 32],
                   id: [u8; 16]| {
        let error = open(&key, id, size, &chunks, &sha).expect_err(name);
        invalid.push(json!({"name": name, "of": "two full chunks and a part", "change": change, "error": error}));
    };
    add(
        "chunks 0 and 1 swapped",
        json!({"swap": [0, 1]}),
        vec![base[1].clone(), base[0].clone(), base[2].clone()],
        size,
        sha,
        id,
    );
    add(
        "the last chunk dropped",
        json!({"keep": 2}),
        base[..2].to_vec(),
        size,
        sha,
        id,
    );
    add(
        "cut at a chunk boundary, read as a file of 2 MiB",
        json!({"keep": 2, "size": 2 * CHUNK}),
        base[..2].to_vec(),
        2 * CHUNK,
        sha,
        id,
    );
    let mut cut = base.clone();
    let n = cut[2].len() - 1;
    cut[2].truncate(n);
    add(
        "the last byte cut",
        json!({"truncate_last_by": 1}),
        cut,
        size,
        sha,
        id,
    );
    let mut more = base.clone();
    more.push(base[2].clone());
    add(
        "the last chunk twice",
        json!({"repeat_last": true}),
        more,
        size,
        sha,
        id,
    );
    for (name, at) in [
        ("a bit of chunk 1's iv", 3usize),
        ("a bit of chunk 1's ciphertext", 5000),
        ("a bit of chunk 1's tag", base[1].len() - 2),
    ] {
        let mut bent = base.clone();
        bent[1][at] ^= 0x10;
        add(
            name,
            json!({"flip": {"chunk": 1, "byte": at, "mask": 16}}),
            bent,
            size,
            sha,
            id,
        );
    }
    add(
        "opened as another blob id",
        json!({"id": hex(&[7u8; 16])}),
        base.clone(),
        size,
        sha,
        [7u8; 16],
    );
    let mut other = sha;
    other[31] ^= 1;
    add(
        "the message's SHA-256 differs",
        json!({"sha256": hex(&other)}),
        base,
        size,
        other,
        id,
    );
    json!({"version": 1, "chunk": CHUNK, "valid": valid, "invalid": invalid})
}

#[test]
fn the_frozen_vectors_are_what_chatd_seals_and_opens() {
    let text = std::fs::read_to_string(path()).expect("file.json is committed");
    let file: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        file,
        build(),
        "the format changed: regenerate on purpose only"
    );
    // And the small blobs open back to their files.
    for v in file["valid"].as_array().unwrap() {
        let Some(blob) = v["blob"].as_str() else {
            continue;
        };
        let blob = B64.decode(blob).unwrap();
        let size = v["size"].as_u64().unwrap() as usize;
        let key = B64.decode(v["key"].as_str().unwrap()).unwrap();
        let mut o = Opener::new(FileKey::from_bytes(&key).unwrap(), blob_id(v), size as u64);
        let mut at = 0;
        let mut out = Vec::new();
        while let Some(n) = o.next_len() {
            out.extend_from_slice(o.open_chunk(&blob[at..at + n]).unwrap().expose_secret());
            at += n;
        }
        assert_eq!(out, plain(size), "{}", v["name"]);
    }
}

fn blob_id(v: &Value) -> [u8; 16] {
    let h = v["id"].as_str().unwrap();
    let mut id = [0u8; 16];
    for (i, b) in id.iter_mut().enumerate() {
        *b = u8::from_str_radix(&h[2 * i..2 * i + 2], 16).unwrap();
    }
    id
}

#[test]
#[ignore = "writes vectors/file.json"]
fn regenerate() {
    if std::env::var_os("CHAT_REGEN_VECTORS").is_none() {
        return;
    }
    std::fs::write(
        path(),
        serde_json::to_string_pretty(&build()).unwrap() + "\n",
    )
    .unwrap();
}
