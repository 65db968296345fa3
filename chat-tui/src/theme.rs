//! Colours: dark, light, or none (`NO_COLOR`, `--theme none`).

use ratatui::style::{Color, Modifier, Style};

/// Which palette.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ThemeName {
    /// Light text on a dark terminal.
    Dark,
    /// Dark text on a light terminal.
    Light,
    /// No colours at all, only bold, dim and reverse.
    None,
}

/// The styles every part of the screen uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Theme {
    /// Borders of panes without the keyboard.
    pub border: Style,
    /// Border of the pane with the keyboard.
    pub border_focus: Style,
    /// The highlighted list entry.
    pub selected: Style,
    /// Secondary text: times, previews.
    pub dim: Style,
    /// Unread counts and unread conversation names.
    pub unread: Style,
    /// The verified mark.
    pub verified: Style,
    /// Own name in the message pane.
    pub me: Style,
    /// The peer's name in the message pane.
    pub peer: Style,
    /// Read ticks.
    pub read: Style,
    /// Failures and the offline banner.
    pub error: Style,
    /// What the user must act on before trusting a contact again: a changed key.
    pub warning: Style,
    /// The status bar.
    pub status: Style,
    /// Search matches.
    pub highlight: Style,
}

impl Theme {
    /// The palette named `name`.
    pub fn named(name: ThemeName) -> Theme {
        let bold = Style::new().add_modifier(Modifier::BOLD);
        match name {
            ThemeName::None => Theme {
                border: Style::new(),
                border_focus: bold,
                selected: Style::new().add_modifier(Modifier::REVERSED),
                dim: Style::new().add_modifier(Modifier::DIM),
                unread: bold,
                verified: Style::new(),
                me: bold,
                peer: bold,
                read: bold,
                error: bold,
                warning: bold.add_modifier(Modifier::REVERSED),
                status: Style::new().add_modifier(Modifier::REVERSED),
                highlight: Style::new().add_modifier(Modifier::REVERSED),
            },
            ThemeName::Dark | ThemeName::Light => {
                let dark = name == ThemeName::Dark;
                let (fg2, sel_bg, status_bg) = if dark {
                    (
                        Color::DarkGray,
                        Color::Rgb(40, 44, 52),
                        Color::Rgb(30, 34, 42),
                    )
                } else {
                    (
                        Color::Gray,
                        Color::Rgb(220, 226, 235),
                        Color::Rgb(232, 232, 232),
                    )
                };
                Theme {
                    border: Style::new().fg(fg2),
                    border_focus: Style::new().fg(Color::Cyan),
                    selected: Style::new().bg(sel_bg).add_modifier(Modifier::BOLD),
                    dim: Style::new().fg(fg2),
                    unread: bold.fg(Color::Yellow),
                    verified: Style::new().fg(Color::Green),
                    me: bold.fg(Color::Blue),
                    peer: bold.fg(Color::Magenta),
                    read: Style::new().fg(Color::Cyan),
                    error: bold.fg(Color::Red),
                    warning: bold.fg(Color::Black).bg(Color::Yellow),
                    status: Style::new().bg(status_bg),
                    highlight: Style::new().bg(Color::Yellow).fg(Color::Black),
                }
            }
        }
    }
}
