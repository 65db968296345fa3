//! PostgreSQL's own schema history (`relay_schema`): an older database is
//! brought up to date in place, keeping its data, and a newer one is
//! refused rather than misread. (SQLite's history is tested with its store.)

use crate::helper::*;

postgres_only!(
    a_version_1_database_is_upgraded_in_place_and_keeps_its_data,
    a_database_newer_than_the_relay_is_refused,
);

async fn a_version_1_database_is_upgraded_in_place_and_keeps_its_data(b: Backend) {
    let s = b.open().await;
    let device = register(&*s, "alice").await;
    register(&*s, "bob").await;
    let env = mail("bob", "alice");
    assert_eq!(
        s.put_envelope(env.clone(), ROOMY).await.unwrap(),
        PutOutcome::Stored
    );
    drop(s);
    // As the relay before the shared login throttle (version 2) and the
    // sessions trigger (version 3) left it.
    b.execute_pg(
        "DROP TABLE login_attempts;
         DROP TRIGGER sessions_deleted ON sessions;
         DROP TRIGGER sessions_updated ON sessions;
         DROP FUNCTION sessions_gone();
         UPDATE relay_schema SET version = 1;",
    )
    .await;

    let s = b.open().await;
    assert_eq!(
        b.scalar("SELECT version::bigint FROM relay_schema").await,
        relay_server::store::postgres::schema_version() as i64
    );
    assert_eq!(
        s.fetch("alice", &device, everything()).await.unwrap(),
        [env.body.as_slice()],
        "the mail waiting before the upgrade is still there"
    );
    let rule = ThrottleRule {
        limit: 10,
        window_ms: 60_000,
        busy_ms: 1_000,
        now_ms: now_ms(),
    };
    assert!(matches!(
        s.begin_login_attempt("alice", "192.0.2.1", rule).await,
        Ok(Some(SharedAdmission::Admitted { .. }))
    ));
}

async fn a_database_newer_than_the_relay_is_refused(b: Backend) {
    drop(b.open().await);
    let newer = relay_server::store::postgres::schema_version() + 1;
    b.execute_pg(&format!("UPDATE relay_schema SET version = {newer}"))
        .await;
    let hook: CommitHook = std::sync::Arc::new(|_: &[String]| {});
    let error = match PgStore::open(&b.location, 2, hook).await {
        Ok(_) => panic!("a relay opened a database of a newer schema"),
        Err(e) => e.to_string(),
    };
    assert!(
        error.contains(&format!(
            "database schema version {newer} is newer than this relay"
        )),
        "{error}"
    );
}
