//! Secret byte buffers.

use std::fmt;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// Bytes that must not leak: no `Serialize`, a redacted `Debug`, zeroized on drop.
/// The contents are reachable only through [`SecretBytes::expose_secret`].
#[derive(Clone, Zeroize, ZeroizeOnDrop, PartialEq, Eq)]
pub struct SecretBytes(Box<[u8]>);

impl SecretBytes {
    /// Takes ownership of `bytes`.
    pub fn new(bytes: Vec<u8>) -> Self {
        SecretBytes(bytes.into_boxed_slice())
    }

    /// The secret bytes themselves; the name makes every use easy to audit.
    pub fn expose_secret(&self) -> &[u8] {
        &self.0
    }

    /// Number of bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when there are no bytes.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<Vec<u8>> for SecretBytes {
    fn from(bytes: Vec<u8>) -> Self {
        SecretBytes::new(bytes)
    }
}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretBytes([redacted; {} bytes])", self.0.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_bytes() {
        let s = SecretBytes::new(b"hunter2".to_vec());
        let shown = format!("{s:?}");
        assert_eq!(shown, "SecretBytes([redacted; 7 bytes])");
        assert!(!shown.contains("hunter2"));
    }

    #[test]
    fn zeroize_clears_the_bytes() {
        let mut s = SecretBytes::new(vec![7; 32]);
        s.zeroize();
        assert!(s.expose_secret().iter().all(|&b| b == 0));
    }
}
