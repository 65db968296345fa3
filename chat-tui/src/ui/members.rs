//! The members view of a group conversation (`m`): each member with admin
//! or not, and whether the user verified the card, or who introduced it.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use crate::app::AppState;
use crate::app::state::{MemberPrompt, MembersView};
use crate::text::truncate;

/// Draws the view over `area`.
pub fn draw(frame: &mut Frame, state: &AppState, view: &MembersView, area: Rect) {
    let t = &state.theme;
    frame.render_widget(Clear, area);
    let title = match &state.members {
        Some(info) => format!(
            " #{} · {} members — Esc back ",
            info.group.name, info.group.members
        ),
        None => " Members — Esc back ".to_owned(),
    };
    let block = Block::bordered()
        .border_style(t.border_focus)
        .title(truncate(&title, usize::from(area.width.saturating_sub(2))));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let Some(info) = &state.members else {
        let text = if state.daemon == crate::app::DaemonLink::Online {
            "loading…"
        } else {
            "daemon offline"
        };
        frame.render_widget(Paragraph::new(text).style(t.dim), inner);
        return;
    };
    let width = usize::from(inner.width);
    let name_w = info
        .members
        .iter()
        .map(|m| m.user.chars().count())
        .max()
        .unwrap_or(0)
        .min(width / 2);
    let mut lines: Vec<Line> = Vec::with_capacity(info.members.len() + 2);
    for (i, m) in info.members.iter().enumerate() {
        let base = if i == view.selected && view.prompt.is_none() {
            t.selected
        } else {
            ratatui::style::Style::new()
        };
        let role = if m.admin { "admin " } else { "member" };
        let me = state.status.user.as_deref() == Some(m.user.as_str());
        let (trust, style) = match (&m.introduced_by, m.verified) {
            _ if me => ("you".to_owned(), t.me),
            (_, true) => ("✓ verified".to_owned(), t.verified),
            (Some(by), false) => (format!("unverified · introduced by {by}"), t.error),
            (None, false) => ("unverified".to_owned(), t.dim),
        };
        lines.push(
            Line::from(vec![
                Span::styled(
                    format!("{:<name_w$}", truncate(&m.user, name_w)),
                    base.patch(if me { t.me } else { t.peer }),
                ),
                Span::styled(format!("  {role}  "), base.patch(t.dim)),
                Span::styled(
                    truncate(&trust, width.saturating_sub(name_w + 10)),
                    base.patch(style),
                ),
            ])
            .style(base),
        );
    }
    lines.push(Line::raw(""));
    let hint = match &view.prompt {
        Some(MemberPrompt::Add(input)) => {
            format!("add a contact: {}▏ (Enter adds, Esc cancels)", input.text)
        }
        Some(MemberPrompt::Remove { user }) => {
            format!("remove {user} from #{}? y/n", info.group.name)
        }
        None => "a add a contact · d remove the highlighted member (admins) · Esc back".to_owned(),
    };
    lines.push(Line::styled(truncate(&hint, width), t.dim));
    if let Some(message) = &view.message {
        lines.push(Line::styled(truncate(message, width), t.dim));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}
