//! The one registered account: who we are and how we reach the relay.

use rusqlite::{OptionalExtension, params};

use super::outbox::end_all_for;
use super::{Committed, Store, StoreResult, now_ms};

/// Why queued texts fail when the account is deleted.
const ACCOUNT_DELETED: &str = "the account was deleted before it was sent";

/// How chatd trusts the relay's TLS certificate, beyond the system roots
/// (docs/SECURITY.md §2.1).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RelayTrust {
    /// Plain `http://` to a host that is not loopback, chosen explicitly
    /// (a TLS proxy on this machine forwards it).
    pub insecure_http: bool,
    /// An extra CA certificate (PEM) trusted for this relay.
    pub ca_pem: Option<String>,
    /// SHA-256 of the relay certificate's SubjectPublicKeyInfo (64 hex):
    /// only a certificate with this key is accepted.
    pub pin: Option<String>,
}

/// The registered account.
#[derive(Debug, Clone)]
pub struct AccountRow {
    /// Username.
    pub user: String,
    /// The relay's base URLs (its instances), in the order they are
    /// tried; never empty.
    pub relay_urls: Vec<String>,
    /// RSA modulus size of the identity.
    pub key_bits: u32,
    /// How the relay's certificate is checked.
    pub trust: RelayTrust,
    /// The relay's id for this machine, one device of the account
    /// (docs/RELAY.md, "Devices"); None until the first login tells it.
    pub device_id: Option<String>,
}

impl AccountRow {
    /// The relay's first URL, the one tried first.
    pub fn relay_url(&self) -> &str {
        &self.relay_urls[0]
    }
}

/// The URLs after the first, as stored.
fn more_urls(urls: &[String]) -> String {
    serde_json::to_string(&urls[1..]).expect("strings serialize")
}

impl Store {
    /// The registered account, if any.
    pub fn account(&self) -> StoreResult<Option<AccountRow>> {
        self.with(|c| {
            Ok(c.query_row(
                "SELECT user, relay_url, key_bits, insecure_http, relay_ca, relay_pin, device_id,
                        relay_more_urls
                 FROM account WHERE id = 1",
                [],
                |r| {
                    let first: String = r.get(1)?;
                    let more: String = r.get(7)?;
                    let more: Vec<String> = serde_json::from_str(&more).map_err(|e| {
                        rusqlite::Error::FromSqlConversionFailure(
                            7,
                            rusqlite::types::Type::Text,
                            Box::new(e),
                        )
                    })?;
                    Ok(AccountRow {
                        user: r.get(0)?,
                        relay_urls: std::iter::once(first).chain(more).collect(),
                        key_bits: r.get(2)?,
                        trust: RelayTrust {
                            insecure_http: r.get(3)?,
                            ca_pem: r.get(4)?,
                            pin: r.get(5)?,
                        },
                        device_id: r.get(6)?,
                    })
                },
            )
            .optional()?)
        })
    }

    /// Records the account after registration.
    pub fn set_account(&self, account: &AccountRow) -> StoreResult<()> {
        self.with(|c| {
            c.execute(
                "INSERT OR REPLACE INTO account
                 (id, user, relay_url, key_bits, created_at, insecure_http, relay_ca, relay_pin, device_id,
                  relay_more_urls)
                 VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    account.user,
                    account.relay_url(),
                    account.key_bits,
                    now_ms() as i64,
                    account.trust.insecure_http,
                    account.trust.ca_pem,
                    account.trust.pin,
                    account.device_id,
                    more_urls(&account.relay_urls)
                ],
            )?;
            Ok(())
        })
    }

    /// Records which device of the account this machine is.
    /// This account's rotations so far, and until when its retired keys
    /// still open (ms), if any are kept.
    pub fn rotation_state(&self) -> StoreResult<(u64, Option<u64>)> {
        self.with(|c| {
            let (n, until): (i64, Option<i64>) = c.query_row(
                "SELECT rotations, retired_until FROM account WHERE id = 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            Ok((n as u64, until.map(|u| u as u64)))
        })
    }

    /// Records a rotation of this account's keys: its count, and until when
    /// the retired keys are kept (`None`: they are gone).
    pub fn note_rotation(&self, rotations: u64, retired_until: Option<u64>) -> StoreResult<()> {
        self.with(|c| {
            c.execute(
                "UPDATE account SET rotations = ?1, retired_until = ?2 WHERE id = 1",
                params![rotations as i64, retired_until.map(|u| u as i64)],
            )?;
            Ok(())
        })
    }

    pub fn set_device_id(&self, device_id: &str) -> StoreResult<()> {
        self.with(|c| {
            c.execute(
                "UPDATE account SET device_id = ?1 WHERE id = 1",
                [device_id],
            )?;
            Ok(())
        })
    }

    /// Replaces the relay's URLs (`chat-ctl relay urls`); `urls` is not empty.
    pub fn set_relay_urls(&self, urls: &[String]) -> StoreResult<()> {
        self.with(|c| {
            c.execute(
                "UPDATE account SET relay_url = ?1, relay_more_urls = ?2 WHERE id = 1",
                params![urls[0], more_urls(urls)],
            )?;
            Ok(())
        })
    }

    /// Replaces how the relay's certificate is checked (`chat-ctl relay trust`).
    pub fn set_relay_trust(&self, trust: &RelayTrust) -> StoreResult<()> {
        self.with(|c| {
            c.execute(
                "UPDATE account SET insecure_http = ?1, relay_ca = ?2, relay_pin = ?3 WHERE id = 1",
                params![trust.insecure_http, trust.ca_pem, trust.pin],
            )?;
            Ok(())
        })
    }

    /// Forgets the account and everything queued for it (after account
    /// deletion): queued texts fail, receipts are dropped; the history stays.
    pub fn clear_account(&self) -> StoreResult<Committed<()>> {
        self.with(|c| {
            let tx = c.transaction()?;
            let peers: Vec<String> = tx
                .prepare("SELECT DISTINCT peer FROM outbox")?
                .query_map([], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            let mut events = Vec::new();
            for peer in peers {
                end_all_for(&tx, &peer, ACCOUNT_DELETED, &mut events)?;
            }
            tx.execute("DELETE FROM account", [])?;
            tx.commit()?;
            Ok(Committed::new((), events))
        })
    }
}
