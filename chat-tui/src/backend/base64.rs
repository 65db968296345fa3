//! Standard base64 (RFC 4648 §4, with padding), the way `file.read` hands
//! over a file's bytes and `file.upload_chunk` takes them. Decoding is
//! strict: the alphabet, whole groups of four, padding only at the end, and
//! no stray bits under it.

/// Why a text is not standard base64.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NotBase64;

impl std::fmt::Display for NotBase64 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("not standard base64")
    }
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// The 6 bits a character of the alphabet stands for.
fn value(c: u8) -> Result<u32, NotBase64> {
    let v = match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => return Err(NotBase64),
    };
    Ok(u32::from(v))
}

/// The bytes `text` encodes.
pub fn decode(text: &str) -> Result<Vec<u8>, NotBase64> {
    let bytes = text.as_bytes();
    if !bytes.len().is_multiple_of(4) {
        return Err(NotBase64);
    }
    let groups = bytes.len() / 4;
    let mut out = Vec::with_capacity(groups * 3);
    for (n, group) in bytes.chunks_exact(4).enumerate() {
        let pad = group.iter().rev().take_while(|&&c| c == b'=').count();
        if pad > 2 || (pad > 0 && n + 1 != groups) {
            return Err(NotBase64);
        }
        let mut bits = 0u32;
        for &c in &group[..4 - pad] {
            bits = bits << 6 | value(c)?;
        }
        bits <<= 6 * pad;
        // What the padding cuts off must be zero: one text per byte string.
        if bits & ((1 << (8 * pad)) - 1) != 0 {
            return Err(NotBase64);
        }
        out.extend_from_slice(&bits.to_be_bytes()[1..4 - pad]);
    }
    Ok(out)
}

/// `bytes` as standard base64.
pub fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let mut three = [0u8; 4];
        three[1..=chunk.len()].copy_from_slice(chunk);
        let bits = u32::from_be_bytes(three);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(bits >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rfc_4648_vectors_go_both_ways() {
        for (plain, coded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(encode(plain.as_bytes()), coded);
            assert_eq!(decode(coded).unwrap(), plain.as_bytes(), "{coded}");
        }
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(decode(&encode(&all)).unwrap(), all);
    }

    #[test]
    fn anything_else_is_refused() {
        for bad in [
            "Zg", "Zg=", "Zg===", "Z===", "Zg==Zg==", "Zm9v\n", "Zm-v", "Zm_v", "Zh==", "Zm9=",
            "=Zm9", "Zm=v",
        ] {
            assert_eq!(decode(bad), Err(NotBase64), "{bad:?}");
        }
    }
}
