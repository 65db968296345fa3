//! What this account's other devices send it (docs/PROTOCOL.md §11): their
//! sent texts (filed as ours, `sent`), what they read (marked read here
//! too), their group and contact changes, and new devices announcing
//! themselves.

use ipc_schema::methods::{
    DeviceAddedEvent, Direction, Event, MessageReceivedEvent, MessageState, MessageStateEvent,
    MessageView,
};
use ipc_schema::{Payload, ReceiptKind};
use rusqlite::{Transaction, params};

use super::events::push_event;
use super::groups::{self, group_peer};
use super::inbox::BatchOutcome;
use super::{StoreResult, now_ms};
use crate::crypto::Opened;

/// Files one envelope from this account's own other devices.
pub(super) fn own_copy(
    tx: &Transaction<'_>,
    me: &str,
    msg: Opened,
    out: &mut BatchOutcome,
    events: &mut Vec<ipc_schema::methods::EventEnvelope>,
) -> StoreResult<()> {
    match msg.payload {
        Payload::Text {
            body,
            reply_to,
            to: Some(peer),
        } => file_sent(
            tx, me, &msg.id, msg.ts, &peer, None, body, reply_to, None, events,
        ),
        // A file another device of ours sent: shown here too, its blob
        // fetched as any received file's (this account may read it).
        Payload::File(offer) => {
            let peer = match (&offer.group, &offer.to) {
                (Some(group), _) => {
                    let known: bool = tx.query_row(
                        "SELECT EXISTS (SELECT 1 FROM groups WHERE id = ?1)",
                        [group],
                        |r| r.get(0),
                    )?;
                    if !known {
                        return Ok(());
                    }
                    group_peer(group)
                }
                (None, Some(to)) => to.clone(),
                (None, None) => return Ok(()),
            };
            let group = offer.group.as_ref().map(|_| peer.clone());
            let name = ipc_schema::files::shown_name(&offer.name);
            out.files = true;
            file_sent(
                tx,
                me,
                &msg.id,
                msg.ts,
                &peer,
                group,
                name,
                offer.reply_to.clone(),
                Some(&offer),
                events,
            )
        }
        Payload::GroupText {
            group,
            body,
            reply_to,
        } => {
            let known: bool = tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM groups WHERE id = ?1)",
                [&group],
                |r| r.get(0),
            )?;
            if !known {
                return Ok(());
            }
            let peer = group_peer(&group);
            file_sent(
                tx,
                me,
                &msg.id,
                msg.ts,
                &peer,
                Some(peer.clone()),
                body,
                reply_to,
                None,
                events,
            )
        }
        Payload::Receipt {
            ids,
            kind: ReceiptKind::Read,
        } => read_elsewhere(tx, &ids, events),
        Payload::Roster {
            group,
            roster,
            parent_roster,
        } => groups::receive_roster(
            tx,
            me,
            me,
            &group,
            &roster,
            parent_roster.as_deref(),
            events,
        ),
        Payload::Contact {
            user,
            state,
            card,
            at,
            device,
        } => {
            let synced = super::contact_sync::Synced {
                user: &user,
                state,
                card: card.as_deref(),
                at,
                device: &device,
            };
            // Its events (published with the batch) also wake the relay
            // backup's refresh.
            super::contact_sync::apply_synced(tx, me, synced, events)?;
            Ok(())
        }
        // Checked and taken by the daemon (keystore writes), after commit.
        Payload::KeysRotated {
            transition,
            enc,
            sig,
        } => {
            out.own_rotation = Some((transition, enc, sig));
            Ok(())
        }
        Payload::DeviceAdded { name } => {
            push_event(
                tx,
                events,
                Event::DeviceAdded(DeviceAddedEvent {
                    name: name.clone(),
                    added_at: msg.ts,
                }),
            )?;
            out.new_devices.push(name);
            Ok(())
        }
        // An edit, delete or reaction made on another device.
        Payload::Change(change) => {
            let applied =
                super::changes::apply(tx, me, me, msg.ts, &change, &mut out.deleted, events)?;
            if applied == super::changes::Applied::Refused {
                super::inbox::bump(tx, ipc_schema::methods::DropReason::BadTarget, 1)?;
            }
            Ok(())
        }
        // Delivered receipts and texts without a conversation mean nothing
        // between one account's devices.
        _ => Ok(()),
    }
}

/// Files a text another device of ours sent, as sent from here: `sent`, and
/// later `delivered` and `read` as its recipient's receipts reach this
/// device too.
#[allow(clippy::too_many_arguments)]
fn file_sent(
    tx: &Transaction<'_>,
    me: &str,
    id: &str,
    ts: u64,
    peer: &str,
    group: Option<String>,
    body: String,
    reply_to: Option<String>,
    file: Option<&ipc_schema::FileOffer>,
    events: &mut Vec<ipc_schema::methods::EventEnvelope>,
) -> StoreResult<()> {
    let kind = if file.is_some() { "file" } else { "text" };
    let added = tx.execute(
        "INSERT OR IGNORE INTO messages (id, peer, direction, sender, recipient, ts, received_at, kind, body, reply_to, state)
         VALUES (?1, ?2, 'out', ?3, ?2, ?4, ?5, ?8, ?6, ?7, 'sent')",
        params![id, peer, me, ts as i64, now_ms() as i64, body, reply_to, kind],
    )?;
    if added == 0 {
        return Ok(());
    }
    let seq = tx.last_insert_rowid() as u64;
    if let Some(offer) = file {
        super::files::record(
            tx,
            me,
            id,
            peer,
            offer,
            ipc_schema::methods::FileState::Waiting,
        )?;
    }
    let mut view = MessageView {
        id: id.to_owned(),
        from: me.to_owned(),
        to: peer.to_owned(),
        ts,
        direction: Direction::Out,
        kind: kind.into(),
        body: Some(body),
        reply_to,
        state: MessageState::Sent,
        failure: None,
        seq,
        truncated: false,
        group,
        deliveries: Vec::new(),
        edited: false,
        deleted: false,
        reactions: Vec::new(),
        file: None,
    };
    super::files::attach(tx, std::slice::from_mut(&mut view))?;
    push_event(
        tx,
        events,
        Event::MessageReceived(MessageReceivedEvent { message: view }),
    )?;
    Ok(())
}

/// Marks read here what another device of ours read.
fn read_elsewhere(
    tx: &Transaction<'_>,
    ids: &[String],
    events: &mut Vec<ipc_schema::methods::EventEnvelope>,
) -> StoreResult<()> {
    for id in ids {
        let peers: Vec<String> = tx
            .prepare_cached(
                "UPDATE messages SET state = 'read'
                 WHERE id = ?1 AND direction = 'in' AND state != 'read' RETURNING peer",
            )?
            .query_map([id], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        for peer in peers {
            push_event(
                tx,
                events,
                Event::MessageState(MessageStateEvent {
                    id: id.clone(),
                    peer,
                    state: MessageState::Read,
                    failure: None,
                    deliveries: Vec::new(),
                }),
            )?;
        }
    }
    Ok(())
}
