//! `chatd`: the per-user chat daemon. Runs in the foreground (systemd style),
//! logs to stderr, prints `listening on PATH` once the socket accepts.

use std::process::ExitCode;

use chatd::cli::Cli;
use chatd::run::{KeystoreChoice, KeystoreKind, Options, default_config, default_data_dir};
use clap::Parser;

/// A per-user daemon should stay small while idle. glibc gives each thread
/// that allocates its own arena (up to eight per core) and keeps what RSA
/// key generation and big batches freed in them; two arenas per daemon keep
/// idle RSS down (measured in docs/BENCHMARKS.md, "chatd RSS, idle").
fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator tuning; called before any thread starts.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

fn main() -> ExitCode {
    tune_allocator();
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CHATD_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let socket = cli
        .socket
        .unwrap_or_else(ipc_schema::paths::default_socket_path);
    let opts = Options {
        data_dir: cli.data_dir.unwrap_or_else(default_data_dir),
        config: cli.config.unwrap_or_else(default_config),
        keystore: match cli.keystore {
            Some(KeystoreKind::File) => KeystoreChoice::File(cli.passphrase_file),
            Some(KeystoreKind::Keyring) | None => KeystoreChoice::Keyring,
        },
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("chatd: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(chatd::run::main(&socket, opts)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("chatd: {message}");
            ExitCode::FAILURE
        }
    }
}
