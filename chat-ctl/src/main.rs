//! `chat-ctl`: the scriptable command-line client for chatd.
//!
//! Every failure prints one line, `chat-ctl: …`, on stderr and exits with a
//! code from [`exit`]; output for scripts (`--json`) is documented in docs/IPC.md.

use std::process::ExitCode;

use clap::Parser;

mod commands;
mod exit;
mod input;
mod output;

// In the library (tools/cli-docs reads it too); `crate::cli` keeps working.
use chat_ctl::cli;
use cli::Cli;
use exit::CtlError;

fn main() -> ExitCode {
    // clap prints its own usage errors and exits with 2 (0 for --help and --version).
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::from(exit::OK),
        // Whoever read stdout is gone (`chat-ctl watch | head -1`): nothing to report.
        Err(e) if e.is_broken_pipe() => ExitCode::from(exit::OK),
        Err(e) => {
            eprintln!("chat-ctl: {}", e.line());
            ExitCode::from(e.exit_code())
        }
    }
}

fn run(cli: Cli) -> Result<(), CtlError> {
    if commands::run_offline(&cli)? {
        return Ok(());
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CtlError::Input(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(commands::run(cli))
}
