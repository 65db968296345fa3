//! Envelope v2, one message to several recipients (docs/PROTOCOL.md §8): the
//! sealed form a sender hands to the relay, the delivered form each recipient
//! gets, the recipient tree that joins them, and the relay's split.
//!
//! As in [`crate::envelope`], only shape and sizes are checked here. The tree
//! hashes are layout, not secrets; signatures and keys are `chatd::crypto`'s.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::envelope::{
    MAX_ENVELOPE_JSON, ShapeError, bad, ciphertext, fixed, is_valid_message_id, is_valid_username,
    rsa_block,
};

/// The most recipients one v2 envelope may name.
pub const MAX_RECIPIENTS: usize = 1000;
/// Largest sealed v2 JSON text: the largest `ct` plus 1,000 entries with
/// 4096-bit keys (§8.2).
pub const MAX_SEALED_V2_JSON: usize = 7 * 1024 * 1024;
/// Largest delivered v2 JSON text: the v1 cap (§8.3).
pub const MAX_DELIVERED_V2_JSON: usize = MAX_ENVELOPE_JSON;
/// The most hashes a path has with at most [`MAX_RECIPIENTS`] leaves.
pub const MAX_PATH: usize = 10;

/// One recipient of a sealed envelope: who, and the key material wrapped to them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecipientEntry {
    /// Recipient's username.
    #[cfg_attr(feature = "openapi", schema(pattern = "^[a-z0-9][a-z0-9_.-]{2,31}$"))]
    pub user: String,
    /// RSA-OAEP of `enc_key || mac_key` to that user, base64 of 256, 384 or 512 bytes.
    #[cfg_attr(feature = "openapi", schema(min_length = 344, max_length = 684))]
    pub wk: String,
}

/// Sealed envelope v2, as a sender PUTs it (§8.2). Unknown fields are refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SealedV2 {
    /// Format version: 2.
    #[cfg_attr(feature = "openapi", schema(minimum = 2, maximum = 2))]
    pub v: u32,
    /// 32 lowercase hex digits, unique per sender.
    #[cfg_attr(feature = "openapi", schema(pattern = "^[0-9a-f]{32}$"))]
    pub id: String,
    /// Sender's username.
    #[cfg_attr(feature = "openapi", schema(pattern = "^[a-z0-9][a-z0-9_.-]{2,31}$"))]
    pub from: String,
    /// Sender's clock when sealing, milliseconds since the Unix epoch.
    pub ts: u64,
    /// 1 to 1,000 recipients in strictly increasing username order.
    #[cfg_attr(feature = "openapi", schema(min_items = 1, max_items = 1000))]
    pub to: Vec<RecipientEntry>,
    /// Key commitment, base64 of 32 bytes.
    #[cfg_attr(feature = "openapi", schema(min_length = 44, max_length = 44))]
    pub kc: String,
    /// AES-CBC IV, base64 of 16 bytes.
    #[cfg_attr(feature = "openapi", schema(min_length = 24, max_length = 24))]
    pub iv: String,
    /// AES-256-CBC ciphertext, base64 of a whole number of 16-byte blocks.
    #[cfg_attr(feature = "openapi", schema(min_length = 24))]
    pub ct: String,
    /// HMAC-SHA256 tag, base64 of 32 bytes.
    #[cfg_attr(feature = "openapi", schema(min_length = 44, max_length = 44))]
    pub tag: String,
    /// RSA-PSS signature, base64 of 256, 384 or 512 bytes.
    #[cfg_attr(feature = "openapi", schema(min_length = 344, max_length = 684))]
    pub sig: String,
}

/// A recipient's own entry in a delivered envelope, with its proof.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeliveredEntry {
    /// This recipient's username.
    pub user: String,
    /// Key material wrapped to this recipient (base64).
    pub wk: String,
    /// Index of the entry in the sealed `to` list.
    pub i: u32,
    /// Neighbour hashes from the leaf up (base64 of 32 bytes each).
    pub path: Vec<String>,
}

/// Delivered envelope v2, as the relay hands it to one recipient (§8.3).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeliveredV2 {
    /// Format version: 2.
    pub v: u32,
    /// Message id.
    pub id: String,
    /// Sender.
    pub from: String,
    /// Sender timestamp (ms).
    pub ts: u64,
    /// Number of recipients in the sealed form.
    pub n: u32,
    /// This recipient's entry.
    pub to: DeliveredEntry,
    /// Key commitment (base64).
    pub kc: String,
    /// IV (base64).
    pub iv: String,
    /// Ciphertext (base64).
    pub ct: String,
    /// MAC tag (base64).
    pub tag: String,
    /// Signature (base64).
    pub sig: String,
}

/// The members every recipient shares, decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckedCommon {
    /// Message id.
    pub id: String,
    /// Sender.
    pub from: String,
    /// Sender timestamp (ms).
    pub ts: u64,
    /// Key commitment.
    pub kc: [u8; 32],
    /// IV.
    pub iv: [u8; 16],
    /// Ciphertext.
    pub ct: Vec<u8>,
    /// MAC tag.
    pub tag: [u8; 32],
    /// Signature.
    pub sig: Vec<u8>,
}

/// A sealed v2 envelope that passed the shape checks of §8.2.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckedSealedV2 {
    /// The shared members.
    pub common: CheckedCommon,
    /// Recipients with their raw wrapped keys, in strictly increasing order.
    pub to: Vec<(String, Vec<u8>)>,
}

/// A delivered v2 envelope that passed the shape checks of §8.3.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckedDeliveredV2 {
    /// The shared members.
    pub common: CheckedCommon,
    /// Number of recipients.
    pub n: u32,
    /// This recipient.
    pub user: String,
    /// Raw wrapped key.
    pub wk: Vec<u8>,
    /// Index in the sealed list.
    pub i: u32,
    /// Neighbour hashes, leaf up.
    pub path: Vec<[u8; 32]>,
}

#[allow(clippy::too_many_arguments)]
fn check_common(
    id: &str,
    from: &str,
    ts: u64,
    kc: &str,
    iv: &str,
    ct: &str,
    tag: &str,
    sig: &str,
) -> Result<CheckedCommon, ShapeError> {
    if !is_valid_message_id(id) {
        return Err(bad("id", "not 32 lowercase hex digits"));
    }
    if !is_valid_username(from) {
        return Err(bad("from", "not a valid username"));
    }
    Ok(CheckedCommon {
        id: id.to_owned(),
        from: from.to_owned(),
        ts,
        kc: fixed::<32>("kc", kc)?,
        iv: fixed::<16>("iv", iv)?,
        ct: ciphertext(ct)?,
        tag: fixed::<32>("tag", tag)?,
        sig: rsa_block("sig", sig)?,
    })
}

fn recipient_count(n: usize) -> Result<u32, ShapeError> {
    if n == 0 || n > MAX_RECIPIENTS {
        return Err(bad("to", "not 1 to 1,000 recipients"));
    }
    Ok(n as u32)
}

impl SealedV2 {
    /// Parses sealed v2 JSON strictly: the 7 MiB cap first, then §8.2.
    pub fn parse(json: &[u8]) -> Result<CheckedSealedV2, ShapeError> {
        if json.len() > MAX_SEALED_V2_JSON {
            return Err(ShapeError::TooLarge(json.len()));
        }
        let env: SealedV2 =
            serde_json::from_slice(json).map_err(|e| ShapeError::Json(e.to_string()))?;
        env.check()
    }

    /// Checks every member's form and size and decodes the binary ones.
    pub fn check(&self) -> Result<CheckedSealedV2, ShapeError> {
        if self.v != 2 {
            return Err(ShapeError::Version(self.v));
        }
        let common = check_common(
            &self.id, &self.from, self.ts, &self.kc, &self.iv, &self.ct, &self.tag, &self.sig,
        )?;
        recipient_count(self.to.len())?;
        let mut to = Vec::with_capacity(self.to.len());
        for entry in &self.to {
            if !is_valid_username(&entry.user) {
                return Err(bad("to", "a recipient is not a valid username"));
            }
            if let Some((last, _)) = to.last()
                && entry.user.as_str() <= String::as_str(last)
            {
                return Err(bad("to", "recipients not in strictly increasing order"));
            }
            to.push((entry.user.clone(), rsa_block("wk", &entry.wk)?));
        }
        Ok(CheckedSealedV2 { common, to })
    }

    /// Each recipient's delivered entry (§8.4), in `to` order. The caller has
    /// checked the envelope ([`SealedV2::check`]).
    pub fn entries(checked: &CheckedSealedV2) -> Vec<DeliveredEntry> {
        let leaves: Vec<[u8; 32]> = checked.to.iter().map(|(u, wk)| tree::leaf(u, wk)).collect();
        let paths = tree::all_paths(&leaves);
        delivered_entries(&checked.to, paths)
    }

    /// The delivered form of `entry` (§8.4).
    pub fn deliver(&self, entry: DeliveredEntry) -> DeliveredV2 {
        DeliveredV2 {
            v: 2,
            id: self.id.clone(),
            from: self.from.clone(),
            ts: self.ts,
            n: self.to.len() as u32,
            to: entry,
            kc: self.kc.clone(),
            iv: self.iv.clone(),
            ct: self.ct.clone(),
            tag: self.tag.clone(),
            sig: self.sig.clone(),
        }
    }

    /// Splits into every recipient's delivered form, after checking the shape.
    /// Each copies the ciphertext: for tests and small envelopes; the relay
    /// stores the common part once instead.
    pub fn split(&self) -> Result<Vec<DeliveredV2>, ShapeError> {
        let checked = self.check()?;
        Ok(Self::entries(&checked)
            .into_iter()
            .map(|e| self.deliver(e))
            .collect())
    }
}

fn delivered_entries(to: &[(String, Vec<u8>)], paths: Vec<Vec<[u8; 32]>>) -> Vec<DeliveredEntry> {
    to.iter()
        .zip(paths)
        .enumerate()
        .map(|(i, ((user, wk), path))| DeliveredEntry {
            user: user.clone(),
            wk: B64.encode(wk),
            i: i as u32,
            path: path.iter().map(|h| B64.encode(h)).collect(),
        })
        .collect()
}

impl DeliveredV2 {
    /// Parses delivered v2 JSON strictly: the 6 MiB cap first, then §8.3.
    pub fn parse(json: &[u8]) -> Result<CheckedDeliveredV2, ShapeError> {
        if json.len() > MAX_DELIVERED_V2_JSON {
            return Err(ShapeError::TooLarge(json.len()));
        }
        let env: DeliveredV2 =
            serde_json::from_slice(json).map_err(|e| ShapeError::Json(e.to_string()))?;
        env.check()
    }

    /// Checks every member's form and size and decodes the binary ones.
    pub fn check(&self) -> Result<CheckedDeliveredV2, ShapeError> {
        if self.v != 2 {
            return Err(ShapeError::Version(self.v));
        }
        let common = check_common(
            &self.id, &self.from, self.ts, &self.kc, &self.iv, &self.ct, &self.tag, &self.sig,
        )?;
        let n = recipient_count(self.n as usize)?;
        if !is_valid_username(&self.to.user) {
            return Err(bad("to", "the recipient is not a valid username"));
        }
        if self.to.i >= n {
            return Err(bad("to", "index not below n"));
        }
        if self.to.path.len() != tree::path_len(self.to.i as usize, n as usize) {
            return Err(bad("to", "path of the wrong length for its index"));
        }
        let path = self
            .to
            .path
            .iter()
            .map(|h| fixed::<32>("path", h))
            .collect::<Result<_, _>>()?;
        Ok(CheckedDeliveredV2 {
            common,
            n,
            user: self.to.user.clone(),
            wk: rsa_block("wk", &self.to.wk)?,
            i: self.to.i,
            path,
        })
    }
}

impl CheckedDeliveredV2 {
    /// The tree root this envelope's entry and path lead to (§8.1).
    pub fn root(&self) -> [u8; 32] {
        tree::root_from_path(
            tree::leaf(&self.user, &self.wk),
            self.i as usize,
            self.n as usize,
            &self.path,
        )
        .expect("the path length was checked against i and n")
    }
}

/// The recipient tree of §8.1.
pub mod tree {
    use super::{Digest, Sha256};

    /// `SHA-256(0x00 || lp(user) || lp(wk))`.
    pub fn leaf(user: &str, wk: &[u8]) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update([0u8]);
        for part in [user.as_bytes(), wk] {
            h.update((part.len() as u32).to_be_bytes());
            h.update(part);
        }
        h.finalize().into()
    }

    /// `SHA-256(0x01 || l || r)`.
    pub fn node(l: &[u8; 32], r: &[u8; 32]) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update([1u8]);
        h.update(l);
        h.update(r);
        h.finalize().into()
    }

    fn up(level: &[[u8; 32]]) -> Vec<[u8; 32]> {
        level
            .chunks(2)
            .map(|pair| match pair {
                [l, r] => node(l, r),
                [odd] => *odd,
                _ => unreachable!("chunks of at most two"),
            })
            .collect()
    }

    /// The root over `leaves` (at least one).
    pub fn root(leaves: &[[u8; 32]]) -> [u8; 32] {
        assert!(!leaves.is_empty(), "a tree has at least one leaf");
        let mut level = leaves.to_vec();
        while level.len() > 1 {
            level = up(&level);
        }
        level[0]
    }

    /// How many hashes the path of index `i` among `n` leaves has.
    pub fn path_len(i: usize, n: usize) -> usize {
        let (mut j, mut m, mut len) = (i, n, 0);
        while m > 1 {
            if j % 2 == 1 || j + 1 < m {
                len += 1;
            }
            j /= 2;
            m = m.div_ceil(2);
        }
        len
    }

    /// Every leaf's path, building the tree once (n log n hashes, not n²).
    pub fn all_paths(leaves: &[[u8; 32]]) -> Vec<Vec<[u8; 32]>> {
        let mut paths = vec![Vec::new(); leaves.len()];
        let mut level = leaves.to_vec();
        let mut index: Vec<usize> = (0..leaves.len()).collect();
        while level.len() > 1 {
            for (leaf, j) in index.iter_mut().enumerate() {
                let sibling = if *j % 2 == 1 {
                    Some(*j - 1)
                } else {
                    Some(*j + 1)
                };
                if let Some(s) = sibling.filter(|s| *s < level.len()) {
                    paths[leaf].push(level[s]);
                }
                *j /= 2;
            }
            level = up(&level);
        }
        paths
    }

    /// The root that `leaf` at index `i` of `n` with `path` leads to, or
    /// `None` when the path has the wrong number of hashes.
    pub fn root_from_path(
        leaf: [u8; 32],
        i: usize,
        n: usize,
        path: &[[u8; 32]],
    ) -> Option<[u8; 32]> {
        if i >= n {
            return None;
        }
        let (mut j, mut m, mut h) = (i, n, leaf);
        let mut rest = path.iter();
        while m > 1 {
            if j % 2 == 1 {
                h = node(rest.next()?, &h);
            } else if j + 1 < m {
                h = node(&h, rest.next()?);
            }
            j /= 2;
            m = m.div_ceil(2);
        }
        rest.next().is_none().then_some(h)
    }
}

/// An envelope as a recipient receives it: either version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Incoming {
    /// Envelope v1, to one recipient.
    V1(crate::CheckedEnvelope),
    /// Envelope v2, this recipient's delivered form.
    V2(CheckedDeliveredV2),
}

impl Incoming {
    /// Parses a received envelope of either version strictly. The members
    /// decide the version: v1's members with another `v` and v2's with another
    /// `v` are both [`ShapeError::Version`]; anything else is malformed.
    pub fn parse(json: &[u8]) -> Result<Incoming, ShapeError> {
        match crate::Envelope::parse(json) {
            Ok(v1) => Ok(Incoming::V1(v1)),
            Err(ShapeError::Json(first)) => match DeliveredV2::parse(json) {
                Ok(v2) => Ok(Incoming::V2(v2)),
                Err(ShapeError::Json(_)) => Err(ShapeError::Json(first)),
                Err(other) => Err(other),
            },
            Err(other) => Err(other),
        }
    }

    /// The sender.
    pub fn from(&self) -> &str {
        match self {
            Incoming::V1(e) => &e.from,
            Incoming::V2(e) => &e.common.from,
        }
    }

    /// The message id.
    pub fn id(&self) -> &str {
        match self {
            Incoming::V1(e) => &e.id,
            Incoming::V2(e) => &e.common.id,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::tree::*;

    fn leaves(n: usize) -> Vec<[u8; 32]> {
        (0..n)
            .map(|i| leaf(&format!("user{i:03}"), &[i as u8; 256]))
            .collect()
    }

    #[test]
    fn every_path_leads_to_the_root_and_no_other_index_does() {
        for n in [1, 2, 3, 4, 5, 7, 8, 9, 31, 100, 1000] {
            let ls = leaves(n);
            let root = root(&ls);
            let paths = all_paths(&ls);
            for (i, path) in paths.iter().enumerate() {
                assert_eq!(path.len(), path_len(i, n), "n={n} i={i}");
                assert!(path.len() <= super::MAX_PATH);
                assert_eq!(root_from_path(ls[i], i, n, path), Some(root), "n={n} i={i}");
                if n > 1 {
                    let other = (i + 1) % n;
                    assert_ne!(root_from_path(ls[other], i, n, path), Some(root));
                }
            }
        }
    }

    #[test]
    fn small_trees_have_the_documented_shape() {
        let ls = leaves(3);
        assert_eq!(root(&ls[..1]), ls[0]);
        assert_eq!(root(&ls), node(&node(&ls[0], &ls[1]), &ls[2]));
        assert_eq!(all_paths(&ls)[2], vec![node(&ls[0], &ls[1])]);
        assert_eq!(root_from_path(ls[2], 2, 3, &[]), None, "too short");
        assert_eq!(root_from_path(ls[0], 3, 3, &[]), None, "index out of range");
    }
}
