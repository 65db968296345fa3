//! Wycheproof vectors through chat's own primitive wrappers
//! (`chatd::crypto::primitives`), with exactly the parameters the envelope uses.

use chatd::crypto::primitives;
use rsa::PrivateKey;
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey};
use wycheproof::TestResult;

/// Counts run and skipped cases, and fails on any disagreement.
#[derive(Default)]
struct Tally {
    run: usize,
    failures: Vec<String>,
}

impl Tally {
    fn check(&mut self, file: &str, tc_id: usize, result: &TestResult, ok: bool) {
        self.run += 1;
        let agrees = match result {
            TestResult::Valid => ok,
            TestResult::Invalid => !ok,
            TestResult::Acceptable => true,
        };
        if !agrees {
            self.failures.push(format!(
                "{file} tcId {tc_id}: expected {result:?}, wrapper said ok={ok}"
            ));
        }
    }

    fn finish(self, at_least: usize) {
        assert!(self.failures.is_empty(), "{}", self.failures.join("\n"));
        assert!(self.run >= at_least, "only {} cases ran", self.run);
    }
}

#[test]
fn rsa_oaep_sha256_mgf1_sha256_decrypt() {
    use wycheproof::rsa_oaep::{TestName, TestSet};
    for (name, bits) in [
        (TestName::Rsa2048Sha256Mgf1Sha256, 2048),
        (TestName::Rsa3072Sha256Mgf1Sha256, 3072),
        (TestName::Rsa4096Sha256Mgf1Sha256, 4096),
    ] {
        let set = TestSet::load(name).unwrap();
        let mut tally = Tally::default();
        for group in &set.test_groups {
            assert_eq!(group.key_size, bits);
            let key = PrivateKey::from_pkcs8_der(&group.pkcs8).expect("wycheproof key decodes");
            for test in &group.tests {
                let out = primitives::oaep_decrypt(&key, &test.label, &test.ct, &mut rand::rng());
                let ok = out
                    .as_ref()
                    .is_ok_and(|pt| pt.expose_secret() == &test.pt[..]);
                tally.check(&format!("oaep-{bits}"), test.tc_id, &test.result, ok);
            }
        }
        tally.finish(20);
    }
}

#[test]
fn rsa_pss_sha256_mgf1_salt32_verify() {
    use wycheproof::rsa_pss_verify::{TestName, TestSet};
    for (name, bits) in [
        (TestName::RsaPss2048Sha256Mgf1SaltLen32, 2048),
        (TestName::RsaPss3072Sha256Mgf1SaltLen32, 3072),
        (TestName::RsaPss4096Sha256Mgf1SaltLen32, 4096),
    ] {
        let set = TestSet::load(name).unwrap();
        let mut tally = Tally::default();
        for group in &set.test_groups {
            assert_eq!(group.salt_size, 32);
            let key =
                rsa::PublicKey::from_public_key_der(&group.der).expect("wycheproof key decodes");
            for test in &group.tests {
                let ok = primitives::pss_verify(&key, &test.msg, &test.sig).is_ok();
                tally.check(&format!("pss-{bits}"), test.tc_id, &test.result, ok);
            }
        }
        tally.finish(20);
    }
}

#[test]
fn hmac_sha256_full_length_tags() {
    use wycheproof::mac::{TestName, TestSet};
    let set = TestSet::load(TestName::HmacSha256).unwrap();
    let mut tally = Tally::default();
    // chat only ever uses and accepts full 256-bit tags; truncated-tag groups
    // test a mode the wrapper deliberately does not offer.
    for group in set.test_groups.iter().filter(|g| g.tag_size == 256) {
        for test in &group.tests {
            let computed = primitives::hmac_sha256(&test.key, &[&test.msg]);
            let verified = primitives::hmac_sha256_verify(&test.key, &[&test.msg], &test.tag);
            assert_eq!(
                verified,
                computed[..] == test.tag[..],
                "tcId {}",
                test.tc_id
            );
            tally.check("hmac-sha256", test.tc_id, &test.result, verified);
        }
    }
    tally.finish(50);
}

#[test]
fn aes_256_cbc_pkcs5() {
    use wycheproof::cipher::{TestName, TestSet};
    let set = TestSet::load(TestName::AesCbcPkcs5).unwrap();
    let mut tally = Tally::default();
    // The envelope uses AES-256 only.
    for group in set.test_groups.iter().filter(|g| g.key_size == 256) {
        for test in &group.tests {
            let key: [u8; 32] = test.key[..].try_into().unwrap();
            let iv: [u8; 16] = test.nonce[..].try_into().unwrap();
            let decrypted = primitives::aes256_cbc_decrypt(&key, &iv, &test.ct);
            let ok = decrypted
                .as_ref()
                .is_ok_and(|pt| pt.expose_secret() == &test.pt[..]);
            if matches!(test.result, TestResult::Valid) {
                assert_eq!(
                    primitives::aes256_cbc_encrypt(&key, &iv, &test.pt),
                    &test.ct[..],
                    "tcId {}",
                    test.tc_id
                );
            }
            tally.check("aes-256-cbc", test.tc_id, &test.result, ok);
        }
    }
    tally.finish(50);
}
