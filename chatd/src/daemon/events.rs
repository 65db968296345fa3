//! Events for frontends: the replay `subscribe {after}` starts with, and
//! the retention task that prunes old ones (docs/IPC.md §6).

use std::sync::Arc;
use std::time::Duration;

use ipc_schema::methods::EventEnvelope;

use super::{Daemon, DaemonError, stopped};
use crate::store::now_ms;

/// How often old events are pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// `subscribe {after}` asked for events that are no longer kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventsExpired {
    /// The oldest event still kept.
    pub oldest_seq: u64,
}

impl Daemon {
    /// Stored events after `after`, oldest first, at most `limit`; an error
    /// when some of them were pruned (never a silent gap).
    pub fn events_after(
        &self,
        after: u64,
        limit: usize,
    ) -> Result<Vec<EventEnvelope>, DaemonError> {
        self.store.events_after(after, limit)?.map_err(|e| {
            DaemonError::EventsExpired(EventsExpired {
                oldest_seq: e.oldest_seq,
            })
        })
    }

    /// The newest event's sequence number.
    pub fn last_event_seq(&self) -> Result<u64, DaemonError> {
        Ok(self.store.last_event_seq()?)
    }

    /// Prunes events past the retention setting, at start and then hourly.
    pub(super) async fn run_retention(self: Arc<Self>) {
        let mut stop = self.shutdown.subscribe();
        loop {
            match self
                .store
                .prune_events(self.config.events.retention(), now_ms())
            {
                Ok(0) => {}
                Ok(n) => tracing::info!(pruned = n, "old events pruned"),
                Err(e) => tracing::warn!(error = %e, "could not prune events"),
            }
            tokio::select! {
                _ = tokio::time::sleep(PRUNE_EVERY) => {}
                _ = stopped(&mut stop) => return,
            }
        }
    }
}
