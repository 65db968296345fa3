//! `chat-tui`: the full-screen terminal client for chatd.
//!
//! Owns the terminal: raw mode and the alternate screen on start, restored on
//! exit, on panic and on SIGTERM/SIGHUP. One tokio loop merges terminal events,
//! chatd's answers and events (from the backend worker) and a clock tick.

use std::io::{self, Write};
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chat_tui::app::{self, Action, AppState, Effect};
use chat_tui::backend::{self, IpcConnector};
use chat_tui::cli::Cli;
use chat_tui::theme::{Theme, ThemeName};
use chat_tui::ui;
use clap::Parser;
use crossterm::event::{
    DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, EnableMouseCapture,
    EventStream, KeyboardEnhancementFlags, PopKeyboardEnhancementFlags,
    PushKeyboardEnhancementFlags,
};
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use futures_util::StreamExt;
use ipc_schema::time::TimeZone;
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;

type Term = Terminal<CrosstermBackend<io::Stdout>>;

fn main() {
    let cli = Cli::parse();
    let config = match (&cli.config, chat_tui::config::default_path()) {
        (Some(path), _) => chat_tui::config::load(path, true),
        (None, Some(path)) => chat_tui::config::load(&path, false),
        (None, None) => Ok(Default::default()),
    };
    let config = match config {
        Ok(c) => c,
        Err(e) => {
            eprintln!("chat-tui: {e}");
            std::process::exit(2);
        }
    };
    let keys = match config.key_map() {
        Ok(k) => k,
        Err(e) => {
            eprintln!("chat-tui: {e}");
            std::process::exit(2);
        }
    };
    let log = init_logging();
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let theme = cli
        .theme
        .or(if no_color {
            Some(ThemeName::None)
        } else {
            None
        })
        .or(config.theme)
        .unwrap_or(ThemeName::Dark);
    let socket = cli
        .socket
        .or(config.socket)
        .unwrap_or_else(ipc_schema::client::default_socket_path);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("chat-tui: cannot start the runtime: {e}");
            std::process::exit(1);
        }
    };
    install_panic_hook();
    let result = runtime.block_on(run(socket, Theme::named(theme), keys));
    restore_terminal();
    if let Err(e) = result {
        eprintln!("chat-tui: {e}");
        if let Some(log) = log {
            eprintln!("chat-tui: the log is at {}", log.display());
        }
        std::process::exit(1);
    }
}

/// Logs go to `$XDG_STATE_HOME/chat/chat-tui.log`, never to the screen.
fn init_logging() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_STATE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))?;
    let dir = base.join("chat");
    std::fs::create_dir_all(&dir).ok()?;
    let path = dir.join("chat-tui.log");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .ok()?;
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CHAT_TUI_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_ansi(false)
        .with_writer(std::sync::Mutex::new(file))
        .init();
    Some(path)
}

fn setup_terminal() -> io::Result<Term> {
    enable_raw_mode()?;
    let mut out = io::stdout();
    crossterm::execute!(
        out,
        EnterAlternateScreen,
        EnableMouseCapture,
        EnableBracketedPaste
    )?;
    // Shift+Enter is only distinguishable with the kitty keyboard protocol.
    if crossterm::terminal::supports_keyboard_enhancement().unwrap_or(false) {
        let _ = crossterm::execute!(
            out,
            PushKeyboardEnhancementFlags(KeyboardEnhancementFlags::DISAMBIGUATE_ESCAPE_CODES)
        );
    }
    Terminal::new(CrosstermBackend::new(out))
}

/// Puts the terminal back the way the shell expects it; safe to call twice.
fn restore_terminal() {
    let mut out = io::stdout();
    let _ = crossterm::execute!(
        out,
        PopKeyboardEnhancementFlags,
        DisableBracketedPaste,
        DisableMouseCapture,
        LeaveAlternateScreen,
        crossterm::cursor::Show
    );
    let _ = disable_raw_mode();
    let _ = out.flush();
}

fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore_terminal();
        tracing::error!("panic: {info}");
        previous(info);
    }));
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

async fn run(socket: PathBuf, theme: Theme, keys: app::keymap::KeyMap) -> io::Result<()> {
    let mut terminal = setup_terminal()?;
    let size = terminal.size()?;
    let mut state = AppState::new(socket.display().to_string(), theme, TimeZone::Local);
    state.keys = keys;
    state.files.opener = backend::files::opener_from_env();
    state.files.cache = backend::files::open_cache_dir();
    state.viewport = ratatui::layout::Rect::new(0, 0, size.width, size.height);
    state.now_ms = now_ms();

    let (effect_tx, effect_rx) = mpsc::unbounded_channel();
    let (action_tx, mut action_rx) = mpsc::unbounded_channel();
    let worker = tokio::spawn(backend::run(
        IpcConnector { path: socket },
        effect_rx,
        action_tx,
        Duration::from_secs(1),
    ));

    let mut events = EventStream::new();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut sigterm = signal(SignalKind::terminate())?;
    let mut sighup = signal(SignalKind::hangup())?;
    terminal.draw(|f| ui::draw(f, &state))?;

    while !state.should_quit {
        let action = tokio::select! {
            event = events.next() => match event {
                Some(Ok(event)) => app::keys::map_event(&state, event),
                Some(Err(e)) => return Err(e),
                None => Some(Action::Quit),
            },
            action = action_rx.recv() => action,
            _ = tick.tick() => Some(Action::Tick(now_ms())),
            _ = sigterm.recv() => Some(Action::Quit),
            _ = sighup.recv() => Some(Action::Quit),
        };
        let Some(action) = action else { continue };
        let mut pending = vec![action];
        // Drain what else is ready, so a burst of events costs one frame.
        while let Ok(more) = action_rx.try_recv() {
            pending.push(more);
        }
        for action in pending {
            for effect in app::update(&mut state, action) {
                match effect {
                    Effect::OpenEditor(text) => {
                        let edited = run_editor(&mut terminal, &text)?;
                        if let Some(edited) = edited {
                            app::update(&mut state, Action::EditorDone(edited));
                        }
                    }
                    effect => {
                        let _ = effect_tx.send(effect);
                    }
                }
            }
        }
        terminal.draw(|f| ui::draw(f, &state))?;
    }
    drop(effect_tx);
    worker.abort();
    Ok(())
}

/// Suspends the screen, runs `$VISUAL`/`$EDITOR` on the draft, and returns the new text.
fn run_editor(terminal: &mut Term, text: &str) -> io::Result<Option<String>> {
    let editor = std::env::var("VISUAL")
        .or_else(|_| std::env::var("EDITOR"))
        .unwrap_or_else(|_| "vi".into());
    let dir = std::env::temp_dir().join(format!("chat-tui-{}", std::process::id()));
    // A fresh private directory: another user cannot plant a symlink there.
    std::os::unix::fs::DirBuilderExt::mode(&mut std::fs::DirBuilder::new(), 0o700).create(&dir)?;
    let path = dir.join("draft.txt");
    std::fs::write(&path, text)?;
    restore_terminal();
    let mut parts = editor.split_whitespace();
    let program = parts.next().unwrap_or("vi");
    let status = std::process::Command::new(program)
        .args(parts)
        .arg(&path)
        .status();
    *terminal = setup_terminal()?;
    terminal.clear()?;
    let edited = std::fs::read_to_string(&path).ok();
    let _ = std::fs::remove_dir_all(&dir);
    match status {
        Ok(s) if s.success() => Ok(edited),
        Ok(_) => Ok(None),
        Err(e) => {
            tracing::warn!("cannot run {editor}: {e}");
            Ok(None)
        }
    }
}
