//! A 100 MiB file end to end on loopback (docs/BENCHMARKS.md, "Files"),
//! through real processes: `chat-ctl send bob --file` streams it to alice's
//! chatd, which seals it (docs/PROTOCOL.md §15) into its spool and uploads
//! it to a `relay-server`; bob's chatd downloads it by itself, checks every
//! chunk and the SHA-256, and keeps it. Against the bound of this machine,
//! measured in the same run: sealing 100 MiB with the same code
//! (AES-256-CBC + HMAC-SHA256 per 1 MiB chunk) and writing it to a file in
//! the same directory, fsynced. Also the peak RSS of both daemons and of
//! the relay over the transfer.
//!
//! `scripts/bench files` (builds the release binaries first), or
//! `cargo bench -p e2e --bench files -- [--mib N]`.

use std::io::{Read, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use chatd::crypto::file::{self, FileKey, Sealer};
use e2e::{Daemon, World, cpu_time, eventually, status_kib};

fn main() {
    let mut mib: usize = 100;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--mib" => mib = args.next().and_then(|v| v.parse().ok()).expect("--mib N"),
            "--bench" => {}
            other => {
                eprintln!("usage: files [--mib N] (got {other:?})");
                std::process::exit(2);
            }
        }
    }
    let size = mib << 20;
    let world = World::start();
    let src = world.dir.path().join("payload.bin");
    write_payload(&src, size);

    let bound = seal_to_disk(&src, &world.dir.path().join("bound.blob"));
    let (alice, mut bob) = (world.daemon("alice"), world.daemon("bob"));
    alice.register(&world.relay);
    bob.register(&world.relay);
    alice.add_contact(&bob);
    bob.add_contact(&alice);
    bob.write_config(&format!("[files]\nauto_download_mib = {}\n", mib + 1));
    bob.restart();
    let pids = [
        ("alice's chatd", alice.pid().unwrap()),
        ("bob's chatd", bob.pid().unwrap()),
        ("relay", world.relay.pid()),
    ];
    let before: Vec<u64> = pids.iter().map(|(_, p)| status_kib(*p, "VmRSS:")).collect();
    let cpu_before: Vec<Duration> = pids.iter().map(|(_, p)| cpu_time(*p)).collect();

    let start = Instant::now();
    let id = alice
        .ctl(&["send", "bob", "--file", src.to_str().unwrap()])
        .success()
        .trim()
        .to_owned();
    let streamed = start.elapsed();
    let sent = state_reached(&alice, "bob", &id, "uploaded");
    let sent_at = start.elapsed();
    let _ = sent;
    state_reached(&bob, "alice", &id, "ready");
    let total = start.elapsed();

    let kept = bob.data_dir.join("files").join(format!("alice-{id}"));
    assert_eq!(
        std::fs::metadata(&kept).unwrap().len(),
        size as u64,
        "bob keeps the whole file"
    );
    let mb = size as f64 / 1e6;
    let rate = |d: Duration| mb / d.as_secs_f64();
    println!("\n| measure | figure | against the bound / goal |");
    println!("|---|---|---|");
    println!(
        "| bound: seal {mib} MiB (AES-256-CBC + HMAC-SHA256, 1 MiB chunks) + write + fsync | {:.2} s = {:.0} MB/s | |",
        bound.as_secs_f64(),
        rate(bound)
    );
    println!(
        "| `chat-ctl send --file` returns (streamed in, sealed, spooled) | {:.2} s = {:.0} MB/s | {:.2} of the bound |",
        streamed.as_secs_f64(),
        rate(streamed),
        rate(streamed) / rate(bound)
    );
    println!(
        "| blob up, message sent | {:.2} s after the start | |",
        sent_at.as_secs_f64()
    );
    println!(
        "| end to end: send until bob keeps the checked file | {:.2} s = {:.0} MB/s | {:.2} of the bound (goal 0.50) |",
        total.as_secs_f64(),
        rate(total),
        rate(total) / rate(bound)
    );
    let cpu: Vec<String> = pids
        .iter()
        .zip(&cpu_before)
        .map(|((what, pid), b)| format!("{what} {:.2} s", (cpu_time(*pid) - *b).as_secs_f64()))
        .collect();
    println!(
        "| CPU over the transfer (chat-ctl aside) | {} | wall {:.2} s on 2 cores |",
        cpu.join(", "),
        total.as_secs_f64()
    );
    for ((what, pid), base) in pids.iter().zip(before) {
        let peak = status_kib(*pid, "VmHWM:");
        println!(
            "| {what} RSS: peak / before the transfer | {:.1} / {:.1} MB | goal < 64 MB |",
            peak as f64 * 1024.0 / 1e6,
            base as f64 * 1024.0 / 1e6
        );
    }
}

/// `size` bytes that do not compress (xorshift), written to `path`.
fn write_payload(path: &Path, size: usize) {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut block = vec![0u8; 1 << 16];
    let mut left = size;
    while left > 0 {
        for b in block.chunks_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            b.copy_from_slice(&x.to_le_bytes()[..b.len()]);
        }
        let n = left.min(block.len());
        out.write_all(&block[..n]).unwrap();
        left -= n;
    }
    out.flush().unwrap();
    out.into_inner().unwrap().sync_all().unwrap();
}

/// The bound: read `src`, seal it chunk by chunk as chatd does, write the
/// blob to `dest` and fsync it; best of 3.
fn seal_to_disk(src: &Path, dest: &Path) -> Duration {
    (0..3)
        .map(|_| {
            let start = Instant::now();
            let mut input = std::fs::File::open(src).unwrap();
            let size = input.metadata().unwrap().len();
            let mut rng = rand::rng();
            let mut sealer = Sealer::new(FileKey::generate(&mut rng), [7; 16], size);
            let mut out = std::io::BufWriter::new(std::fs::File::create(dest).unwrap());
            let mut chunk = vec![0u8; file::CHUNK];
            while let Some(n) = sealer.next_len() {
                input.read_exact(&mut chunk[..n]).unwrap();
                out.write_all(&sealer.seal_chunk(&chunk[..n], &mut rng).unwrap())
                    .unwrap();
            }
            out.into_inner().unwrap().sync_all().unwrap();
            sealer.finish().unwrap();
            start.elapsed()
        })
        .min()
        .unwrap()
}

/// Waits until `d` shows message `id`'s file in `state`.
fn state_reached(d: &Daemon, peer: &str, id: &str, state: &str) -> serde_json::Value {
    eventually(Duration::from_secs(600), state, || {
        d.log_n(peer, 5)
            .into_iter()
            .find(|m| m["id"] == id && m["file"]["state"] == state)
    })
}
