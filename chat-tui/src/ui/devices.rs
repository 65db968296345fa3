//! The devices view (`D`): the account's devices, active ones first with
//! this one marked, then the ones revoked or expired with when; the revoke
//! and rename prompts over them; or, in their place, a link code for a new
//! machine ([`device_link`](crate::ui::device_link)).
//!
//! Device names and states are the relay's text: every one goes through
//! [`truncate`], [`wrap`] or [`drawable`]. Passwords are drawn as `•` only.

use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Position, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};
use unicode_width::UnicodeWidthStr;

use crate::app::devices::MIN_PASSWORD_CHARS;
use crate::app::keymap::Bound;
use crate::app::{AppState, DaemonLink, DevicePrompt, DevicesView, RevokeStep};
use crate::text::{drawable, list_time, truncate, wrap};
use crate::ui::contacts::skip_cols;
use crate::ui::device_link;
use ipc_schema::methods::DeviceView;

/// Columns of the state column: `revoked 11-24`, `seen 14:05`, `● this device`.
const STATE_W: usize = 14;

/// Draws the view over `area` (everything but the status bar).
pub fn draw(frame: &mut Frame, state: &AppState, view: &DevicesView, area: Rect) {
    let t = &state.theme;
    frame.render_widget(Clear, area);
    let title = match &state.status.user {
        Some(user) => format!(" Devices of {user} — Esc back "),
        None => " Devices — Esc back ".to_owned(),
    };
    let block = Block::bordered()
        .border_style(t.border_focus)
        .title(truncate(&title, usize::from(area.width.saturating_sub(2))));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let [body, hint, footer] = Layout::vertical([
        Constraint::Min(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(inner);
    match &view.link {
        Some(link) => device_link::draw(frame, state, link, body),
        None => draw_list(frame, state, view, body),
    }
    let key = |b: Bound| state.keys.key(b).to_string();
    let keys = if view.link.is_some() {
        format!(
            "{} new code · {} new code with history · Esc forgets the code",
            key(Bound::DeviceLink),
            key(Bound::DeviceLinkHistory)
        )
    } else {
        format!(
            "{} revoke · {} rename · {} link a new machine · {} with history · Esc back",
            key(Bound::DeviceRevoke),
            key(Bound::DeviceRename),
            key(Bound::DeviceLink),
            key(Bound::DeviceLinkHistory)
        )
    };
    let width = usize::from(inner.width);
    frame.render_widget(Paragraph::new(truncate(&keys, width)).style(t.dim), hint);
    if let Some(pending) = &view.pending {
        frame.render_widget(
            Paragraph::new(truncate(pending, width)).style(t.dim),
            footer,
        );
    } else if let Some(msg) = view.message.as_ref().filter(|_| view.prompt.is_none()) {
        let (text, style) = match msg {
            Ok(m) => (m.as_str(), t.verified),
            Err(e) => (e.as_str(), t.error),
        };
        frame.render_widget(Paragraph::new(truncate(text, width)).style(style), footer);
    }
    if let Some(prompt) = &view.prompt {
        draw_prompt(frame, state, view, prompt, inner);
    }
}

fn draw_list(frame: &mut Frame, state: &AppState, view: &DevicesView, area: Rect) {
    let t = &state.theme;
    let Some(devices) = &view.devices else {
        let text = match (&state.daemon, &view.message) {
            (_, Some(Err(_))) => "no list (see below)",
            (DaemonLink::Online, _) => "loading…",
            _ => "daemon offline",
        };
        frame.render_widget(Paragraph::new(text).style(t.dim), area);
        return;
    };
    if devices.is_empty() {
        frame.render_widget(
            Paragraph::new("The relay lists no devices for this account.")
                .style(t.dim)
                .wrap(Wrap { trim: true }),
            area,
        );
        return;
    }
    let width = usize::from(area.width);
    // The id only when there is room for it beside the rest.
    let show_id = width >= 72;
    let fixed = 2 + 2 + STATE_W + 2 + 11 + if show_id { 18 } else { 0 };
    let name_w = devices
        .iter()
        .map(|d| drawable(&d.name).width())
        .max()
        .unwrap_or(0)
        .clamp(4, 24)
        .min(width.saturating_sub(fixed).max(4));
    let mut lines = Vec::new();
    let mut selected_line = 0;
    let mut gone_heading = false;
    for (i, d) in devices.iter().enumerate() {
        if d.gone.is_some() && !gone_heading {
            gone_heading = true;
            lines.push(Line::default());
            lines.push(Line::styled(
                "Revoked or expired (the last 30 days)",
                Style::new().add_modifier(Modifier::BOLD),
            ));
        }
        if i == view.selected {
            selected_line = lines.len();
        }
        lines.push(device_row(state, d, i == view.selected, name_w, show_id));
    }
    let height = usize::from(area.height).max(1);
    let skip = selected_line.saturating_sub(height - 1);
    let lines: Vec<Line> = lines.into_iter().skip(skip).collect();
    frame.render_widget(Paragraph::new(lines), area);
}

/// One device: highlight, name, state, when added, and its id if it fits.
fn device_row(
    state: &AppState,
    d: &DeviceView,
    selected: bool,
    name_w: usize,
    show_id: bool,
) -> Line<'static> {
    let t = &state.theme;
    let when = |ts: u64| list_time(state.tz, ts, state.now_ms);
    let base = if selected { t.selected } else { Style::new() };
    let (what, style) = match (&d.gone, d.gone_at) {
        (Some(gone), at) => (
            format!("{gone} {}", at.map(when).unwrap_or_default()),
            t.error,
        ),
        (None, _) if d.current => ("● this device".to_owned(), t.me),
        (None, _) => (format!("seen {}", when(d.last_seen)), t.dim),
    };
    let mut spans = vec![
        Span::styled(if selected { "▶ " } else { "  " }, base),
        Span::styled(padded(&d.name, name_w), base.add_modifier(Modifier::BOLD)),
        Span::styled("  ", base),
        Span::styled(padded(&what, STATE_W), base.patch(style)),
        Span::styled("  ", base),
        Span::styled(
            padded(&format!("added {}", when(d.created_at)), 11),
            base.patch(t.dim),
        ),
    ];
    if show_id {
        spans.push(Span::styled("  ", base));
        spans.push(Span::styled(truncate(&d.id, 16), base.patch(t.dim)));
    }
    Line::from(spans).style(base)
}

/// `text` drawable, cut or padded with spaces to exactly `width` columns.
fn padded(text: &str, width: usize) -> String {
    let mut out = truncate(text, width);
    let pad = width.saturating_sub(out.width());
    out.extend(std::iter::repeat_n(' ', pad));
    out
}

/// A prompt's text input as drawn: the text (the mask for a password) and
/// the column of the cursor in it.
struct Input {
    shown: String,
    cursor: usize,
}

fn draw_prompt(
    frame: &mut Frame,
    state: &AppState,
    view: &DevicesView,
    prompt: &DevicePrompt,
    area: Rect,
) {
    let t = &state.theme;
    let width = area.width.min(66);
    let text_w = usize::from(width.saturating_sub(2));
    let bold = Style::new().add_modifier(Modifier::BOLD);
    let mut lines: Vec<Line> = Vec::new();
    let mut para = |text: &str, style: Style| {
        lines.extend(
            wrap(text, text_w)
                .into_iter()
                .map(|r| Line::styled(r, style)),
        );
    };
    let (title, input) = match prompt {
        DevicePrompt::Revoke(r) => {
            let name = drawable(&r.name);
            match &r.step {
                RevokeStep::Confirm => {
                    para(&format!("Revoke '{name}'?"), bold);
                    para(
                        "Its sessions end at once and the relay password changes: \
                         the device knew the old one. You type the current password, \
                         then a new one twice; your other devices need the new one at \
                         their next login.",
                        Style::new(),
                    );
                    para("y revoke · n keep", t.unread);
                    (" Revoke a device ", None)
                }
                RevokeStep::Current(i) => {
                    para(
                        &format!("Revoking '{name}'. The current relay password:"),
                        Style::new(),
                    );
                    (" Revoke: password ", Some(masked(i)))
                }
                RevokeStep::New { input: i, .. } => {
                    para(
                        &format!(
                            "A new relay password, at least {MIN_PASSWORD_CHARS} characters \
                             ('{name}' knew the old one):"
                        ),
                        Style::new(),
                    );
                    (" Revoke: new password ", Some(masked(i)))
                }
                RevokeStep::Repeat { input: i, .. } => {
                    para("The new relay password again:", Style::new());
                    (" Revoke: new password ", Some(masked(i)))
                }
            }
        }
        DevicePrompt::Rename { name, input, .. } => {
            para(
                &format!("A new name for '{}' (1 to 32 bytes):", drawable(name)),
                Style::new(),
            );
            let cursor = input.text[..input.cursor].width();
            let shown = drawable(&input.text).into_owned();
            (" Rename a device ", Some(Input { shown, cursor }))
        }
    };
    let extra = if input.is_some() { 2 } else { 0 } + u16::from(view.message.is_some());
    let height = (lines.len() as u16 + extra + 2).min(area.height);
    let [popup] = Layout::horizontal([Constraint::Length(width)])
        .flex(Flex::Center)
        .areas(area);
    let [popup] = Layout::vertical([Constraint::Length(height)])
        .flex(Flex::Center)
        .areas(popup);
    frame.render_widget(Clear, popup);
    let block = Block::bordered().border_style(t.border_focus).title(title);
    let inner = block.inner(popup);
    frame.render_widget(block, popup);
    let mut cursor = None;
    if let Some(Input { shown, cursor: col }) = input {
        let prefix = "> ";
        let avail = text_w.saturating_sub(prefix.len() + 1);
        // Scrolled so that the cursor shows.
        let skip = col.saturating_sub(avail);
        cursor = Some(Position::new(
            inner.x + (prefix.len() + col - skip) as u16,
            inner.y + lines.len() as u16,
        ));
        lines.push(Line::from(vec![
            Span::styled(prefix, t.unread),
            Span::raw(truncate(&skip_cols(&shown, skip), avail + 1)),
        ]));
        let enter = match prompt {
            DevicePrompt::Revoke(r) if matches!(r.step, RevokeStep::Repeat { .. }) => "revokes",
            DevicePrompt::Revoke(_) => "goes on",
            DevicePrompt::Rename { .. } => "renames",
        };
        lines.push(Line::styled(format!("Enter {enter} · Esc cancels"), t.dim));
    }
    if let Some(msg) = &view.message {
        let (text, style) = match msg {
            Ok(m) => (m.as_str(), t.verified),
            Err(e) => (e.as_str(), t.error),
        };
        lines.push(Line::styled(truncate(text, text_w), style));
    }
    frame.render_widget(Paragraph::new(lines), inner);
    if let Some(pos) = cursor.filter(|p| p.y < inner.bottom()) {
        frame.set_cursor_position(pos);
    }
}

/// A password input as drawn: one `•` per character, the cursor at the end.
fn masked(input: &crate::app::masked::MaskedInput) -> Input {
    let shown = input.masked();
    Input {
        cursor: shown.width(),
        shown,
    }
}
