//! `chat-tui`: the full-screen terminal client for chatd.
//!
//! Data flows one way (STYLE.md, gitui / ratatui templates): a terminal or
//! daemon event becomes an [`app::Action`], [`app::update`] applies it to the
//! [`app::AppState`] and returns [`app::Effect`]s for the [`backend`] to run,
//! and [`ui::draw`] paints the state, generic over the ratatui backend.

pub mod app;
pub mod backend;
pub mod config;
pub mod text;
pub mod ui;
