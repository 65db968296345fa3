//! The command line: `--seconds`, `--quick`, `--seed`, `--drain`,
//! `--no-flood`, and the internal `--dump-secrets`.

use std::path::Path;

use crate::keyring::dump_secrets;

/// What the command line asked for.
pub struct Args {
    /// Length of the chaos phase.
    pub seconds: u64,
    /// Fixes the schedule.
    pub seed: u64,
    /// Longest wait for the backlog to drain, in seconds.
    pub drain: u64,
    /// No flooder: a baseline for the latencies.
    pub no_flood: bool,
}

fn usage() -> ! {
    eprintln!(
        "usage: chaos [--seconds N] [--quick] [--seed S] [--drain N]\n\
         \x20 --seconds N  length of the chaos phase (default 120)\n\
         \x20 --quick      --seconds 30\n\
         \x20 --seed S     fixes the schedule (default: random, printed)\n\
         \x20 --drain N    longest wait for the backlog to drain (default 90)\n\
         \x20 --no-flood   no garbage flood (a latency baseline; the 429 check fails)"
    );
    std::process::exit(2)
}

/// The arguments, or the usage and exit 2; `--dump-secrets DIR` prints and exits 0.
pub fn parse_args() -> Args {
    let mut args = Args {
        seconds: 120,
        seed: rand::random::<u64>() % 1_000_000,
        drain: 90,
        no_flood: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let num = |it: &mut dyn Iterator<Item = String>| -> u64 {
            it.next()
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| usage())
        };
        match a.as_str() {
            "--seconds" => args.seconds = num(&mut it),
            "--quick" => args.seconds = 30,
            "--seed" => args.seed = num(&mut it),
            "--drain" => args.drain = num(&mut it),
            "--no-flood" => args.no_flood = true,
            "--dump-secrets" => {
                let dir = it.next().unwrap_or_else(|| usage());
                dump_secrets(Path::new(&dir));
                std::process::exit(0);
            }
            _ => usage(),
        }
    }
    if args.seconds < 10 {
        eprintln!("chaos: --seconds must be at least 10");
        std::process::exit(2);
    }
    args
}
