//! chat-tui in a real terminal (tmux) against real daemons and a relay.

use std::process::Command;
use std::time::Duration;

use e2e::{Daemon, World, bin, eventually, pair};

/// A private tmux server running chat-tui for one daemon.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn start(world: &World, daemon: &Daemon) -> Tmux {
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

    fn keys(&self, keys: &[&str]) {
        let ok = Command::new("tmux")
            .args(["-L", &self.socket, "send-keys"])
            .args(keys)
            .status()
            .unwrap();
        assert!(ok.success());
    }

    fn screen(&self) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket, "capture-pane", "-p"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn wait_for(&self, text: &str) -> String {
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

#[test]
fn chat_in_the_tui_see_the_reply_and_its_tick_survive_a_daemon_restart() {
    let world = World::start();
    let (mut alice, bob) = pair(&world, "alice", "bob");
    let tui = Tmux::start(&world, &alice);
    tui.wait_for("relay online");

    // Open bob's conversation and type a message.
    tui.wait_for("bob");
    tui.keys(&["Enter"]);
    tui.keys(&["-l", "hello from the terminal"]);
    tui.keys(&["Enter"]);
    eventually(Duration::from_secs(20), "bob has the message", || {
        bob.log("alice")
            .iter()
            .any(|m| m["body"] == "hello from the terminal")
            .then_some(())
    });
    // Delivered receipt: two ticks next to alice's message.
    tui.wait_for("✓✓");

    bob.ctl(&["send", "alice", "reply from bob"]).success();
    tui.wait_for("reply from bob");

    // chatd goes away: a clear screen, not a crash; it comes back by itself.
    alice.kill9();
    tui.wait_for("daemon offline");
    alice.start_again(&[]);
    let screen = eventually(Duration::from_secs(20), "recovered", || {
        let s = tui.screen();
        (!s.contains("daemon offline") && s.contains("reply from bob")).then_some(s)
    });
    assert!(screen.contains("hello from the terminal"), "{screen}");
}
