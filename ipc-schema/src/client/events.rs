//! A subscribed connection: chatd's events in `seq` order.

use std::path::Path;

use super::ClientError;
use super::connection::{Connection, parse_message};
use crate::methods::{EventEnvelope, ServerMessage};

/// chatd's events on a subscribed connection, in `seq` order.
#[derive(Debug)]
pub struct EventStream {
    conn: Connection,
    last_seq: u64,
    done: bool,
}

impl EventStream {
    /// The stream of a connection whose `subscribe` answered with `last_seq`.
    pub(super) fn new(conn: Connection, last_seq: u64) -> Self {
        EventStream {
            conn,
            last_seq,
            done: false,
        }
    }

    /// The newest event's `seq` when the subscription started (0 when there was none).
    pub fn last_seq(&self) -> u64 {
        self.last_seq
    }

    /// The socket this stream reads from.
    pub fn path(&self) -> &Path {
        &self.conn.path
    }

    /// The next event; `None` once chatd closed the connection or after an
    /// error that ends the stream (a broken frame, an I/O error, a response
    /// where only events belong).
    ///
    /// An event this version cannot read is reported as
    /// [`ClientError::Protocol`] and the stream goes on; notifications with
    /// unknown names (from a newer chatd) are skipped. Cancel-safe only
    /// between frames: use it in `select!` or with a timeout only if the
    /// stream is dropped afterwards.
    pub async fn next(&mut self) -> Option<Result<EventEnvelope, ClientError>> {
        if self.done {
            return None;
        }
        loop {
            let frame = match self.conn.next_frame().await {
                Ok(Some(frame)) => frame,
                Ok(None) => {
                    self.done = true;
                    return None;
                }
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            };
            // One unreadable frame is reported; the framing itself is intact, so go on after it.
            let message = match parse_message(&frame) {
                Ok(message) => message,
                Err(e) => return Some(Err(e)),
            };
            match message {
                ServerMessage::Event(event) => return Some(Ok(event)),
                ServerMessage::Unknown(_) => {}
                ServerMessage::Response(response) => {
                    self.done = true;
                    return Some(Err(match response.outcome {
                        Err(e) => e.into(),
                        Ok(_) => ClientError::Protocol(
                            "chatd sent a response on a subscribed connection".to_owned(),
                        ),
                    }));
                }
            }
        }
    }
}
