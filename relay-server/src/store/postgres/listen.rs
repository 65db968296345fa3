//! The LISTEN side of what instances tell each other: one connection per
//! instance, outside the pool, that hears every instance's `NOTIFY
//! relay_mail` and wakes this instance's long-polls for the recipients
//! named, and `NOTIFY relay_sessions` (from a trigger) and forgets the
//! sessions named (`sessions`).

use std::time::Duration;

use futures_util::StreamExt as _;
use tokio_postgres::{AsyncMessage, NoTls};

use super::sessions::{self, SessionCache};
use crate::store::CommitHook;

/// The notification channel.
pub(super) const CHANNEL: &str = "relay_mail";

/// A payload: the sending instance, a space, then the recipients separated
/// by commas (usernames hold no comma). Payloads stay under PostgreSQL's
/// 8,000 bytes; a longer list is split over several.
pub(super) fn payloads(instance: &str, users: &[String]) -> Vec<String> {
    const MAX: usize = 7_000;
    let mut out = Vec::new();
    let mut current = String::new();
    for user in users {
        if !current.is_empty() && current.len() + 1 + user.len() > MAX {
            out.push(std::mem::take(&mut current));
        }
        if current.is_empty() {
            current.push_str(instance);
            current.push(' ');
        } else {
            current.push(',');
        }
        current.push_str(user);
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// Listens until the task is aborted, reconnecting with a growing pause
/// after a lost connection. Mail may have come while it was gone, so every
/// long-poll is woken once it is back (`on_commit(&[])`); sessions may
/// have been revoked, so the session cache is off while it is gone and
/// starts empty when it is back.
pub(super) async fn run(
    config: tokio_postgres::Config,
    instance: String,
    on_commit: CommitHook,
    cache: std::sync::Arc<SessionCache>,
    ready: tokio::sync::oneshot::Sender<()>,
) {
    let mut pause = Duration::from_millis(100);
    let mut ready = Some(ready);
    loop {
        let heard = listen_once(&config, &instance, &on_commit, &cache, &mut ready).await;
        cache.listening(false);
        match heard {
            Ok(()) => pause = Duration::from_millis(100),
            Err(e) => {
                tracing::warn!(error = %e, "lost the PostgreSQL LISTEN connection; reconnecting")
            }
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(5));
    }
}

async fn listen_once(
    config: &tokio_postgres::Config,
    instance: &str,
    on_commit: &CommitHook,
    cache: &SessionCache,
    ready: &mut Option<tokio::sync::oneshot::Sender<()>>,
) -> Result<(), tokio_postgres::Error> {
    let (client, mut connection) = config.connect(NoTls).await?;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let driver = tokio::spawn(async move {
        let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(message) = messages.next().await {
            match message {
                Ok(AsyncMessage::Notification(n)) => {
                    if tx
                        .send((n.channel().to_owned(), n.payload().to_owned()))
                        .is_err()
                    {
                        break;
                    }
                }
                Ok(_) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    });
    client
        .batch_execute(&format!("LISTEN {CHANNEL}; LISTEN {};", sessions::CHANNEL))
        .await?;
    cache.listening(true);
    match ready.take() {
        // The first time: the store opens now.
        Some(ready) => {
            let _ = ready.send(());
        }
        // After a lost connection.
        None => on_commit(&[]),
    }
    while let Some((channel, payload)) = rx.recv().await {
        if channel == sessions::CHANNEL {
            cache.heard(&payload);
            continue;
        }
        let Some((from, users)) = payload.split_once(' ') else {
            continue;
        };
        if from == instance {
            continue;
        }
        let users: Vec<String> = users.split(',').map(str::to_owned).collect();
        crate::metrics::metrics()
            .wakeups_heard
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        on_commit(&users);
    }
    drop(client);
    match driver.await {
        Ok(result) => result,
        Err(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::payloads;

    #[test]
    fn payloads_name_the_instance_and_stay_under_postgres_limit() {
        assert_eq!(
            payloads("i1", &["alice".into(), "bob".into()]),
            ["i1 alice,bob"]
        );
        let many: Vec<String> = (0..3000).map(|i| format!("user{i:05}")).collect();
        let out = payloads("i1", &many);
        assert!(out.len() > 1);
        let mut back = Vec::new();
        for p in &out {
            assert!(p.len() < 8000);
            let (from, users) = p.split_once(' ').unwrap();
            assert_eq!(from, "i1");
            back.extend(users.split(',').map(str::to_owned));
        }
        assert_eq!(back, many);
        assert!(payloads("i1", &[]).is_empty());
    }
}
