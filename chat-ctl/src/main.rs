//! `chat-ctl`: Scriptable command-line client for chatd. Not implemented yet; it arrives with its own issue.

use clap::Parser;

/// Scriptable command-line client for chatd (not implemented yet: this build only answers --help and --version).
#[derive(Parser)]
#[command(version, about)]
struct Cli {}

fn main() {
    let _ = Cli::parse();
    eprintln!("chat-ctl: not implemented yet in this build");
    std::process::exit(1);
}
