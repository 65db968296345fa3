//! The status bar: own user, short fingerprint, relay link, unread total, notices.

use ipc_schema::methods::ConnectionState;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use unicode_width::UnicodeWidthStr;

use crate::app::{AppState, DaemonLink};
use crate::text::truncate;

/// The first two groups of a grouped fingerprint, e.g. `3f2a 9c41`.
pub fn short_fingerprint(fp: &str) -> String {
    fp.split_whitespace().take(2).collect::<Vec<_>>().join(" ")
}

/// Draws the status bar into `area` (one row).
pub fn draw(frame: &mut Frame, state: &AppState, area: Rect) {
    let t = &state.theme;
    let s = &state.status;
    let mut spans = vec![Span::raw(" ")];
    match &state.daemon {
        DaemonLink::Offline { .. } => {
            spans.push(Span::styled("daemon offline — retrying", t.error))
        }
        DaemonLink::Connecting => spans.push(Span::styled("connecting to chatd…", t.dim)),
        DaemonLink::Online => {
            let user = s.user.as_deref().unwrap_or("(no account)");
            spans.push(Span::styled(user.to_owned(), t.me));
            if let Some(fp) = &s.fingerprint {
                spans.push(Span::styled(format!(" {}", short_fingerprint(fp)), t.dim));
            }
            spans.push(Span::raw(" │ "));
            let (text, style) = match s.connection {
                Some(ConnectionState::Online) => ("relay online", t.verified),
                Some(ConnectionState::Offline) => ("relay offline", t.error),
                Some(ConnectionState::Connecting) => ("relay connecting…", t.dim),
                Some(ConnectionState::LoggedOut) => ("logged out", t.error),
                None => ("relay ?", t.dim),
            };
            spans.push(Span::styled(text, style));
            spans.push(Span::raw(" │ "));
            let unread = format!("{} unread", s.unread);
            spans.push(Span::styled(
                unread,
                if s.unread > 0 { t.unread } else { t.dim },
            ));
            if s.outbox_pending > 0 {
                spans.push(Span::styled(
                    format!(" │ {} queued", s.outbox_pending),
                    t.dim,
                ));
            }
        }
    }
    let used: usize = spans.iter().map(|s| s.content.width()).sum();
    // A notice first; else why the relay link is down, which the relay's
    // or the network's words may say.
    let relay_error = s.connection_error.as_deref().filter(|_| {
        state.daemon == DaemonLink::Online && s.connection != Some(ConnectionState::Online)
    });
    let (right, right_style) = match (&state.notice, relay_error) {
        (Some(n), _) => (n.as_str(), t.unread),
        (None, Some(why)) => (why, t.error),
        (None, None) => ("? help", t.dim),
    };
    let room = usize::from(area.width).saturating_sub(used + 2);
    let right = truncate(right, room);
    let pad = usize::from(area.width).saturating_sub(used + right.width() + 1);
    spans.push(Span::raw(" ".repeat(pad)));
    spans.push(Span::styled(right, right_style));
    frame.render_widget(Paragraph::new(Line::from(spans)).style(t.status), area);
}
