//! The pure heart of the app: `update(state, action)` changes the state and
//! returns the effects to run. No I/O, no clock, no terminal.

use ipc_schema::methods::{
    ContactChangedEvent, Direction, Event, MessageListResult, MessageReceivedEvent,
    MessageStateEvent, MessageView,
};

use crate::app::action::{Action, Effect};
use crate::app::keys::HELP;
use crate::app::state::{
    AppState, ComposeMode, DaemonLink, OpenConversation, Overlay, Pane, SearchQuery, Status,
};
use crate::app::upload::{self, Typed};
use crate::app::{
    contacts, devices, files, key_change, lists, members, message_changes, picker, search,
    selection,
};
use crate::layout::{self, MessageRows};
use crate::qr::Qr;

/// Applies `action` to `state`; returns what the backend should do.
pub fn update(state: &mut AppState, action: Action) -> Vec<Effect> {
    let mut fx = Vec::new();
    match action {
        Action::Quit => state.should_quit = true,
        Action::FocusNext | Action::FocusPrev => {
            let order = [Pane::List, Pane::Messages, Pane::Composer];
            let usable = |p: &Pane| *p == Pane::List || state.open.is_some();
            let i = order.iter().position(|p| *p == state.focus).unwrap_or(0);
            let step = if action == Action::FocusNext { 1 } else { 2 };
            let mut next = (i + step) % 3;
            while !usable(&order[next]) {
                next = (next + step) % 3;
            }
            state.focus = order[next];
        }
        Action::Focus(pane) => {
            if pane == Pane::List || state.open.is_some() {
                state.focus = pane;
            }
        }
        Action::SelectNext if picker::is_open(state) => picker::select(state, 1),
        Action::SelectPrev if picker::is_open(state) => picker::select(state, -1),
        Action::SelectNext if is_contacts(state) => contacts::select(state, 1),
        Action::SelectPrev if is_contacts(state) => contacts::select(state, -1),
        Action::SelectFirst if is_contacts(state) => contacts::select(state, i64::MIN),
        Action::SelectLast if is_contacts(state) => contacts::select(state, i64::MAX),
        Action::SelectNext => {
            if state.selected + 1 < state.conversations.len() {
                state.selected += 1;
            }
        }
        Action::SelectPrev => state.selected = state.selected.saturating_sub(1),
        Action::SelectFirst => state.selected = 0,
        Action::SelectLast => state.selected = state.conversations.len().saturating_sub(1),
        Action::OpenSelected => {
            if let Some(peer) = state.selected_peer().map(str::to_owned) {
                open_conversation(state, &peer, &mut fx);
                state.focus = Pane::Composer;
            }
        }
        Action::ScrollUp(n) if state.overlay == Some(Overlay::Help) => {
            state.help_scroll = state.help_scroll.saturating_sub(n.min(100) as u16);
        }
        Action::ScrollDown(n) if state.overlay == Some(Overlay::Help) => {
            let max = layout::help_max_scroll(state.viewport, HELP.len());
            state.help_scroll = (state.help_scroll + n.min(100) as u16).min(max);
        }
        Action::ScrollUp(n) => scroll_up(state, n, &mut fx),
        Action::ScrollDown(n) => scroll_down(state, n),
        Action::HalfPageUp => scroll_up(state, page(state) / 2, &mut fx),
        Action::HalfPageDown => scroll_down(state, page(state) / 2),
        Action::PageUp => {
            let at_top = state
                .open
                .as_ref()
                .is_some_and(|o| o.scroll >= max_scroll(state, o));
            if at_top {
                load_older(state, &mut fx);
            } else {
                scroll_up(state, page(state).saturating_sub(1), &mut fx);
            }
        }
        Action::PageDown => scroll_down(state, page(state).saturating_sub(1)),
        Action::ScrollTop => scroll_up(state, usize::MAX, &mut fx),
        Action::ScrollBottom => scroll_down(state, usize::MAX),
        Action::Edit(edit) => {
            if let Some(composer) = state.composer_mut() {
                composer.apply(edit);
            }
        }
        Action::Submit => submit(state, &mut fx),
        Action::ToggleHelp => {
            state.overlay = match state.overlay.take() {
                Some(Overlay::Help) => None,
                None => {
                    state.help_scroll = 0;
                    Some(Overlay::Help)
                }
                other => other,
            }
        }
        Action::CloseOverlay => {
            if contacts::close(state) || devices::close(state) {
            } else if state.overlay.is_some() {
                state.overlay = None;
            } else if state.search.is_some() {
                state.search = None;
            } else if state.focus == Pane::Messages && selection::clear(state) {
            } else if state.focus != Pane::List {
                state.focus = Pane::List;
            }
        }
        Action::SearchStart => search::start(state),
        Action::SearchEdit(edit) => search::edit(state, edit),
        Action::SearchSubmit => search::submit(state, &mut fx),
        Action::SearchScope => search::toggle_scope(state, &mut fx),
        Action::SearchSelect(delta) => search::select(state, delta, &mut fx),
        Action::SearchNext => search::step(state, true, &mut fx),
        Action::SearchPrev => search::step(state, false, &mut fx),
        Action::SearchResults {
            query,
            peer,
            before,
            result,
        } => search::results(state, SearchQuery { query, peer }, before, result),
        Action::MouseScroll { up, .. } if search::is_open(state) => {
            search::select(state, if up { -1 } else { 1 }, &mut fx);
        }
        Action::MouseClick { .. } if search::is_open(state) => {}
        Action::MouseScroll { up, .. } if is_contacts(state) => {
            contacts::select(state, if up { -1 } else { 1 });
        }
        Action::MouseScroll { up, .. } if devices::is_open(state) => {
            devices::select(state, if up { -1 } else { 1 });
        }
        Action::MouseClick { .. } if is_contacts(state) || devices::is_open(state) => {}
        Action::MouseScroll { column, row, up } => {
            let areas = state.areas();
            if areas.list.contains((column, row).into()) {
                let a = if up {
                    Action::SelectPrev
                } else {
                    Action::SelectNext
                };
                return update(state, a);
            }
            if up {
                scroll_up(state, 3, &mut fx);
            } else {
                scroll_down(state, 3);
            }
        }
        Action::MouseClick { column, row } => {
            let areas = state.areas();
            let pos = (column, row).into();
            if areas.list.contains(pos) {
                state.focus = Pane::List;
                let len = state.conversations.len();
                if let Some(i) = layout::list_entry_at(areas.list, state.selected, len, row) {
                    state.selected = i;
                    return update(state, Action::OpenSelected);
                }
            } else if areas.messages.contains(pos) && state.open.is_some() {
                state.focus = Pane::Messages;
            } else if areas.composer.contains(pos) && state.open.is_some() {
                state.focus = Pane::Composer;
            }
        }
        Action::Resize(w, h) => state.viewport = ratatui::layout::Rect::new(0, 0, w, h),
        Action::Tick(now) => {
            state.now_ms = now;
            devices::tick(state);
        }
        Action::OpenEditor => {
            if let Some(c) = state.composer() {
                fx.push(Effect::OpenEditor(c.text.clone()));
            }
        }
        Action::EditorDone(text) => {
            if let Some(c) = state.composer_mut() {
                *c = crate::app::Composer::with_text(text.trim_end_matches('\n'));
            }
        }
        Action::DaemonOnline => {
            let was_offline = matches!(state.daemon, DaemonLink::Offline { .. });
            state.daemon = DaemonLink::Online;
            if was_offline {
                state.notice = Some("reconnected to chatd".into());
            }
            fx.extend([
                Effect::LoadStatus,
                Effect::LoadContacts,
                Effect::LoadGroups,
                Effect::LoadConversations,
            ]);
            devices::refresh(state, &mut fx);
            files::reconnected(state, &mut fx);
            if let Some(open) = &mut state.open {
                open.loading = true;
                let peer = open.peer.clone();
                fx.extend([
                    Effect::LoadMessages { peer: peer.clone() },
                    Effect::Focus {
                        peer: Some(peer.clone()),
                    },
                    Effect::MarkRead { peer },
                ]);
            }
        }
        Action::DaemonResumed => {
            state.daemon = DaemonLink::Online;
            state.notice = Some("reconnected to chatd".into());
            files::reconnected(state, &mut fx);
            if let Some(open) = &mut state.open {
                // Focus belongs to a connection, and a conversation opened
                // while offline was neither marked read nor loaded.
                let peer = open.peer.clone();
                open.loading = open.messages.is_empty();
                if open.loading {
                    fx.push(Effect::LoadMessages { peer: peer.clone() });
                }
                fx.extend([
                    Effect::Focus {
                        peer: Some(peer.clone()),
                    },
                    Effect::MarkRead { peer },
                ]);
            }
        }
        Action::DaemonOffline(reason) => {
            state.daemon = DaemonLink::Offline { reason };
            devices::offline(state);
            search::offline(state);
            if let Some(open) = &mut state.open {
                open.loading = false;
            }
        }
        Action::Status(s) => {
            state.status = Status {
                user: s.user,
                fingerprint: s.fingerprint,
                // A chatd from before several URLs lists none: its one URL.
                relay_urls: if s.relays.is_empty() {
                    s.relay_url.into_iter().collect()
                } else {
                    s.relays.into_iter().map(|r| r.url).collect()
                },
                connection: Some(s.connection),
                connection_error: state.status.connection_error.take(),
                unread: s.unread,
                outbox_pending: s.outbox_pending,
            };
        }
        Action::Conversations(list) => lists::set_conversations(state, list),
        Action::Groups(groups) => state.groups = groups,
        Action::Contacts(list) => lists::set_contacts(state, list),
        Action::Messages { peer, page, older } => {
            if let Some(open) = state.open.as_mut().filter(|o| o.peer == peer) {
                open.loading = false;
                let page = MessageListResult {
                    messages: page.messages.into_iter().map(lists::bounded).collect(),
                    ..page
                };
                if older {
                    open.has_more = page.has_more;
                    let known: std::collections::HashSet<_> =
                        open.messages.iter().map(|m| m.id.clone()).collect();
                    let mut older: Vec<_> = page
                        .messages
                        .into_iter()
                        .filter(|m| !known.contains(&m.id))
                        .collect();
                    older.append(&mut open.messages);
                    open.messages = older;
                } else {
                    // Keep messages that arrived by event while the page was
                    // on its way: chatd's own order (seq), not the senders' clocks.
                    let newest = page.messages.last().map_or(0, |m| m.seq);
                    let ids: std::collections::HashSet<_> =
                        page.messages.iter().map(|m| m.id.clone()).collect();
                    let late: Vec<_> = open
                        .messages
                        .drain(..)
                        .filter(|m| !ids.contains(&m.id) && m.seq > newest)
                        .collect();
                    open.messages = page.messages;
                    open.messages.extend(late);
                    open.has_more = page.has_more;
                }
                search::jump(state, &mut fx);
            }
        }
        Action::CallFailed(why) => state.notice = Some(why),
        Action::SendFailed { to, error } => {
            state.notice = Some(format!("not sent to {to}: {error}"))
        }
        Action::Event(envelope) => on_event(state, envelope.event, &mut fx),
        Action::ShowContacts => contacts::show(state, &mut fx),
        Action::ContactAdd => contacts::prompt(state, contacts::add_prompt),
        Action::ContactVerify => contacts::prompt(state, contacts::verify_prompt),
        Action::ContactRemove => contacts::prompt(state, contacts::remove_prompt),
        Action::ContactAcceptKey => key_change::accept(state),
        Action::ContactRefuseKey => key_change::refuse(state),
        Action::ContactChooseKey(choice) => key_change::frozen::choose(state, choice),
        Action::PromptEdit(edit) if picker::is_open(state) => picker::edit(state, edit),
        Action::PromptSubmit if picker::is_open(state) => {
            let request = match &state.overlay {
                Some(Overlay::Picker(p)) => picker::create_request(&p.query.text),
                _ => None,
            };
            if let Some((name, members)) = request {
                state.overlay = None;
                state.notice = Some(format!("creating #{name}…"));
                fx.push(Effect::CreateGroup { name, members });
            } else if let Some(i) = picker::submit(state) {
                state.selected = i;
                return update(state, Action::OpenSelected);
            }
        }
        Action::PromptEdit(edit) if files::is_open(state) => files::prompt_edit(state, edit),
        Action::PromptSubmit if files::is_open(state) => files::prompt_submit(state, &mut fx),
        Action::PromptEdit(edit) if upload::is_open(state) => upload::prompt_edit(state, edit),
        Action::PromptSubmit if upload::is_open(state) => upload::prompt_submit(state, &mut fx),
        Action::PromptEdit(edit) if message_changes::is_open(state) => {
            message_changes::prompt_edit(state, edit)
        }
        Action::PromptSubmit if message_changes::is_open(state) => {
            message_changes::prompt_submit(state, &mut fx)
        }
        Action::PromptEdit(edit) if devices::is_open(state) => devices::edit(state, edit),
        Action::PromptSubmit if devices::is_open(state) => devices::submit(state, &mut fx),
        Action::PromptEdit(edit) => contacts::edit(state, edit),
        Action::PromptSubmit => contacts::submit(state, &mut fx),
        Action::OpenPicker => picker::open(state),
        Action::ContactResult(result) => contacts::result(state, result, &mut fx),
        Action::ShowMembers => members::show(state, &mut fx),
        Action::MemberSelect(delta) => members::select(state, delta),
        Action::MemberAddPrompt => members::add_prompt(state),
        Action::MemberRemovePrompt => members::remove_prompt(state),
        Action::MemberPromptEdit(edit) => members::edit(state, edit),
        Action::MemberPromptSubmit => members::submit(state, &mut fx),
        Action::MemberPromptCancel => members::cancel(state),
        Action::MemberResult(result) => members::result(state, result),
        Action::GroupInfo(info) => state.members = Some(info),
        Action::GroupCreated(result) => match result {
            Ok(group) => {
                state.notice = Some(format!(
                    "created #{} with {} members",
                    group.name, group.members
                ));
                state.groups.push(group);
                fx.extend([Effect::LoadGroups, Effect::LoadConversations]);
            }
            Err(why) => state.notice = Some(why),
        },
        Action::ShowIdentity => {
            state.overlay = Some(Overlay::Identity);
            if state.daemon == DaemonLink::Online {
                fx.push(Effect::LoadIdentity);
            }
        }
        Action::Identity { show, card } => {
            let qr = Qr::encode(card.as_bytes());
            state.identity = Some(crate::app::state::Identity { show, card, qr });
        }
        Action::ShowDevices => devices::show(state, &mut fx),
        Action::Devices(result) => devices::listed(state, result),
        Action::DeviceSelect(delta) => devices::select(state, delta),
        Action::DeviceRevoke => devices::revoke(state),
        Action::DeviceRename => devices::rename(state),
        Action::DeviceLink { with_history } => devices::link(state, with_history, &mut fx),
        Action::DeviceRevoked { id, result } => devices::revoked(state, id, result, &mut fx),
        Action::DeviceRenamed { id, name, result } => {
            devices::renamed(state, id, name, result, &mut fx)
        }
        Action::DeviceLinked(result) => devices::linked(state, result),
        Action::MessageSelect(delta) => selection::select(state, delta, &mut fx),
        Action::Reply => message_changes::reply(state),
        Action::EditMessage => message_changes::edit(state),
        Action::DeleteMessage => message_changes::delete(state),
        Action::React => message_changes::react(state),
        Action::ReactQuick(n) => message_changes::react_quick(state, n, &mut fx),
        Action::CancelCompose => message_changes::cancel(state),
        Action::MessageChanged { peer, message } => message_changes::changed(state, &peer, message),
        Action::MessageChangeFailed { change, error } => {
            message_changes::failed(state, change, error)
        }
        Action::SaveFile => files::save(state),
        Action::OpenFile => files::open(state, &mut fx),
        Action::FileFetched { job, result } => files::fetched(state, job, result, &mut fx),
        Action::FileWritten { job, result } => files::written(state, job, result),
        Action::AttachFile => upload::attach(state),
        Action::FileSent { to, name, result } => upload::sent(state, &to, &name, result),
    }
    fx
}

/// Opens `peer`'s conversation, unless it is open already.
pub(crate) fn open_conversation(state: &mut AppState, peer: &str, fx: &mut Vec<Effect>) {
    if state.open.as_ref().is_some_and(|o| o.peer == peer) {
        return;
    }
    state.open = Some(OpenConversation::new(peer));
    if let Some(c) = state.conversations.iter_mut().find(|c| c.peer == peer) {
        state.status.unread = state.status.unread.saturating_sub(c.unread);
        c.unread = 0;
    }
    if state.daemon != DaemonLink::Online {
        return;
    }
    fx.extend([
        Effect::LoadMessages { peer: peer.into() },
        Effect::Focus {
            peer: Some(peer.into()),
        },
        Effect::MarkRead { peer: peer.into() },
        Effect::LoadStatus,
    ]);
}

/// Enter in the composer: the draft is sent as a text, a reply or an
/// edit, or, on `/file PATH` (not in an edit), as that file.
fn submit(state: &mut AppState, fx: &mut Vec<Effect>) {
    let online = state.daemon == DaemonLink::Online;
    let Some(open) = &state.open else { return };
    let to = open.peer.clone();
    // An edit is the message's new text, exactly as typed.
    let editing = matches!(state.compose_mode(), Some(ComposeMode::Edit { .. }));
    let Some(composer) = state.composer_mut() else {
        return;
    };
    if composer.is_blank() {
        return message_changes::submit_blank(state);
    }
    if !editing && let Typed::File(path) = upload::parse(&composer.text) {
        let path = path.to_owned();
        return upload::from_composer(state, path, fx);
    }
    if !online {
        state.notice = Some("daemon offline — the message stays in the draft".into());
        return;
    }
    let body = composer.take();
    let body = if editing {
        body
    } else {
        upload::unescape(body)
    };
    if let Some(open) = &mut state.open {
        open.scroll = 0;
    }
    fx.extend(message_changes::submit(state, to, body));
}

/// Rows of the message pane's inside.
fn page(state: &AppState) -> usize {
    state.areas().message_page()
}

fn max_scroll(state: &AppState, open: &OpenConversation) -> usize {
    let width = state.areas().message_width();
    let height = page(state);
    // Count only as far as needed: a long history costs nothing here.
    let limit = open.scroll.saturating_add(height).saturating_add(1_000);
    let total = layout::count_rows(&open.messages, width, limit) + 1;
    total.saturating_sub(height)
}

fn scroll_up(state: &mut AppState, n: usize, fx: &mut Vec<Effect>) {
    let Some(open) = &state.open else { return };
    let target = open.scroll.saturating_add(n);
    let max = if n == usize::MAX {
        let width = state.areas().message_width();
        (layout::count_rows(&open.messages, width, usize::MAX) + 1).saturating_sub(page(state))
    } else {
        max_scroll(state, open)
    };
    let scroll = target.min(max);
    let reached_top = target >= max;
    if let Some(open) = &mut state.open {
        open.scroll = scroll;
    }
    if reached_top && n != usize::MAX {
        load_older(state, fx);
    }
}

fn scroll_down(state: &mut AppState, n: usize) {
    if let Some(open) = &mut state.open {
        open.scroll = open.scroll.saturating_sub(n);
    }
}

/// Asks for the page before the oldest loaded message, once at a time.
pub(crate) fn load_older(state: &mut AppState, fx: &mut Vec<Effect>) {
    if state.daemon != DaemonLink::Online {
        return;
    }
    let Some(open) = &mut state.open else { return };
    if !open.has_more || open.loading {
        return;
    }
    let Some(oldest) = open.messages.first() else {
        return;
    };
    open.loading = true;
    fx.push(Effect::LoadOlder {
        peer: open.peer.clone(),
        before: oldest.seq,
    });
}

fn on_event(state: &mut AppState, event: Event, fx: &mut Vec<Effect>) {
    match event {
        Event::MessageReceived(MessageReceivedEvent { message }) => {
            let peer = lists::peer_of(&message);
            let on_screen = state.open.as_ref().is_some_and(|o| o.peer == peer);
            lists::message_arrived(state, &message, on_screen);
            let incoming = message.direction == Direction::In;
            if on_screen {
                show_message(state, lists::bounded(message));
                if incoming {
                    fx.push(Effect::MarkRead { peer });
                }
            }
        }
        Event::MessageState(MessageStateEvent {
            id,
            peer,
            state: new_state,
            failure,
            deliveries,
        }) => {
            if let Some(open) = state.open.as_mut().filter(|o| o.peer == peer)
                && let Some(m) = open.messages.iter_mut().rev().find(|m| m.id == id)
            {
                m.state = new_state;
                m.failure = failure;
                if !deliveries.is_empty() {
                    m.deliveries = deliveries;
                }
            }
        }
        Event::ConnectionChanged(e) => {
            state.status.connection = Some(e.connection);
            state.status.connection_error = e.error;
        }
        Event::ContactChanged(ContactChangedEvent {
            change,
            contact,
            new_fingerprint,
            ..
        }) => {
            // A changed key is a warning the user must act on: said until
            // the next notice replaces it (the conversation has its line).
            if let Some(notice) = key_change::notice(change, &contact, new_fingerprint.as_deref()) {
                state.notice = Some(notice);
            }
            lists::contact_changed(state, change, contact);
        }
        // A roster changed: the names and the list may have.
        Event::GroupUpdated(e) => {
            fx.extend([Effect::LoadGroups, Effect::LoadConversations]);
            if matches!(state.overlay, Some(Overlay::Members(_)))
                && state
                    .members
                    .as_ref()
                    .is_some_and(|m| m.group.id == e.group.id)
            {
                fx.push(Effect::LoadGroupInfo { group: e.group.id });
            }
        }
        Event::GroupRemoved(_) => {
            fx.extend([Effect::LoadGroups, Effect::LoadConversations]);
        }
        // An edit, a delete, a reaction or its file moving: the message
        // as it is now. A save or an open may have waited for its file.
        Event::MessageChanged(e) => {
            files::changed(state, &e.message, fx);
            message_changes::changed(state, &e.peer, *e.message);
        }
        Event::DeviceGone(d) => {
            state.notice = Some(format!(
                "device '{}' {}: it no longer gets this account's messages",
                ipc_schema::text::sanitize(&d.name),
                ipc_schema::text::sanitize(&d.gone)
            ));
            devices::refresh(state, fx);
        }
        // Only the user can tell whether it was them: said until the next
        // notice replaces it.
        Event::DeviceAdded(d) => {
            let minutes = d.added_at / 60_000 % (24 * 60);
            state.notice = Some(format!(
                "new device '{}' added at {:02}:{:02} UTC; if this wasn't you, revoke it ({}: devices), which changes your password too",
                ipc_schema::text::sanitize(&d.name),
                minutes / 60,
                minutes % 60,
                state.keys.key(crate::app::keymap::Bound::Devices),
            ));
            devices::refresh(state, fx);
        }
    }
}

/// Appends `message` to the open conversation, once; when the reader has
/// scrolled up, what they look at stays in place.
fn show_message(state: &mut AppState, message: MessageView) {
    let width = state.areas().message_width();
    let Some(open) = state.open.as_mut() else {
        return;
    };
    if open.messages.iter().rev().any(|m| m.id == message.id) {
        return;
    }
    if open.scroll > 0 {
        open.scroll += MessageRows::new(&message, width).height();
    }
    open.messages.push(message);
}

fn is_contacts(state: &AppState) -> bool {
    matches!(state.overlay, Some(Overlay::Contacts(_)))
}
