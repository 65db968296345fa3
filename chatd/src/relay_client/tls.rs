//! How chatd checks the relay's certificate, and what it says when the
//! check fails (docs/SECURITY.md §2.1, docs/IPC.md `relay_tls`).
//!
//! - By default: the system's roots (rustls' platform verifier).
//! - With an extra CA (PEM) for this account: the system's roots and it.
//! - With a pin: only a certificate whose SubjectPublicKeyInfo has the
//!   pinned SHA-256 is accepted, and only its validity dates are checked
//!   (not its issuer, not its names), so a renewal with the same key keeps
//!   working. The handshake signatures are verified with that key.

use std::sync::Arc;

use der::asn1::{AnyRef, GeneralizedTime, UtcTime};
use der::{Decode, Encode, Reader, SliceReader, Tag, Tagged};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};
use sha2::{Digest, Sha256};

/// Why the relay's certificate was refused; `relay_tls`'s `data.reason`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsReason {
    /// Its validity ended (or has not started: this machine's clock?).
    Expired,
    /// It is not for the host in the relay URL.
    WrongHost,
    /// No trusted CA signed it.
    UnknownCa,
    /// Its key does not have the pinned SHA-256.
    PinMismatch,
    /// Anything else TLS refused.
    Other,
}

impl TlsReason {
    /// The name in `relay_tls`'s data.
    pub fn as_str(self) -> &'static str {
        match self {
            TlsReason::Expired => "expired",
            TlsReason::WrongHost => "wrong_host",
            TlsReason::UnknownCa => "unknown_ca",
            TlsReason::PinMismatch => "pin_mismatch",
            TlsReason::Other => "other",
        }
    }
}

/// The pinned key did not match; carried inside rustls' error.
#[derive(Debug)]
struct PinMismatch {
    found: String,
}

impl std::fmt::Display for PinMismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the relay's key has SHA-256 {}", self.found)
    }
}

impl std::error::Error for PinMismatch {}

/// Parses a pin as people give it: 64 hex digits, any case and spacing.
pub fn parse_pin(text: &str) -> Option<[u8; 32]> {
    ipc_schema::fingerprint::parse(text)
}

/// The SubjectPublicKeyInfo (DER) and validity (Unix seconds) of an X.509
/// certificate.
pub struct CertFacts {
    /// The SubjectPublicKeyInfo, DER.
    pub spki: Vec<u8>,
    /// Not valid before.
    pub not_before: u64,
    /// Not valid after.
    pub not_after: u64,
}

fn time_of(any: AnyRef<'_>) -> Option<u64> {
    let d = match any.tag() {
        Tag::UtcTime => UtcTime::try_from(any).ok()?.to_unix_duration(),
        Tag::GeneralizedTime => GeneralizedTime::try_from(any).ok()?.to_unix_duration(),
        _ => return None,
    };
    Some(d.as_secs())
}

/// Reads what a pin check needs from a DER certificate: walks
/// `Certificate → tbsCertificate → [version], serial, signature, issuer,
/// validity, subject, subjectPublicKeyInfo` (RFC 5280 §4.1).
pub fn cert_facts(der: &[u8]) -> Option<CertFacts> {
    let cert = AnyRef::from_der(der).ok()?;
    let mut outer = SliceReader::new(cert.value()).ok()?;
    let tbs: AnyRef<'_> = outer.decode().ok()?;
    let mut fields = SliceReader::new(tbs.value()).ok()?;
    let mut next: AnyRef<'_> = fields.decode().ok()?;
    if matches!(next.tag(), Tag::ContextSpecific { number, .. } if number.value() == 0) {
        next = fields.decode().ok()?; // the serial, after an explicit version
    }
    let _serial = next;
    let _signature: AnyRef<'_> = fields.decode().ok()?;
    let _issuer: AnyRef<'_> = fields.decode().ok()?;
    let validity: AnyRef<'_> = fields.decode().ok()?;
    let _subject: AnyRef<'_> = fields.decode().ok()?;
    let spki: AnyRef<'_> = fields.decode().ok()?;
    let mut times = SliceReader::new(validity.value()).ok()?;
    let not_before = time_of(times.decode().ok()?)?;
    let not_after = time_of(times.decode().ok()?)?;
    Some(CertFacts {
        spki: spki.to_der().ok()?,
        not_before,
        not_after,
    })
}

/// Accepts exactly the certificate whose key has the pinned SHA-256, while
/// it is within its dates.
#[derive(Debug)]
struct PinVerifier {
    pin: [u8; 32],
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for PinVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let facts = cert_facts(end_entity).ok_or(rustls::Error::InvalidCertificate(
            CertificateError::BadEncoding,
        ))?;
        let found: [u8; 32] = Sha256::digest(&facts.spki).into();
        if found != self.pin {
            return Err(rustls::Error::InvalidCertificate(CertificateError::Other(
                rustls::OtherError(Arc::new(PinMismatch {
                    found: ipc_schema::fingerprint::to_hex(&found),
                })),
            )));
        }
        let now = now.as_secs();
        if now > facts.not_after {
            return Err(rustls::Error::InvalidCertificate(CertificateError::Expired));
        }
        if now < facts.not_before {
            return Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidYet,
            ));
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// A rustls configuration that accepts only the pinned key.
pub fn pinned_config(pin: [u8; 32]) -> Result<rustls::ClientConfig, rustls::Error> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(PinVerifier { pin, provider }))
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// The certificates of a PEM text, for `relay.trust` and `status`.
pub fn pem_certificates(pem: &str) -> Result<Vec<reqwest::Certificate>, String> {
    let certs = reqwest::Certificate::from_pem_bundle(pem.as_bytes())
        .map_err(|e| format!("the CA file is not PEM certificates: {e}"))?;
    if certs.is_empty() {
        return Err("the CA file holds no certificate".into());
    }
    Ok(certs)
}

/// How a CA is shown in `status`: the SHA-256 of its first certificate.
pub fn describe_ca(pem: &str) -> String {
    let der = pem
        .split("-----BEGIN CERTIFICATE-----")
        .nth(1)
        .and_then(|rest| rest.split("-----END CERTIFICATE-----").next())
        .map(|b64| b64.split_whitespace().collect::<String>())
        .and_then(|b64| {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD.decode(b64).ok()
        });
    match der {
        Some(der) => format!(
            "CA certificate sha256 {}",
            ipc_schema::fingerprint::to_hex(&Sha256::digest(der))
        ),
        None => "CA certificate (unreadable)".into(),
    }
}

/// Finds rustls' verdict in an error chain (reqwest → hyper → io → rustls)
/// and words it so a person can act on it; `None` when TLS was not the
/// problem.
pub fn classify(
    err: &(dyn std::error::Error + 'static),
    host: &str,
) -> Option<(TlsReason, String)> {
    let mut cur = Some(err);
    while let Some(e) = cur {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return Some(word(tls, host));
        }
        // An io::Error's `source` skips the error it wraps; look inside.
        cur = match e.downcast_ref::<std::io::Error>() {
            Some(io) => io
                .get_ref()
                .map(|inner| inner as &(dyn std::error::Error + 'static)),
            None => e.source(),
        };
    }
    None
}

fn word(e: &rustls::Error, host: &str) -> (TlsReason, String) {
    use CertificateError as C;
    let rustls::Error::InvalidCertificate(c) = e else {
        return (
            TlsReason::Other,
            format!("TLS with the relay {host} failed: {e}"),
        );
    };
    match c {
        C::Expired | C::ExpiredContext { .. } | C::NotValidYet | C::NotValidYetContext { .. } => (
            TlsReason::Expired,
            format!(
                "the relay {host}'s certificate is expired or not yet valid: ask its operator to renew it, or check this machine's clock"
            ),
        ),
        C::NotValidForName | C::NotValidForNameContext { .. } => (
            TlsReason::WrongHost,
            format!(
                "the relay's certificate is not valid for {host}: check the relay URL (the name must be one the certificate lists)"
            ),
        ),
        C::UnknownIssuer => (
            TlsReason::UnknownCa,
            format!(
                "the relay {host}'s certificate is signed by a CA this machine does not trust: `chat-ctl relay trust --ca FILE` trusts a relay's own CA, or `--pin SHA256` pins its key"
            ),
        ),
        C::Other(other) if other.0.downcast_ref::<PinMismatch>().is_some() => (
            TlsReason::PinMismatch,
            format!(
                "the relay {host}'s key does not match the pinned SHA-256 ({}): if its operator changed the key, pin the new one with `chat-ctl relay trust --pin SHA256`",
                other.0
            ),
        ),
        other => (
            TlsReason::Other,
            format!("the relay {host}'s certificate was refused: {other:?}"),
        ),
    }
}
