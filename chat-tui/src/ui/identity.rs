//! The own identity view: user, fingerprint in groups, key size, and a QR code
//! of the contact card for someone to scan.

use ratatui::Frame;
use ratatui::layout::{Alignment, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

use crate::app::AppState;
use crate::text::drawable;
use crate::ui::contacts::fingerprint_rows;

/// Draws the view over `area`.
pub fn draw(frame: &mut Frame, state: &AppState, area: Rect) {
    let t = &state.theme;
    frame.render_widget(Clear, area);
    let block = Block::bordered()
        .border_style(t.border_focus)
        .title(" Your identity — Esc back ");
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let Some(id) = &state.identity else {
        let text = if state.daemon == crate::app::DaemonLink::Online {
            "loading…"
        } else {
            "daemon offline"
        };
        frame.render_widget(Paragraph::new(text).style(t.dim), inner);
        return;
    };
    let width = usize::from(inner.width);
    let bold = Style::new().add_modifier(Modifier::BOLD);
    let mut lines = vec![Line::from(vec![
        Span::styled(drawable(&id.show.user).into_owned(), t.me),
        Span::styled(format!("  RSA-{}", id.show.key_bits), t.dim),
    ])];
    for row in fingerprint_rows(&id.show.fingerprint, width) {
        lines.push(Line::styled(row, bold));
    }
    lines.push(Line::default());
    let header = lines.len() as u16;
    let qr_area = Rect {
        y: inner.y + header,
        height: inner.height.saturating_sub(header),
        ..inner
    };
    let lines: Vec<Line> = lines
        .into_iter()
        .map(|l| l.alignment(Alignment::Center))
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
    match &id.qr {
        Err(e) => frame.render_widget(Paragraph::new(e.as_str()).style(t.error), qr_area),
        Ok(qr) => {
            let (w, h) = qr.size();
            if w > usize::from(qr_area.width) || h + 1 > usize::from(qr_area.height) {
                let msg = format!(
                    "The terminal is too small for the QR code of your card: it needs {}×{} \
                     (this view has {}×{}). Enlarge the window, or share the card file: \
                     chat-ctl id --card > {}.card",
                    w + 2,
                    h + header as usize + 3,
                    area.width,
                    area.height,
                    drawable(&id.show.user),
                );
                frame.render_widget(
                    Paragraph::new(msg).style(t.dim).wrap(Wrap { trim: true }),
                    qr_area,
                );
                return;
            }
            let mut qr_lines: Vec<Line> = qr.lines().into_iter().map(Line::raw).collect();
            qr_lines.push(Line::styled("scan to add me as a contact", t.dim));
            frame.render_widget(
                Paragraph::new(qr_lines).alignment(Alignment::Center),
                qr_area,
            );
        }
    }
}
