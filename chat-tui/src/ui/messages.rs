//! The message pane, laid out from the bottom up: only the messages that show
//! are wrapped, so a conversation of any length costs the same per frame.

use ipc_schema::methods::{Direction, MessageState, MessageView};
use ratatui::Frame;
use ratatui::layout::{Alignment, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use crate::app::{AppState, DaemonLink, OpenConversation, Pane};
use crate::text::{sanitize, truncate, wrap};

/// Columns the body is indented by under its header.
const INDENT: usize = 2;

/// The delivery mark of an outgoing message.
pub fn tick(state: MessageState) -> &'static str {
    match state {
        MessageState::Queued => "◷",
        MessageState::Sent => "✓",
        MessageState::Delivered | MessageState::Read => "✓✓",
        MessageState::Failed => "✗ failed",
    }
}

/// The rows of one message at `width` columns: a header, the wrapped body, and
/// the failure reason if any. `index` is its place among the loaded messages.
pub fn message_lines(
    state: &AppState,
    m: &MessageView,
    index: Option<usize>,
    width: usize,
) -> Vec<Line<'static>> {
    let t = &state.theme;
    let outgoing = m.direction == Direction::Out;
    let current_match = index.is_some()
        && state
            .search
            .as_ref()
            .is_some_and(|s| !s.editing && s.current == index);
    let mut header = vec![
        Span::styled(
            truncate(&m.from, width.saturating_sub(12)),
            if outgoing { t.me } else { t.peer },
        ),
        Span::styled(format!(" {}", state.tz.hh_mm(m.ts)), t.dim),
    ];
    if outgoing {
        let style = match m.state {
            MessageState::Read => t.read.add_modifier(Modifier::BOLD),
            MessageState::Failed => t.error,
            _ => t.dim,
        };
        header.push(Span::styled(format!(" {}", tick(m.state)), style));
    }
    let mut header = Line::from(header);
    if current_match {
        header = header.style(t.highlight);
    }
    let body_w = width.saturating_sub(INDENT).max(1);
    let pad = " ".repeat(INDENT.min(width.saturating_sub(1)));
    let mut lines = vec![header];
    match (m.kind.as_str(), &m.body) {
        ("text", Some(body)) => {
            for row in wrap(&sanitize(body), body_w) {
                lines.push(Line::from(vec![Span::raw(pad.clone()), Span::raw(row)]));
            }
        }
        (kind, _) => lines.push(Line::from(vec![
            Span::raw(pad.clone()),
            Span::styled(
                truncate(
                    &format!("[unsupported message type “{}”]", sanitize(kind)),
                    body_w,
                ),
                t.dim.add_modifier(Modifier::ITALIC),
            ),
        ])),
    }
    if m.state == MessageState::Failed {
        let reason = m.failure.as_deref().unwrap_or("unknown reason");
        for row in wrap(&sanitize(reason), body_w) {
            lines.push(Line::from(vec![
                Span::raw(pad.clone()),
                Span::styled(row, t.error),
            ]));
        }
    }
    lines
}

/// Rows one message takes at `width`.
pub fn message_height(state: &AppState, m: &MessageView, width: usize) -> usize {
    message_lines(state, m, None, width).len()
}

/// Rows of the loaded messages at `width`, counting from the newest and
/// stopping once `limit` is reached.
pub fn count_rows(state: &AppState, open: &OpenConversation, width: usize, limit: usize) -> usize {
    let mut total = 0;
    for m in open.messages.iter().rev() {
        total += message_height(state, m, width);
        if total >= limit {
            break;
        }
    }
    total
}

/// Draws the message pane into `area`.
pub fn draw(frame: &mut Frame, state: &AppState, area: Rect) {
    let t = &state.theme;
    let border = if state.focus == Pane::Messages {
        t.border_focus
    } else {
        t.border
    };
    let mut block = Block::bordered().border_style(border);
    let Some(open) = &state.open else {
        let inner = block.inner(area);
        frame.render_widget(block, area);
        draw_placeholder(frame, state, inner);
        return;
    };
    let mut title = vec![Span::styled(
        format!(" {}", open.peer),
        Style::new().add_modifier(Modifier::BOLD),
    )];
    if state.is_verified(&open.peer) {
        title.push(Span::styled(" ✓ verified", t.verified));
    }
    title.push(Span::raw(" "));
    block = block.title(Line::from(title));
    if open.scroll > 0 {
        block = block.title_bottom(
            Line::from(format!(" ↓ {} more rows · G to jump ", open.scroll))
                .alignment(Alignment::Right),
        );
    }
    if let Some(search) = &state.search {
        let text = if search.editing {
            format!(" /{}▏ ", search.query)
        } else {
            format!(" /{} · n older · N newer · Esc ", search.query)
        };
        block = block.title_bottom(Line::from(text).alignment(Alignment::Left));
    }
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let width = usize::from(inner.width);
    let height = usize::from(inner.height);
    if width == 0 || height == 0 {
        return;
    }
    let mut rows: Vec<Line> = Vec::with_capacity(height);
    let mut skip = open.scroll;
    'outer: for (i, m) in open.messages.iter().enumerate().rev() {
        for line in message_lines(state, m, Some(i), width).into_iter().rev() {
            if skip > 0 {
                skip -= 1;
                continue;
            }
            rows.push(line);
            if rows.len() == height {
                break 'outer;
            }
        }
    }
    if rows.len() < height && skip == 0 {
        let marker = if open.loading {
            "loading…".to_owned()
        } else if open.has_more {
            "PageUp: older messages".to_owned()
        } else {
            format!("start of your conversation with {}", open.peer)
        };
        rows.push(Line::styled(truncate(&marker, width), t.dim).alignment(Alignment::Center));
    }
    rows.reverse();
    let top = inner.y + (inner.height - rows.len() as u16);
    let area = Rect::new(inner.x, top, inner.width, rows.len() as u16);
    frame.render_widget(Paragraph::new(rows), area);
}

fn draw_placeholder(frame: &mut Frame, state: &AppState, inner: Rect) {
    let t = &state.theme;
    let lines = match &state.daemon {
        DaemonLink::Offline { reason } => vec![
            Line::styled("daemon offline — retrying", t.error),
            Line::raw(""),
            Line::styled(sanitize(reason), t.dim),
            Line::raw(""),
            Line::raw("Start it with `chatd` (or `chatd --socket PATH`);"),
            Line::raw("this screen reconnects by itself every second."),
        ],
        DaemonLink::Connecting => vec![Line::styled(
            format!("connecting to {}…", state.socket),
            t.dim,
        )],
        DaemonLink::Online => vec![
            Line::raw("Select a conversation and press Enter."),
            Line::styled("? shows every key", t.dim),
        ],
    };
    let top = inner.height.saturating_sub(lines.len() as u16) / 2;
    let area = Rect::new(inner.x, inner.y + top, inner.width, inner.height - top);
    frame.render_widget(
        Paragraph::new(lines)
            .alignment(Alignment::Center)
            .wrap(ratatui::widgets::Wrap { trim: true }),
        area,
    );
}
