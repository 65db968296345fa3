//! `relay-server`: Store-and-forward relay for chat envelopes. Not implemented yet; it arrives with its own issue.

use clap::Parser;

/// Store-and-forward relay for chat envelopes (not implemented yet: this build only answers --help and --version).
#[derive(Parser)]
#[command(version, about)]
struct Cli {}

fn main() {
    let _ = Cli::parse();
    eprintln!("relay-server: not implemented yet in this build");
    std::process::exit(1);
}
