//! The login throttle's counts in a store that several instances share
//! (docs/RELAY.md §8): what one instance admits, every other one counts, by
//! the same rules as the relay's in-memory throttle. SQLite serves one
//! relay process and leaves the counting to its memory.

use crate::helper::*;

conformance!(only_a_store_instances_share_counts_login_attempts);

postgres_only!(
    the_pair_budget_holds_across_two_instances_with_the_exact_wait,
    the_address_budget_holds_across_names_and_instances,
    attempts_in_flight_count_and_unverified_ones_are_forgotten,
    a_right_password_forgives_the_pair_but_not_the_address_or_the_user,
    failures_leave_the_budget_with_the_window_and_the_table,
    concurrent_admissions_through_two_instances_never_pass_the_budget,
);

const LIMIT: usize = 3;
const WINDOW_MS: u64 = 60_000;
const BUSY_MS: u64 = 5_000;
/// An address of the documentation range.
const ADDR: &str = "192.0.2.7";

/// The throttle's rule at `now` (ms).
fn rule(now: u64) -> ThrottleRule {
    ThrottleRule {
        limit: LIMIT,
        window_ms: WINDOW_MS,
        busy_ms: BUSY_MS,
        now_ms: now,
    }
}

/// Admits a check of `user` from `addr` at `now`: its id and the user's
/// recent count, or the wait it was refused with.
async fn begin(s: &dyn Store, user: &str, addr: &str, now: u64) -> Result<(i64, usize), u64> {
    match s.begin_login_attempt(user, addr, rule(now)).await.unwrap() {
        Some(SharedAdmission::Admitted { id, user_recent }) => Ok((id, user_recent)),
        Some(SharedAdmission::Refused { wait_ms }) => Err(wait_ms),
        None => panic!("this store shares no counts"),
    }
}

/// One admitted check of `user` from `addr` at `now` that ends as `outcome`;
/// returns the user's recent count it was admitted with.
async fn check(s: &dyn Store, user: &str, addr: &str, now: u64, outcome: AttemptOutcome) -> usize {
    let (id, recent) = begin(s, user, addr, now)
        .await
        .unwrap_or_else(|wait| panic!("{user} from {addr} refused for {wait} ms"));
    s.end_login_attempt(id, user, addr, outcome).await.unwrap();
    recent
}

async fn only_a_store_instances_share_counts_login_attempts(b: Backend) {
    let s = b.open().await;
    let answer = s
        .begin_login_attempt("alice", ADDR, rule(now_ms()))
        .await
        .unwrap();
    match b.kind {
        Kind::Sqlite => assert_eq!(answer, None, "one relay process counts in its memory"),
        Kind::Postgres => {
            assert!(
                matches!(
                    answer,
                    Some(SharedAdmission::Admitted { user_recent: 0, .. })
                ),
                "{answer:?}"
            );
        }
    }
}

async fn the_pair_budget_holds_across_two_instances_with_the_exact_wait(b: Backend) {
    let (one, two) = (b.open().await, b.open().await);
    let t0 = now_ms();
    // Failures alternate between the instances; each sees the ones before.
    for (i, s) in [&one, &two, &one].into_iter().enumerate() {
        let recent = check(
            &**s,
            "alice",
            ADDR,
            t0 + i as u64 * 1000,
            AttemptOutcome::Failed,
        )
        .await;
        assert_eq!(recent, i, "the user's failures so far, from both instances");
    }
    // Full on both: until the oldest of the last LIMIT failures (at t0)
    // leaves the window.
    for s in [&one, &two] {
        assert_eq!(
            begin(&**s, "alice", ADDR, t0 + 5_000).await,
            Err(WINDOW_MS - 5_000)
        );
    }
    // Another address for the same name is its own pair and address.
    let (_, recent) = begin(&*two, "alice", "198.51.100.1", t0 + 5_000)
        .await
        .unwrap();
    assert_eq!(recent, 3, "the user's count is from every address");
    // Once the first failure is out of the window, one more is let in.
    assert!(begin(&*one, "alice", ADDR, t0 + WINDOW_MS).await.is_ok());
}

async fn the_address_budget_holds_across_names_and_instances(b: Backend) {
    let (one, two) = (b.open().await, b.open().await);
    let t0 = now_ms();
    check(&*one, "user0", ADDR, t0, AttemptOutcome::Failed).await;
    check(&*two, "user1", ADDR, t0 + 10, AttemptOutcome::Failed).await;
    check(&*one, "user2", ADDR, t0 + 20, AttemptOutcome::Failed).await;
    assert_eq!(
        begin(&*two, "alice", ADDR, t0 + 1_000).await,
        Err(WINDOW_MS - 1_000),
        "a fourth name from the address"
    );
    // Another address still tries alice.
    assert!(
        begin(&*two, "alice", "198.51.100.1", t0 + 1_000)
            .await
            .is_ok()
    );
}

async fn attempts_in_flight_count_and_unverified_ones_are_forgotten(b: Backend) {
    let (one, two) = (b.open().await, b.open().await);
    let t0 = now_ms();
    let mut admitted = Vec::new();
    for (i, s) in [&one, &two, &one].into_iter().enumerate() {
        let (id, recent) = begin(&**s, "alice", ADDR, t0).await.unwrap();
        assert_eq!(recent, i, "attempts in flight count for the user's wait");
        admitted.push(id);
    }
    // Three checks still running fill the budget: the wait is the busy one,
    // not a window (no failure is recorded yet).
    assert_eq!(begin(&*two, "alice", ADDR, t0).await, Err(BUSY_MS));
    // One ends unchecked (the store failed, the queue was full): its place
    // is free again, through the other instance.
    two.end_login_attempt(admitted[0], "alice", ADDR, AttemptOutcome::Unverified)
        .await
        .unwrap();
    let (_, recent) = begin(&*two, "alice", ADDR, t0).await.unwrap();
    assert_eq!(recent, 2);
    assert_eq!(begin(&*one, "alice", ADDR, t0).await, Err(BUSY_MS));
}

async fn a_right_password_forgives_the_pair_but_not_the_address_or_the_user(b: Backend) {
    let (one, two) = (b.open().await, b.open().await);
    let t0 = now_ms();
    check(&*one, "alice", ADDR, t0, AttemptOutcome::Failed).await;
    check(&*two, "alice", ADDR, t0 + 1, AttemptOutcome::Failed).await;
    let recent = check(&*one, "alice", ADDR, t0 + 2, AttemptOutcome::Succeeded).await;
    assert_eq!(recent, 2);
    // The pair's typos are forgiven, the user's count keeps them (others'
    // waits do not reveal the owner's logins)...
    let recent = check(&*two, "alice", ADDR, t0 + 3, AttemptOutcome::Failed).await;
    assert_eq!(
        recent, 2,
        "the success is not a failure; the typos still count"
    );
    // ...and so does the address's: its third failure fills it.
    assert_eq!(
        begin(&*one, "bob", ADDR, t0 + 4).await,
        Err(WINDOW_MS - 4),
        "the address's budget kept the forgiven failures"
    );
}

async fn failures_leave_the_budget_with_the_window_and_the_table(b: Backend) {
    let s = b.open().await;
    let t0 = now_ms();
    for i in 0..LIMIT as u64 {
        check(&*s, "alice", ADDR, t0 + i, AttemptOutcome::Failed).await;
    }
    assert!(begin(&*s, "alice", ADDR, t0 + WINDOW_MS - 1).await.is_err());
    assert_eq!(b.rows("login_attempts", "true").await, 3);
    // A window after the last failure, every one is gone, and an admission
    // sweeps them out of the table (whoever's they were).
    let (_, recent) = begin(&*s, "carol", "203.0.113.9", t0 + WINDOW_MS + LIMIT as u64)
        .await
        .unwrap();
    assert_eq!(recent, 0);
    assert_eq!(b.rows("login_attempts", "true").await, 1, "only carol's");
    assert!(
        begin(&*s, "alice", ADDR, t0 + WINDOW_MS + LIMIT as u64)
            .await
            .is_ok()
    );
}

async fn concurrent_admissions_through_two_instances_never_pass_the_budget(b: Backend) {
    let (one, two) = (b.open().await, b.open().await);
    let t0 = now_ms();
    // Forty guesses at once, half through each instance, under a mix of
    // names: the address admits exactly its budget.
    let tasks: Vec<_> = (0..40)
        .map(|i| {
            let s = if i % 2 == 0 {
                one.store.clone()
            } else {
                two.store.clone()
            };
            tokio::spawn(async move {
                let user = format!("user{}", i % 3);
                begin(&*s, &user, ADDR, t0).await.is_ok()
            })
        })
        .collect();
    let mut admitted = 0;
    for task in tasks {
        admitted += usize::from(task.await.unwrap());
    }
    assert_eq!(admitted, LIMIT);
    assert_eq!(b.rows("login_attempts", "true").await, LIMIT as i64);
}
