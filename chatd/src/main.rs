//! `chatd`, the per-user daemon. Only the crypto core exists so far; the
//! daemon itself (keystore, store, sync, IPC) comes with its own issue.

use clap::Parser;

/// End-to-end encrypted chat daemon (not implemented yet: this build only answers --help and --version).
#[derive(Parser)]
#[command(version, about)]
struct Cli {}

fn main() {
    let _ = Cli::parse();
    eprintln!("chatd: the daemon is not implemented yet; this build only ships its crypto library");
    std::process::exit(1);
}
