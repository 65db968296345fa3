//! Where everything goes on the screen, in rows and columns: the panes, the
//! composer's rows, each message's rows, the list entries. `update` (mouse,
//! paging, scrolling) and `draw` both read it, so they agree on every row;
//! it knows nothing of either (no app state, no styles).

use ipc_schema::files::shown_name;
use ipc_schema::methods::{FileState, FileView, MessageState, MessageView, ReactionView};
use ipc_schema::text::human_size;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::widgets::Block;
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use crate::text::{drawable, truncate, wrap};

/// Columns a message body is indented by under its header.
pub const INDENT: usize = 2;

/// Rows each conversation takes in the list.
pub const LIST_ROWS_PER_ENTRY: u16 = 2;

/// The screen's regions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Areas {
    /// The conversation list (with its border).
    pub list: Rect,
    /// The message pane (with its border).
    pub messages: Rect,
    /// The composer (with its border).
    pub composer: Rect,
    /// The one-line status bar.
    pub status: Rect,
}

impl Areas {
    /// Splits `area`; `draft` is the open conversation's draft and cursor,
    /// whose rows decide the composer's height.
    pub fn new(area: Rect, draft: Option<(&str, usize)>) -> Areas {
        let [main, status] =
            Layout::vertical([Constraint::Min(3), Constraint::Length(1)]).areas(area);
        let list_w = (main.width / 4).clamp(22, 34).min(main.width / 2);
        let [list, right] =
            Layout::horizontal([Constraint::Length(list_w), Constraint::Min(1)]).areas(main);
        let rows = match draft {
            Some((text, cursor)) => composer_rows(text, cursor, right.width.saturating_sub(2))
                .0
                .len() as u16,
            None => 1,
        };
        let composer_h = (rows.clamp(1, 6) + 2).min(right.height.saturating_sub(3));
        let [messages, composer] =
            Layout::vertical([Constraint::Min(1), Constraint::Length(composer_h)]).areas(right);
        Areas {
            list,
            messages,
            composer,
            status,
        }
    }

    /// Columns inside the message pane's border.
    pub fn message_width(&self) -> usize {
        usize::from(self.messages.width.saturating_sub(2))
    }

    /// Rows inside the message pane's border (at least 1).
    pub fn message_page(&self) -> usize {
        usize::from(self.messages.height.saturating_sub(2)).max(1)
    }
}

/// Splits the composer's `text` into rows of at most `width` columns,
/// wrapped by character so the cursor is easy to place; returns the rows and
/// the (row, column) of the byte index `cursor`.
pub fn composer_rows(text: &str, cursor: usize, width: u16) -> (Vec<String>, (usize, usize)) {
    let width = usize::from(width.max(2));
    let mut rows = vec![String::new()];
    let mut col = 0;
    let mut at = (0, 0);
    for (i, c) in text.char_indices() {
        if i == cursor {
            at = (rows.len() - 1, col);
        }
        if c == '\n' {
            rows.push(String::new());
            col = 0;
            continue;
        }
        let c = if c.is_control() { '\u{fffd}' } else { c };
        let w = c.width().unwrap_or(0);
        if col + w > width {
            rows.push(String::new());
            col = 0;
        }
        rows.last_mut().expect("never empty").push(c);
        col += w;
    }
    if cursor >= text.len() {
        // The cursor after the last character needs a cell of its own.
        if col >= width {
            rows.push(String::new());
            col = 0;
        }
        at = (rows.len() - 1, col);
    }
    (rows, at)
}

/// What a message's body shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyKind {
    /// A text, wrapped.
    Text,
    /// A note that the payload type cannot be shown.
    Unsupported,
    /// [`TOMBSTONE`]: its author deleted it for everyone.
    Deleted,
    /// A file's one row ([`file_row`]).
    File,
}

/// Shown in place of the body of a message its author deleted.
pub const TOMBSTONE: &str = "[deleted]";

/// Most columns a reaction's emoji takes: a peer's "emoji" is up to 32
/// bytes of anything that is not a control or a space.
pub const EMOJI_MAX_WIDTH: usize = 8;

/// Columns between two reactions on a row.
pub const REACTION_GAP: usize = 2;

/// One reaction as the message pane shows it, the emoji and how many chose
/// it: `👍 2`.
pub fn reaction_chip(r: &ReactionView) -> String {
    format!("{} {}", truncate(&r.emoji, EMOJI_MAX_WIDTH), r.users.len())
}

/// The reactions someone still has, as rows of [`reaction_chip`]s that fit
/// in `width` (indexes into `reactions`).
fn reaction_rows(reactions: &[ReactionView], width: usize) -> Vec<Vec<usize>> {
    let mut rows: Vec<Vec<usize>> = Vec::new();
    let mut used = 0;
    for (i, r) in reactions.iter().enumerate() {
        if r.users.is_empty() {
            continue;
        }
        let w = reaction_chip(r).width();
        match rows.last_mut() {
            Some(row) if used + REACTION_GAP + w <= width => {
                row.push(i);
                used += REACTION_GAP + w;
            }
            _ => {
                rows.push(vec![i]);
                used = w;
            }
        }
    }
    rows
}

/// Shown under a body that was cut (`MessageView::truncated`): chat-tui
/// keeps and draws the first 64 KiB of a text, so a few 4 MiB texts cost
/// no more per frame than any other; `chat-ctl log` fetches them whole.
pub const CUT_MARKER: &str = "… (cut at 64 KiB; `chat-ctl log` shows it whole)";

/// The rows of one message under its one-row header, at some width, as text;
/// `draw` styles them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageRows {
    /// Whether a row above the body quotes the message it answers; `draw`
    /// finds that one among the loaded messages (the row is there either way).
    pub reply: bool,
    /// The body's rows (already indented by nothing; `draw` adds [`INDENT`]).
    pub body: Vec<String>,
    /// Whether `body` is text, the unsupported-type note or the tombstone.
    pub kind: BodyKind,
    /// [`CUT_MARKER`], fitted to the width, when the body was cut.
    pub cut: Option<String>,
    /// Why it failed, wrapped, when it did.
    pub failure: Vec<String>,
    /// The reactions under it, in rows (indexes into the message's
    /// `reactions`; `draw` styles each [`reaction_chip`]).
    pub reactions: Vec<Vec<usize>>,
}

impl MessageRows {
    /// Lays out `m` for a pane `width` columns wide.
    pub fn new(m: &MessageView, width: usize) -> MessageRows {
        let body_w = width.saturating_sub(INDENT).max(1);
        let (body, kind) = match (m.kind.as_str(), &m.body) {
            // Nothing of a deleted text is shown, not even what it answered.
            _ if m.deleted => (vec![truncate(TOMBSTONE, body_w)], BodyKind::Deleted),
            ("text", Some(body)) => (wrap(body, body_w), BodyKind::Text),
            // A group's history line: its one row is the header.
            ("system", _) => (Vec::new(), BodyKind::Text),
            ("file", body) => {
                let row = match &m.file {
                    Some(f) => file_row(f, "s", body_w),
                    // From a chatd that does not say where the file is.
                    None => vec![(
                        format!("{CLIP}{}", shown_name(body.as_deref().unwrap_or_default())),
                        FilePart::Name,
                    )],
                };
                let row: String = row.into_iter().map(|(text, _)| text).collect();
                (vec![truncate(&row, body_w)], BodyKind::File)
            }
            (kind, _) => (
                vec![truncate(
                    &format!("[unsupported message type “{kind}”]"),
                    body_w,
                )],
                BodyKind::Unsupported,
            ),
        };
        let failure = if m.state == MessageState::Failed {
            let reason = m.failure.as_deref().unwrap_or("unknown reason");
            wrap(reason, body_w)
        } else {
            Vec::new()
        };
        let cut = (m.truncated && kind == BodyKind::Text).then(|| truncate(CUT_MARKER, body_w));
        let shown = m.kind != "system" && kind != BodyKind::Deleted;
        MessageRows {
            reply: shown && m.reply_to.is_some(),
            body,
            kind,
            cut,
            failure,
            reactions: if shown {
                reaction_rows(&m.reactions, body_w)
            } else {
                Vec::new()
            },
        }
    }

    /// Rows the message takes, its header included.
    pub fn height(&self) -> usize {
        1 + usize::from(self.reply)
            + self.body.len()
            + usize::from(self.cut.is_some())
            + self.failure.len()
            + self.reactions.len()
    }
}

/// What starts a file's row.
pub const CLIP: &str = "📎 ";

/// Columns a file's row keeps for its state before cutting its name.
const STATE_ROOM: usize = 32;

/// A piece of a file's row, for `draw` to style.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FilePart {
    /// The clip and the file's shown name.
    Name,
    /// Its size.
    Size,
    /// Where it is on its way: uploading, downloading, not fetched.
    Moving,
    /// Why it failed.
    Failed,
}

/// How far `done` of `size` bytes is, in whole percent (0 to 100).
pub fn percent(done: u64, size: u64) -> u64 {
    if size == 0 {
        return 100;
    }
    (u128::from(done.min(size)) * 100 / u128::from(size)) as u64
}

/// Where a file is, as its row says it, unless it is simply here (kept,
/// or sent from this device): `uploading 45%`, `downloading 45%`,
/// `not fetched — s to save` (`save_key` being the key that saves),
/// `failed: why`.
pub fn file_state(f: &FileView, save_key: &str) -> Option<(String, FilePart)> {
    let (text, part) = match f.state {
        FileState::Uploading => (
            format!("uploading {}%", percent(f.done, f.size)),
            FilePart::Moving,
        ),
        FileState::Downloading => (
            format!("downloading {}%", percent(f.done, f.size)),
            FilePart::Moving,
        ),
        FileState::Waiting => (
            format!("not fetched — {save_key} to save"),
            FilePart::Moving,
        ),
        FileState::Failed => {
            let why = f.failure.as_deref().unwrap_or("unknown reason");
            // One row: a reason's line breaks become spaces.
            (
                format!("failed: {}", why.replace(['\n', '\r'], " ")),
                FilePart::Failed,
            )
        }
        FileState::Uploaded | FileState::Ready => return None,
    };
    Some((text, part))
}

/// A file message's one row at most `width` columns wide, in pieces:
/// `📎 build.log  2.3 MB  downloading 45%`. The name is the shown name
/// (never a path, no controls) and every piece is [`truncate`]d, so a
/// peer's name or failure reason is drawn inert; a long name is cut first,
/// so the size and the state stay in sight.
pub fn file_row(f: &FileView, save_key: &str, width: usize) -> Vec<(String, FilePart)> {
    let name = drawable(&shown_name(&f.name)).into_owned();
    let mut tail = vec![(format!("  {}", human_size(f.size)), FilePart::Size)];
    if let Some((text, part)) = file_state(f, save_key) {
        tail.push((drawable(&format!("  {text}")).into_owned(), part));
    }
    // The name gets what the size and the state leave (a long failure
    // reason is cut rather than the name), and a few columns at least.
    let reserved: usize = tail
        .iter()
        .map(|(t, part)| match part {
            FilePart::Size => t.width(),
            _ => t.width().min(STATE_ROOM),
        })
        .sum();
    let name_room = width
        .saturating_sub(CLIP.width() + reserved)
        .max(name.width().min(8));
    let mut parts = vec![(
        truncate(&format!("{CLIP}{}", truncate(&name, name_room)), width),
        FilePart::Name,
    )];
    let mut used = parts[0].0.width();
    for (text, part) in tail {
        let room = width.saturating_sub(used);
        if room == 0 {
            break;
        }
        let text = truncate(&text, room);
        used += text.width();
        parts.push((text, part));
    }
    parts
}

/// Rows of `messages` at `width`, counting from the newest and stopping once
/// `limit` is reached, so a long history costs nothing beyond what is needed.
pub fn count_rows(messages: &[MessageView], width: usize, limit: usize) -> usize {
    let mut total = 0;
    for m in messages.iter().rev() {
        total += MessageRows::new(m, width).height();
        if total >= limit {
            break;
        }
    }
    total
}

/// The first list entry shown in a list `inner_height` rows tall, so that
/// entry `selected` is visible.
pub fn list_offset(selected: usize, inner_height: u16) -> usize {
    let visible = usize::from((inner_height / LIST_ROWS_PER_ENTRY).max(1));
    selected.saturating_sub(visible - 1)
}

/// The entry of a list of `len` drawn in `area` (border included) under
/// screen row `row`, if any.
pub fn list_entry_at(area: Rect, selected: usize, len: usize, row: u16) -> Option<usize> {
    let inner = Block::bordered().inner(area);
    if row < inner.y || row >= inner.bottom() {
        return None;
    }
    let i =
        list_offset(selected, inner.height) + usize::from((row - inner.y) / LIST_ROWS_PER_ENTRY);
    (i < len).then_some(i)
}

/// The largest useful scroll of a help window of `rows` rows on a terminal of `area`.
pub fn help_max_scroll(area: Rect, rows: usize) -> u16 {
    (rows as u16 + 2).saturating_sub(area.height)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_positions_follow_wrapping_and_wide_characters() {
        assert_eq!(composer_rows("", 0, 10), (vec![String::new()], (0, 0)));
        let (rows, at) = composer_rows("ab\ncd", 4, 10);
        assert_eq!((rows, at), (vec!["ab".into(), "cd".into()], (1, 1)));
        let (rows, at) = composer_rows("日本語", 9, 4);
        assert_eq!(rows, vec!["日本", "語"]);
        assert_eq!(at, (1, 2));
        let (rows, at) = composer_rows("abcd", 4, 4);
        assert_eq!(rows, vec!["abcd", ""]);
        assert_eq!(at, (1, 0));
    }

    fn text(body: &str) -> MessageView {
        MessageView {
            id: "0".repeat(32),
            from: "bob".into(),
            to: "alice".into(),
            ts: 0,
            direction: ipc_schema::methods::Direction::In,
            kind: "text".into(),
            body: Some(body.into()),
            reply_to: None,
            state: MessageState::Read,
            failure: None,
            seq: 1,
            truncated: false,
            group: None,
            deliveries: Vec::new(),
            edited: false,
            deleted: false,
            reactions: Vec::new(),
            file: None,
        }
    }

    fn reaction(emoji: &str, users: &[&str]) -> ReactionView {
        ReactionView {
            emoji: emoji.into(),
            users: users.iter().map(|u| u.to_string()).collect(),
        }
    }

    #[test]
    fn a_reply_and_reactions_add_rows_and_a_tombstone_has_one() {
        let mut m = text("one two three");
        assert_eq!(MessageRows::new(&m, 40).height(), 2);
        m.reply_to = Some("1".repeat(32));
        m.reactions = vec![
            reaction("👍", &["alice", "bob"]),
            reaction("🎉", &["carol"]),
            reaction("😮", &[]),
        ];
        let rows = MessageRows::new(&m, 40);
        assert!(rows.reply);
        assert_eq!(rows.reactions, vec![vec![0, 1]]);
        assert_eq!(rows.height(), 4);
        // Two chips of 4 columns and the gap fit in 10, not in 9.
        assert_eq!(MessageRows::new(&m, 12).reactions, vec![vec![0, 1]]);
        assert_eq!(MessageRows::new(&m, 11).reactions, vec![vec![0], vec![1]]);
        m.deleted = true;
        m.body = None;
        let rows = MessageRows::new(&m, 40);
        assert_eq!(
            (rows.body, rows.kind),
            (vec![TOMBSTONE.to_owned()], BodyKind::Deleted)
        );
        assert!(!rows.reply && rows.reactions.is_empty());
    }

    #[test]
    fn a_reaction_is_drawable_and_short_whatever_the_peer_sent() {
        let chip = reaction_chip(&reaction("\x1b[2J\u{202e}abcdefghijkl", &["bob"]));
        assert_eq!(chip, "␛[2J\u{fffd}ab… 1");
        assert!(chip.width() <= EMOJI_MAX_WIDTH + 2);
    }
}
