//! The `Store` conformance suite (issue 18): every operation and every error
//! of `relay_server::store::Store`, two instances on the same data writing
//! at once, and `kill -9` during writes. Each test is written once against
//! `&dyn Store` and runs on SQLite and on PostgreSQL (`sqlite::` and
//! `postgres::` in its name); the PostgreSQL ones need `CHAT_TEST_PG`
//! (`export CHAT_TEST_PG=$(scripts/pg start /tmp/pgtest)`) and fail without it.

#[path = "store/helper.rs"]
#[macro_use]
mod helper;

/// Instantiates each named `async fn(Backend)` of the calling module once per
/// backend: `sqlite::name` and `postgres::name`.
macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let name = concat!(module_path!(), "::", stringify!($name));
                    super::$name(crate::helper::Backend::new(crate::helper::Kind::Sqlite, name).await).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let name = concat!(module_path!(), "::", stringify!($name));
                    super::$name(crate::helper::Backend::new(crate::helper::Kind::Postgres, name).await).await
                }
            )*
        }
    };
}

/// Like [`conformance!`] for what only several relay instances on one
/// database promise (SQLite serves one relay process: its session cache
/// trusts that it is the only writer).
macro_rules! postgres_only {
    ($($name:ident),* $(,)?) => {
        mod postgres_only {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let name = concat!(module_path!(), "::", stringify!($name));
                    super::$name(crate::helper::Backend::new(crate::helper::Kind::Postgres, name).await).await
                }
            )*
        }
    };
}

#[path = "store/accounts.rs"]
mod accounts;
#[path = "store/backups.rs"]
mod backups;
#[path = "store/blobs.rs"]
mod blobs;
#[path = "store/concurrency.rs"]
mod concurrency;
#[path = "store/devices.rs"]
mod devices;
#[path = "store/durability.rs"]
mod durability;
#[path = "store/links.rs"]
mod links;
#[path = "store/messages.rs"]
mod messages;
#[path = "store/restart.rs"]
mod restart;
#[path = "store/schema.rs"]
mod schema;
#[path = "store/sessions.rs"]
mod sessions;
#[path = "store/shared.rs"]
mod shared;
#[path = "store/throttle.rs"]
mod throttle;
