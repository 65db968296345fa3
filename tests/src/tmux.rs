//! chat-tui in a real terminal: a private tmux server per test.

use std::process::Command;
use std::time::Duration;

use crate::{Daemon, World, bin, eventually};

/// A private tmux server running chat-tui for one daemon.
pub struct Tmux {
    socket: String,
}

impl Tmux {
    /// Starts chat-tui for `daemon` in a 100×30 terminal.
    pub fn start(world: &World, daemon: &Daemon) -> Tmux {
        let socket = format!("e2e-{}-{}", std::process::id(), rand::random::<u32>());
        let cmd = format!(
            "{} --socket {} --theme none",
            bin("chat-tui").display(),
            daemon.socket.display()
        );
        let ok = Command::new("tmux")
            .args([
                "-L",
                &socket,
                "new-session",
                "-d",
                "-x",
                "100",
                "-y",
                "30",
                &cmd,
            ])
            .env("HOME", world.home())
            .env("XDG_STATE_HOME", world.dir.path().join("state"))
            .env("TERM", "xterm-256color")
            .status()
            .expect("tmux (apt-get install tmux) must be installed");
        assert!(ok.success(), "tmux did not start");
        Tmux { socket }
    }

    /// Types `keys` (tmux send-keys syntax).
    pub fn keys(&self, keys: &[&str]) {
        let ok = Command::new("tmux")
            .args(["-L", &self.socket, "send-keys"])
            .args(keys)
            .status()
            .unwrap();
        assert!(ok.success());
    }

    /// What the terminal shows now.
    pub fn screen(&self) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket, "capture-pane", "-p"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Waits up to 20 s for `text` on screen; returns the screen.
    pub fn wait_for(&self, text: &str) -> String {
        eventually(
            Duration::from_secs(20),
            &format!("{text:?} on screen"),
            || {
                let s = self.screen();
                s.contains(text).then_some(s)
            },
        )
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .status();
    }
}
