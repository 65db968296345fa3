//! Files in chunks (docs/PROTOCOL.md §15): a file is sealed with a fresh
//! key, 1 MiB of plaintext at a time, into a blob the relay stores. Each
//! chunk is AES-256-CBC with its own iv, and an HMAC-SHA256 tag over the
//! blob's id, the chunk's index, whether it is the last, the iv and the
//! ciphertext: chunks cannot be reordered, dropped, repeated, cut short or
//! moved to another blob. Both sides hold one chunk at a time, whatever the
//! file's size; the reader knows every chunk's length from the file's size.

use rand_core::CryptoRng;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::SecretBytes;
use super::primitives::{aes256_cbc_decrypt, aes256_cbc_encrypt, hmac_sha256, hmac_sha256_verify};

/// Plaintext bytes in every chunk but the last.
pub const CHUNK: usize = 1 << 20;
/// A file's key: 32 bytes of AES-256 key, then 32 of HMAC-SHA256 key.
pub const KEY_BYTES: usize = 64;
/// What a tag's message starts with.
const LABEL: &[u8] = b"chat-file-v1\0";
/// iv and tag around each chunk's ciphertext.
const IV: usize = 16;
const TAG: usize = 32;

/// Why a blob does not open, in the order found; `index` is the chunk's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileError {
    /// A chunk of another length than the file's size makes it: the blob
    /// was cut short, or has more than the file.
    #[error("bad_length: chunk {index} is {got} bytes, not {want}")]
    BadLength {
        /// The chunk.
        index: u64,
        /// Its length.
        got: usize,
        /// The length it must have.
        want: usize,
    },
    /// A chunk's tag does not match: changed, reordered, from another blob,
    /// or sealed with another key.
    #[error("bad_tag: chunk {index} does not verify")]
    BadTag {
        /// The chunk.
        index: u64,
    },
    /// More chunks than the file's size makes, or fewer.
    #[error("bad_count: the file has {want} chunks, not {got}")]
    BadCount {
        /// Chunks given.
        got: u64,
        /// Chunks the size makes.
        want: u64,
    },
    /// The whole plaintext's SHA-256 is not the one the message said.
    #[error("bad_digest: the file is not the one the message describes")]
    BadDigest,
    /// A chunk of plaintext of the wrong size given to the sealer.
    #[error("sealing: chunk {index} must be {want} bytes")]
    Sealing {
        /// The chunk.
        index: u64,
        /// The length it must have.
        want: usize,
    },
}

impl FileError {
    /// The error's name (docs/PROTOCOL.md §15.3).
    pub fn name(&self) -> &'static str {
        match self {
            FileError::BadLength { .. } => "bad_length",
            FileError::BadTag { .. } => "bad_tag",
            FileError::BadCount { .. } => "bad_count",
            FileError::BadDigest => "bad_digest",
            FileError::Sealing { .. } => "sealing",
        }
    }
}

/// How many chunks a file of `size` bytes has (an empty file has one).
pub fn chunks(size: u64) -> u64 {
    size.div_ceil(CHUNK as u64).max(1)
}

/// Plaintext bytes of chunk `index` of a file of `size` bytes.
pub fn plain_len(size: u64, index: u64) -> usize {
    let n = chunks(size);
    if index + 1 < n {
        CHUNK
    } else {
        (size - (n - 1) * CHUNK as u64) as usize
    }
}

/// Sealed bytes of a chunk of `plain` bytes: iv, the padded ciphertext, tag.
pub fn sealed_chunk_len(plain: usize) -> usize {
    IV + (plain / 16 + 1) * 16 + TAG
}

/// The blob's length for a file of `size` bytes.
pub fn sealed_len(size: u64) -> u64 {
    let n = chunks(size);
    let full = (n - 1) * sealed_chunk_len(CHUNK) as u64;
    full + sealed_chunk_len(plain_len(size, n - 1)) as u64
}

/// A file's key, kept out of logs and zeroed when dropped.
pub struct FileKey(Zeroizing<[u8; KEY_BYTES]>);

impl FileKey {
    /// A fresh key.
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> FileKey {
        let mut k = Zeroizing::new([0u8; KEY_BYTES]);
        rng.fill_bytes(&mut k[..]);
        FileKey(k)
    }

    /// A key from its bytes (a message's `key`); `None` unless 64 bytes.
    pub fn from_bytes(bytes: &[u8]) -> Option<FileKey> {
        let k: [u8; KEY_BYTES] = bytes.try_into().ok()?;
        Some(FileKey(Zeroizing::new(k)))
    }

    /// Its bytes, for the message that carries it.
    pub fn bytes(&self) -> &[u8; KEY_BYTES] {
        &self.0
    }

    fn enc(&self) -> &[u8; 32] {
        self.0[..32].try_into().expect("32 bytes")
    }

    fn mac(&self) -> &[u8] {
        &self.0[32..]
    }
}

/// The tag of chunk `index` of blob `id`.
fn tag(key: &FileKey, id: &[u8; 16], index: u64, last: bool, iv: &[u8], ct: &[u8]) -> [u8; 32] {
    hmac_sha256(
        key.mac(),
        &[LABEL, id, &index.to_be_bytes(), &[u8::from(last)], iv, ct],
    )
}

/// Seals a file one chunk at a time, in order.
pub struct Sealer {
    key: FileKey,
    id: [u8; 16],
    size: u64,
    index: u64,
    digest: Sha256,
}

impl Sealer {
    /// A sealer for blob `id` of a file of `size` bytes.
    pub fn new(key: FileKey, id: [u8; 16], size: u64) -> Sealer {
        Sealer {
            key,
            id,
            size,
            index: 0,
            digest: Sha256::new(),
        }
    }

    /// Plaintext bytes the next chunk must have; `None` after the last.
    pub fn next_len(&self) -> Option<usize> {
        (self.index < chunks(self.size)).then(|| plain_len(self.size, self.index))
    }

    /// Seals the next chunk (exactly [`Sealer::next_len`] bytes) with a
    /// fresh iv.
    pub fn seal_chunk<R: CryptoRng + ?Sized>(
        &mut self,
        plain: &[u8],
        rng: &mut R,
    ) -> Result<Vec<u8>, FileError> {
        let mut iv = [0u8; IV];
        rng.fill_bytes(&mut iv);
        self.seal_chunk_with_iv(plain, &iv)
    }

    /// [`Sealer::seal_chunk`] with a given iv (the vectors').
    pub fn seal_chunk_with_iv(
        &mut self,
        plain: &[u8],
        iv: &[u8; 16],
    ) -> Result<Vec<u8>, FileError> {
        let want = self.next_len().ok_or(FileError::Sealing {
            index: self.index,
            want: 0,
        })?;
        if plain.len() != want {
            return Err(FileError::Sealing {
                index: self.index,
                want,
            });
        }
        let last = self.index + 1 == chunks(self.size);
        let ct = aes256_cbc_encrypt(self.key.enc(), iv, plain);
        let t = tag(&self.key, &self.id, self.index, last, iv, &ct);
        let mut out = Vec::with_capacity(IV + ct.len() + TAG);
        out.extend_from_slice(iv);
        out.extend_from_slice(&ct);
        out.extend_from_slice(&t);
        self.digest.update(plain);
        self.index += 1;
        Ok(out)
    }

    /// After the last chunk: the plaintext's SHA-256, for the message.
    pub fn finish(self) -> Result<[u8; 32], FileError> {
        let want = chunks(self.size);
        if self.index != want {
            return Err(FileError::BadCount {
                got: self.index,
                want,
            });
        }
        Ok(self.digest.finalize().into())
    }
}

/// Opens a blob one chunk at a time, in order: each chunk's length and tag
/// are checked before it is decrypted.
pub struct Opener {
    key: FileKey,
    id: [u8; 16],
    size: u64,
    index: u64,
    digest: Sha256,
}

impl Opener {
    /// An opener for blob `id` of a file of `size` bytes.
    pub fn new(key: FileKey, id: [u8; 16], size: u64) -> Opener {
        Opener {
            key,
            id,
            size,
            index: 0,
            digest: Sha256::new(),
        }
    }

    /// Sealed bytes the next chunk has; `None` after the last.
    pub fn next_len(&self) -> Option<usize> {
        (self.index < chunks(self.size)).then(|| sealed_chunk_len(plain_len(self.size, self.index)))
    }

    /// Takes chunk `opened()` as already opened, from its plaintext kept
    /// by an earlier, interrupted download (only whole chunks are kept, and
    /// only once their tags verified): it counts toward the digest, which
    /// `finish` still checks. False when `plain` is not that chunk's length.
    pub fn resume_chunk(&mut self, plain: &[u8]) -> bool {
        if self.index >= chunks(self.size) || plain.len() != plain_len(self.size, self.index) {
            return false;
        }
        self.digest.update(plain);
        self.index += 1;
        true
    }

    /// How many chunks were opened.
    pub fn opened(&self) -> u64 {
        self.index
    }

    /// Opens the next chunk.
    pub fn open_chunk(&mut self, sealed: &[u8]) -> Result<SecretBytes, FileError> {
        let n = chunks(self.size);
        let Some(want) = self.next_len() else {
            return Err(FileError::BadCount {
                got: self.index + 1,
                want: n,
            });
        };
        if sealed.len() != want {
            return Err(FileError::BadLength {
                index: self.index,
                got: sealed.len(),
                want,
            });
        }
        let (iv, rest) = sealed.split_at(IV);
        let (ct, t) = rest.split_at(rest.len() - TAG);
        let last = self.index + 1 == n;
        let parts: [&[u8]; 6] = [
            LABEL,
            &self.id,
            &self.index.to_be_bytes(),
            &[u8::from(last)],
            iv,
            ct,
        ];
        if !hmac_sha256_verify(self.key.mac(), &parts, t) {
            return Err(FileError::BadTag { index: self.index });
        }
        let iv: &[u8; 16] = iv.try_into().expect("16 bytes");
        let plain = aes256_cbc_decrypt(self.key.enc(), iv, ct)
            .map_err(|_| FileError::BadTag { index: self.index })?;
        if plain.expose_secret().len() != plain_len(self.size, self.index) {
            return Err(FileError::BadTag { index: self.index });
        }
        self.digest.update(plain.expose_secret());
        self.index += 1;
        Ok(plain)
    }

    /// After the last chunk: every chunk opened, and the plaintext is the
    /// file the message described (`sha256`).
    pub fn finish(self, sha256: &[u8; 32]) -> Result<(), FileError> {
        let want = chunks(self.size);
        if self.index != want {
            return Err(FileError::BadCount {
                got: self.index,
                want,
            });
        }
        let got: [u8; 32] = self.digest.finalize().into();
        if bool::from(subtle::ConstantTimeEq::ct_eq(&got[..], &sha256[..])) {
            Ok(())
        } else {
            Err(FileError::BadDigest)
        }
    }
}

#[cfg(test)]
mod tests;
