//! The selected message of the open conversation: the one the message
//! pane's keys act on (reply, edit, delete, react). j/k move it a message at
//! a time and the pane scrolls to keep it in sight; the mouse wheel and the
//! page keys still scroll by rows. It is named by id and sender, so older
//! pages and new messages never move it to another message.

use ipc_schema::methods::MessageView;

use crate::app::action::Effect;
use crate::app::state::{AppState, MessageKey};
use crate::app::update::load_older;
use crate::layout::{self, MessageRows};

/// Whether the selection stops on `m`: a group's history line is no
/// message anyone wrote.
fn selectable(m: &MessageView) -> bool {
    m.kind != "system"
}

/// Moves the selection `delta` messages, towards older when negative;
/// from no selection, the first step is to the newest message. Moving past
/// the oldest loaded message asks for older history.
pub fn select(state: &mut AppState, delta: i64, fx: &mut Vec<Effect>) {
    let current = state.selected_message().map(|(i, _)| i);
    let Some(open) = &state.open else { return };
    let messages = &open.messages;
    let Some(newest) = (0..messages.len())
        .rev()
        .find(|&i| selectable(&messages[i]))
    else {
        return;
    };
    let (mut at, mut steps) = match current {
        Some(at) => (at, delta.unsigned_abs()),
        None => (newest, delta.unsigned_abs().saturating_sub(1)),
    };
    while steps > 0 {
        let next = if delta < 0 {
            (0..at).rev().find(|&i| selectable(&messages[i]))
        } else {
            (at + 1..=newest).find(|&i| selectable(&messages[i]))
        };
        let Some(next) = next else { break };
        at = next;
        steps -= 1;
    }
    let past_the_oldest = delta < 0 && steps > 0;
    select_at(state, at);
    if past_the_oldest {
        load_older(state, fx);
    }
}

/// Selects the loaded message at `i` and scrolls it into sight.
fn select_at(state: &mut AppState, i: usize) {
    let areas = state.areas();
    let (width, page) = (areas.message_width(), areas.message_page());
    let Some(open) = &mut state.open else { return };
    let Some(m) = open.messages.get(i) else {
        return;
    };
    open.selected = Some(MessageKey::of(m));
    // In rows from the bottom, as `scroll` counts: the message takes
    // `below .. below + height`, its header the last of them.
    let below: usize = open.messages[i + 1..]
        .iter()
        .map(|m| MessageRows::new(m, width).height())
        .sum();
    let height = MessageRows::new(m, width).height();
    if open.scroll > below {
        open.scroll = below;
    }
    // The header wins over the last rows when the message is taller than the pane.
    if below + height > open.scroll + page {
        open.scroll = below + height - page;
    }
}

/// Selects the loaded message at `i` with its context: its header near
/// the middle of the pane, as far as the history allows.
pub fn select_centered(state: &mut AppState, i: usize) {
    let areas = state.areas();
    let (width, page) = (areas.message_width(), areas.message_page());
    let Some(open) = &mut state.open else { return };
    let Some(m) = open.messages.get(i) else {
        return;
    };
    open.selected = Some(MessageKey::of(m));
    // Rows from the bottom up to and with the message: its header is the last.
    let through: usize = open.messages[i..]
        .iter()
        .map(|m| MessageRows::new(m, width).height())
        .sum();
    let max = (layout::count_rows(&open.messages, width, usize::MAX) + 1).saturating_sub(page);
    open.scroll = through.saturating_sub(page / 2).min(max);
}

/// Forgets the selection; returns whether there was one.
pub fn clear(state: &mut AppState) -> bool {
    state
        .open
        .as_mut()
        .and_then(|o| o.selected.take())
        .is_some()
}
