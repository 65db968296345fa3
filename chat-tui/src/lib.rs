//! `chat-tui`: the full-screen terminal client for chatd.
//!
//! Data flows one way (STYLE.md, gitui / ratatui templates): a terminal or
//! daemon event becomes an [`app::Action`], [`app::update`] applies it to the
//! [`app::AppState`] and returns [`app::Effect`]s for the [`backend`] to run,
//! and [`ui::draw`] paints the state, generic over the ratatui backend.
//!
//! `app` never reaches into `ui`: what both need lives beside them, in
//! [`layout`] (panes, rows of messages and lists), [`text`], [`theme`] and [`qr`].

pub mod app;
pub mod backend;
pub mod cli;
pub mod config;
pub mod layout;
pub mod qr;
pub mod text;
pub mod theme;
pub mod ui;
