//! `relay-server`: serve the relay, or manage invite codes.

use std::process::ExitCode;

use clap::Parser;
use relay_server::TlsFiles;
use relay_server::cli::{Cli, Command, InviteCommand, LogFormat};

/// Allocator tuning. Keeps glibc from hoarding freed large blocks. After the first 19 MiB
/// Argon2 buffer is freed, glibc's adaptive threshold serves later ones from
/// the heap, where fragmentation keeps them: RSS grew by ~16 MiB per
/// registration (measured: 10 registrations 205 MB; with a fixed 1 MiB
/// threshold 10 MB). A fixed threshold makes every large buffer (Argon2
/// memory, multi-MiB envelopes) an mmap that is returned when freed.
fn fix_large_allocations() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator tuning; called before any thread starts.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
        // One arena per core instead of eight per core: the relay's threads
        // are few, and 10,000 idle long-polls measured 211 MB RSS with the
        // default and 199 MB with two arenas.
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        libc::mallopt(libc::M_ARENA_MAX, cores as libc::c_int);
    }
}

/// Everything the relay creates (its data dir, the SQLite file and its WAL)
/// is for its own user only, whatever umask it was started with; the
/// systemd unit's `UMask=0077` says the same for the service.
fn private_files() {
    #[cfg(unix)]
    // SAFETY: umask(2) only sets the process's file mode creation mask.
    unsafe {
        libc::umask(0o077);
    }
}

fn main() -> ExitCode {
    fix_large_allocations();
    private_files();
    // Every connection is a descriptor; the connection cap is fitted under
    // whatever limit this leaves (serve::connection_cap).
    relay_server::serve::raise_open_files_limit();
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_env("RELAY_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter);
    match cli.log_format {
        LogFormat::Text => logs
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init(),
        // The same events and fields, one JSON object per line.
        LogFormat::Json => logs.json().with_current_span(false).init(),
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("relay-server: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(real_main(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("relay-server: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn real_main(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Serve {
            listen,
            storage,
            registration,
            tls_cert,
            tls_key,
            insecure_http,
            metrics_listen,
            limits,
        } => {
            let tls = tls_cert
                .zip(tls_key)
                .map(|(cert, key)| TlsFiles { cert, key });
            if tls.is_none() && !listen.ip().is_loopback() && !insecure_http {
                return Err(format!(
                    "refusing plain HTTP on non-loopback address {listen}: give --tls-cert and --tls-key, \
                     or --insecure-http if a TLS proxy sits in front"
                ));
            }
            let scheme = if tls.is_some() { "https" } else { "http" };
            let mut config = storage.config()?;
            config.registration = registration;
            config.tls = tls;
            config.metrics_listen = metrics_listen;
            limits.apply(&mut config);
            let listener = tokio::net::TcpListener::bind(listen)
                .await
                .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
            let addr = listener.local_addr().map_err(|e| e.to_string())?;
            // Announced once the store is open (a relay that cannot open it
            // exits with one line on stderr and never says it is listening);
            // the socket already accepts, connections queue until then.
            relay_server::server::run_announced(config, listener, shutdown_signal(), || {
                println!("listening on {scheme}://{addr}");
            })
            .await
            .map_err(|e| format!("server failed: {e}"))
        }
        Command::Invite {
            command: InviteCommand::Create { storage, count },
        } => {
            if count == 0 || count > 10_000 {
                return Err("--count must be 1 to 10000".into());
            }
            let codes: Vec<String> = (0..count)
                .map(|_| relay_server::auth::new_token())
                .collect();
            let config = storage.config()?;
            let relay = relay_server::server::Relay::open_any(config)
                .await
                .map_err(|e| format!("cannot open the store: {e}"))?;
            relay
                .state
                .store
                .create_invites(codes.clone())
                .await
                .map_err(|e| e.to_string())?;
            for code in codes {
                println!("{code}");
            }
            Ok(())
        }
    }
}

/// Resolves on SIGTERM or SIGINT.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down");
}
