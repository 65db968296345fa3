//! `chat-ctl completions SHELL`.

use clap::CommandFactory;

use crate::cli::{Cli, CompletionsArgs};
use crate::exit::CtlError;

/// Writes the completion script for the shell to stdout.
pub fn run(args: &CompletionsArgs) -> Result<(), CtlError> {
    let mut cmd = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "chat-ctl", &mut script);
    std::io::Write::write_all(&mut std::io::stdout().lock(), &script)?;
    Ok(())
}
