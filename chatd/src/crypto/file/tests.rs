//! Files in chunks: sizes at every boundary round-trip, and every way of
//! changing a blob is refused by name.

use rand_core::SeedableRng;

use super::*;

const ID: [u8; 16] = [7; 16];

fn rng() -> rand_chacha::ChaCha20Rng {
    rand_chacha::ChaCha20Rng::from_seed([3; 32])
}

fn key() -> FileKey {
    FileKey::from_bytes(&[9u8; KEY_BYTES]).unwrap()
}

fn file(size: usize) -> Vec<u8> {
    (0..size).map(|i| (i * 31 % 251) as u8).collect()
}

/// The file sealed: its chunks, and the plaintext's digest.
fn seal(plain: &[u8]) -> (Vec<Vec<u8>>, [u8; 32]) {
    let mut s = Sealer::new(key(), ID, plain.len() as u64);
    let mut chunks_out = Vec::new();
    let mut at = 0;
    while let Some(n) = s.next_len() {
        chunks_out.push(s.seal_chunk(&plain[at..at + n], &mut rng()).unwrap());
        at += n;
    }
    (chunks_out, s.finish().unwrap())
}

fn open(size: usize, chunks_in: &[Vec<u8>], digest: &[u8; 32]) -> Result<Vec<u8>, FileError> {
    let mut o = Opener::new(key(), ID, size as u64);
    let mut out = Vec::new();
    for c in chunks_in {
        out.extend_from_slice(o.open_chunk(c)?.expose_secret());
    }
    o.finish(digest)?;
    Ok(out)
}

#[test]
fn every_size_round_trips_and_the_blob_length_follows_from_the_size() {
    for size in [
        0,
        1,
        15,
        16,
        17,
        CHUNK - 1,
        CHUNK,
        CHUNK + 1,
        2 * CHUNK + 17,
    ] {
        let plain = file(size);
        let (sealed, digest) = seal(&plain);
        assert_eq!(sealed.len() as u64, chunks(size as u64), "{size}");
        let blob: usize = sealed.iter().map(Vec::len).sum();
        assert_eq!(blob as u64, sealed_len(size as u64), "{size}");
        assert_eq!(open(size, &sealed, &digest).unwrap(), plain, "{size}");
        assert_eq!(digest, <[u8; 32]>::from(Sha256::digest(&plain)));
    }
    // A full chunk: 16 + 1,048,592 + 32.
    assert_eq!(sealed_chunk_len(CHUNK), 1_048_640);
    assert_eq!(sealed_len(0), 64);
}

#[test]
fn reordered_dropped_cut_moved_or_changed_chunks_are_refused() {
    let size = 2 * CHUNK + 100;
    let plain = file(size);
    let (sealed, digest) = seal(&plain);
    // Reordered: chunk 1 where 0 goes (same length, other index).
    let swapped = vec![sealed[1].clone(), sealed[0].clone(), sealed[2].clone()];
    assert_eq!(
        open(size, &swapped, &digest),
        Err(FileError::BadTag { index: 0 })
    );
    // The last one dropped.
    assert_eq!(
        open(size, &sealed[..2], &digest),
        Err(FileError::BadCount { got: 2, want: 3 })
    );
    // Cut short at a chunk boundary, with the size lied about: chunk 1 is
    // not marked last.
    let two = 2 * CHUNK;
    assert_eq!(
        open(two, &sealed[..2], &digest),
        Err(FileError::BadTag { index: 1 })
    );
    // The last chunk cut short.
    let mut cut = sealed.clone();
    let shorter = cut[2].len() - 1;
    cut[2].truncate(shorter);
    assert!(matches!(
        open(size, &cut, &digest),
        Err(FileError::BadLength { index: 2, .. })
    ));
    // One more chunk than the size makes.
    let mut more = sealed.clone();
    more.push(sealed[2].clone());
    assert_eq!(
        open(size, &more, &digest),
        Err(FileError::BadCount { got: 4, want: 3 })
    );
    // A bit flipped in a ciphertext, an iv, a tag.
    let end = sealed[1].len() - 1;
    for at in [0, 20, end] {
        let mut bent = sealed.clone();
        bent[1][at] ^= 1;
        assert_eq!(
            open(size, &bent, &digest),
            Err(FileError::BadTag { index: 1 })
        );
    }
    // Moved to another blob id, or opened with another key.
    let mut o = Opener::new(key(), [8; 16], size as u64);
    assert_eq!(
        o.open_chunk(&sealed[0]),
        Err(FileError::BadTag { index: 0 })
    );
    let other = FileKey::from_bytes(&[1u8; KEY_BYTES]).unwrap();
    let mut o = Opener::new(other, ID, size as u64);
    assert_eq!(
        o.open_chunk(&sealed[0]),
        Err(FileError::BadTag { index: 0 })
    );
    // Every chunk right, but not the file the message described.
    let mut wrong = digest;
    wrong[0] ^= 1;
    assert_eq!(open(size, &sealed, &wrong), Err(FileError::BadDigest));
}

#[test]
fn the_sealer_takes_exactly_the_chunks_the_size_makes() {
    let mut s = Sealer::new(key(), ID, CHUNK as u64 + 1);
    assert_eq!(
        s.seal_chunk(&[0u8; 10], &mut rng()),
        Err(FileError::Sealing {
            index: 0,
            want: CHUNK
        })
    );
    s.seal_chunk(&vec![0u8; CHUNK], &mut rng()).unwrap();
    assert_eq!(s.next_len(), Some(1));
    s.seal_chunk(&[1], &mut rng()).unwrap();
    assert_eq!(s.next_len(), None);
    assert!(s.seal_chunk(&[], &mut rng()).is_err());
    assert!(s.finish().is_ok());
    let early = Sealer::new(key(), ID, 10);
    assert_eq!(early.finish(), Err(FileError::BadCount { got: 0, want: 1 }));
}
