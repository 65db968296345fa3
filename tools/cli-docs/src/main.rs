//! `cli-docs OUT_DIR`: writes the man pages and shell completions of chat's
//! binaries from their clap definitions, the same ones the binaries parse
//! their arguments with, for scripts/package:
//!
//! - `OUT_DIR/man/NAME.SECTION`: one page per command and per subcommand
//!   (`chat-ctl-send.1`, as git does), so that every option is documented;
//! - `OUT_DIR/completions/bash/NAME`, `zsh/_NAME` and `fish/NAME.fish`: named
//!   the way bash-completion, zsh and fish look them up.

use std::path::Path;
use std::process::ExitCode;

use clap::{Command, CommandFactory};
use clap_complete::Shell;
use clap_mangen::Man;
use clap_mangen::roff::{Roff, bold, roman};

/// A binary whose man pages and completions are written.
struct Binary {
    /// Its command line, as the binary parses it.
    command: fn() -> Command,
    /// Its manual section: 1 for user commands, 8 for system daemons.
    section: &'static str,
}

/// Every binary the packages install.
const BINARIES: &[Binary] = &[
    Binary {
        command: chat_ctl::cli::Cli::command,
        section: "1",
    },
    Binary {
        command: chat_tui::cli::Cli::command,
        section: "1",
    },
    Binary {
        command: chatd::cli::Cli::command,
        section: "1",
    },
    Binary {
        command: relay_server::cli::Cli::command,
        section: "8",
    },
];

/// Shells that get completions.
const SHELLS: [Shell; 3] = [Shell::Bash, Shell::Zsh, Shell::Fish];

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let (Some(out_dir), None) = (args.next(), args.next()) else {
        eprintln!("usage: cli-docs OUT_DIR");
        return ExitCode::from(2);
    };
    match write_all(Path::new(&out_dir)) {
        Ok(written) => {
            println!("{written} files in {}", Path::new(&out_dir).display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("cli-docs: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Writes every binary's pages and completions under `out_dir`; returns how
/// many files.
fn write_all(out_dir: &Path) -> Result<usize, String> {
    let man_dir = out_dir.join("man");
    let mut written = 0;
    for binary in BINARIES {
        let mut command = (binary.command)().disable_help_subcommand(true);
        // Building names the subcommands (`chat-ctl-send`) for their pages.
        command.build();
        let see_also: Vec<(String, &str)> = BINARIES
            .iter()
            .map(|other| ((other.command)().get_name().to_owned(), other.section))
            .filter(|(name, _)| name != command.get_name())
            .collect();
        written += write_pages(&command, binary.section, &see_also, &man_dir)?;
        written += write_completions((binary.command)(), out_dir)?;
    }
    Ok(written)
}

/// Writes the page of `command` and, recursively, of each of its subcommands,
/// each pointing at its parent; returns how many pages.
fn write_pages(
    command: &Command,
    section: &str,
    see_also: &[(String, &str)],
    dir: &Path,
) -> Result<usize, String> {
    let name = command
        .get_display_name()
        .unwrap_or_else(|| command.get_name())
        .to_owned();
    let mut page = Vec::new();
    Man::new(command.clone())
        .section(section)
        .manual("chat")
        .render(&mut page)
        .map_err(|e| format!("cannot render the page of {name}: {e}"))?;
    let mut references = Vec::new();
    for (i, (other, other_section)) in see_also.iter().enumerate() {
        if i > 0 {
            references.push(roman(", "));
        }
        references.push(bold(other.as_str()));
        references.push(roman(format!("({other_section})")));
    }
    if !references.is_empty() {
        Roff::new()
            .control("SH", ["SEE ALSO"])
            .text(references)
            .to_writer(&mut page)
            .map_err(|e| format!("cannot render the page of {name}: {e}"))?;
    }
    write(&dir.join(format!("{name}.{section}")), &page)?;
    let parent = [(name, section)];
    let mut pages = 1;
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        pages += write_pages(sub, section, &parent, dir)?;
    }
    Ok(pages)
}

/// Writes the completion scripts of `command` for every shell in [`SHELLS`];
/// returns how many.
fn write_completions(mut command: Command, out_dir: &Path) -> Result<usize, String> {
    let name = command.get_name().to_owned();
    for shell in SHELLS {
        let (dir, file) = match shell {
            Shell::Bash => ("bash", name.clone()),
            Shell::Zsh => ("zsh", format!("_{name}")),
            _ => ("fish", format!("{name}.fish")),
        };
        let mut script = Vec::new();
        clap_complete::generate(shell, &mut command, &name, &mut script);
        write(&out_dir.join("completions").join(dir).join(file), &script)?;
    }
    Ok(SHELLS.len())
}

/// Writes `bytes` to `path`, creating its directory.
fn write(path: &Path, bytes: &[u8]) -> Result<(), String> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    std::fs::write(path, bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_binary_gets_pages_for_its_subcommands_and_three_completions() {
        let dir = tempfile::tempdir().unwrap();
        write_all(dir.path()).unwrap();
        let page = std::fs::read_to_string(dir.path().join("man/chat-ctl.1")).unwrap();
        assert!(page.starts_with(".ie"), "{page}");
        assert!(page.contains("chat\\-ctl\\-send(1)"), "{page}");
        assert!(page.contains("SEE ALSO"), "{page}");
        let send = std::fs::read_to_string(dir.path().join("man/chat-ctl-send.1")).unwrap();
        assert!(send.contains("\\-\\-wait"), "{send}");
        assert!(dir.path().join("man/chat-ctl-contact-add.1").exists());
        assert!(dir.path().join("man/chat-tui.1").exists());
        assert!(dir.path().join("man/chatd.1").exists());
        assert!(dir.path().join("man/relay-server-serve.8").exists());
        assert!(dir.path().join("man/relay-server-invite-create.8").exists());
        for (file, command) in [
            ("bash/chat-ctl", "chat-ctl"),
            ("zsh/_chat-ctl", "chat-ctl"),
            ("fish/chat-ctl.fish", "chat-ctl"),
            ("bash/chat-tui", "chat-tui"),
            ("bash/chatd", "chatd"),
            ("fish/relay-server.fish", "relay-server"),
        ] {
            let script = std::fs::read_to_string(dir.path().join("completions").join(file));
            assert!(script.unwrap().contains(command), "{file}");
        }
    }
}
