//! The `relay-server` binary: `serve` and `invite create`.

use std::time::Duration;

use relay_server::RegistrationPolicy;

use crate::helper::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_announces_one_line_serves_and_exits_0_on_sigterm() {
    let dir = tempfile::TempDir::new().unwrap();
    let relay = RelayProcess::serve(dir.path(), &[]).await;
    let port: u16 = relay
        .announced
        .strip_prefix("listening on http://127.0.0.1:")
        .unwrap_or_else(|| panic!("{:?}", relay.announced))
        .parse()
        .expect("a port number");
    assert_ne!(port, 0);

    relay.health().await.assert_status(200);
    let alice = relay.register("alice").await;
    let bob = relay.register("bob").await;
    let hello = alice.seal("bob", "via the binary");
    alice.put(&hello).await.assert_status(201);
    bob.fetch("").await.assert_messages(&[&hello]);

    relay.signal("TERM");
    let (status, rest) = relay.wait(Duration::from_secs(10)).await;
    assert_eq!(status.code(), Some(0), "{status:?}");
    assert!(rest.is_empty(), "only one line on stdout, then {rest:?}");
    assert!(Db::at(dir.path()).tables().contains(&"accounts".to_owned()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_ends_a_waiting_long_poll_and_exits_0() {
    let dir = tempfile::TempDir::new().unwrap();
    let relay = RelayProcess::serve(dir.path(), &[]).await;
    let bob = relay.register("bob").await;
    let waiting = tokio::spawn(async move { bob.fetch_wait(30).await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    relay.signal("TERM");
    let (reply, _) = timed(Duration::from_secs(3), waiting).await;
    reply.unwrap().assert_status(204);
    let (status, _) = relay.wait(Duration::from_secs(5)).await;
    assert_eq!(status.code(), Some(0), "{status:?}");
}

#[tokio::test]
async fn serve_refuses_plain_http_on_a_non_loopback_address() {
    let dir = tempfile::TempDir::new().unwrap();
    let output = relay_binary()
        .args(["serve", "--listen", "0.0.0.0:0", "--data-dir"])
        .arg(dir.path())
        .output()
        .await
        .unwrap();
    assert!(!output.status.success());
    assert!(
        output.stdout.is_empty(),
        "{:?}",
        String::from_utf8_lossy(&output.stdout)
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--tls-cert"), "{stderr}");
    assert!(stderr.contains("--insecure-http"), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "one clear line: {stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_with_insecure_http_accepts_a_non_loopback_address() {
    let dir = tempfile::TempDir::new().unwrap();
    let mut child = relay_binary()
        .args([
            "serve",
            "--listen",
            "0.0.0.0:0",
            "--insecure-http",
            "--data-dir",
        ])
        .arg(dir.path())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use tokio::io::AsyncBufReadExt as _;
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(Duration::from_secs(10), lines.next_line())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let port = line
        .strip_prefix("listening on http://0.0.0.0:")
        .unwrap_or_else(|| panic!("{line:?}"));
    let reply = send(http_client().get(format!("http://127.0.0.1:{port}/v1/health"))).await;
    reply.assert_status(200);
    child.start_kill().unwrap();
    child.wait().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invite_create_prints_single_use_codes() {
    let dir = std::sync::Arc::new(tempfile::TempDir::new().unwrap());
    let output = relay_binary()
        .args(["invite", "create", "--count", "3", "--data-dir"])
        .arg(dir.path())
        .envs(database_for(dir.path()).map(|url| ("RELAY_DATABASE", url)))
        .output()
        .await
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8(output.stdout).unwrap();
    let codes: Vec<&str> = stdout.lines().collect();
    assert_eq!(codes.len(), 3, "{stdout}");
    for code in &codes {
        assert!(code.len() >= 22, "a code with enough entropy: {code}");
    }
    assert_eq!(
        codes.iter().collect::<std::collections::HashSet<_>>().len(),
        3
    );

    let relay = Relay::start_in(dir, |c| c.registration = RegistrationPolicy::Invite).await;
    let mut body = registration("alice");
    body["invite"] = codes[1].into();
    relay.try_register(body).await.assert_status(201);
    relay.log_in("alice").await;
    let mut again = registration("bob");
    again["invite"] = codes[1].into();
    relay
        .try_register(again)
        .await
        .assert_error(403, "invalid_invite");
    let mut other = registration("bob");
    other["invite"] = codes[2].into();
    relay.try_register(other).await.assert_status(201);
}

#[tokio::test]
async fn invite_create_refuses_a_zero_count() {
    let dir = tempfile::TempDir::new().unwrap();
    let output = relay_binary()
        .args(["invite", "create", "--count", "0", "--data-dir"])
        .arg(dir.path())
        .output()
        .await
        .unwrap();
    assert!(!output.status.success());
    assert!(output.stdout.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_data_dir_and_database_are_private_whatever_the_umask() {
    use std::os::unix::fs::PermissionsExt as _;
    let parent = tempfile::TempDir::new().unwrap();
    let dir = parent.path().join("relay-data");
    // The usual login umask (022) would make them world-readable.
    // SAFETY: umask(2) on this test process; the relay child inherits it.
    let before = unsafe { libc::umask(0o022) };
    let relay = RelayProcess::serve(&dir, &[]).await;
    unsafe { libc::umask(before) };
    let alice = relay.register("alice").await;
    let hello = alice.seal("alice", "to myself");
    alice.put(&hello).await.assert_status(201);
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700, "data dir");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        assert_eq!(mode(&path) & 0o077, 0, "{} is private", path.display());
    }
    // (With PostgreSQL the store is elsewhere; the data dir keeps blobs.)
    assert!(on_postgres() || dir.join("relay.db").exists());
    relay.signal("TERM");
}

#[tokio::test]
async fn a_store_that_cannot_open_fails_before_announcing_anything() {
    let parent = tempfile::TempDir::new().unwrap();
    let not_a_dir = parent.path().join("relay-data");
    std::fs::write(&not_a_dir, "a file where the data dir should be").unwrap();
    let out = relay_binary()
        .arg("serve")
        .args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&not_a_dir)
        .env("RELAY_LOG", "off")
        .output()
        .await
        .expect("relay-server runs");
    assert!(!out.status.success(), "{out:?}");
    assert!(
        out.stdout.is_empty(),
        "announced: {:?}",
        String::from_utf8_lossy(&out.stdout)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_takes_the_mailbox_quotas_from_its_flags() {
    let dir = tempfile::TempDir::new().unwrap();
    let relay =
        RelayProcess::serve(&dir.path().join("count"), &["--mailbox-max-envelopes", "2"]).await;
    let alice = relay.register("alice").await;
    relay.register("bob").await;
    for text in ["one", "two"] {
        alice.put(&alice.seal("bob", text)).await.assert_status(201);
    }
    alice
        .put(&alice.seal("bob", "three"))
        .await
        .assert_error(507, "quota_exceeded");

    // Every envelope is well over 100 bytes.
    let relay =
        RelayProcess::serve(&dir.path().join("bytes"), &["--mailbox-max-bytes", "100"]).await;
    let alice = relay.register("alice").await;
    relay.register("bob").await;
    alice
        .put(&alice.seal("bob", "one"))
        .await
        .assert_error(507, "quota_exceeded");
}

#[tokio::test]
async fn serve_refuses_a_zero_limit_with_one_line() {
    let dir = tempfile::TempDir::new().unwrap();
    for flag in ["--mailbox-max-envelopes", "--mailbox-max-bytes"] {
        let run = relay_binary()
            .args(["serve", "--listen", "127.0.0.1:0", flag, "0", "--data-dir"])
            .arg(dir.path())
            .output();
        let output = tokio::time::timeout(Duration::from_secs(10), run)
            .await
            .unwrap_or_else(|_| panic!("serve {flag} 0 kept running"))
            .unwrap();
        assert!(!output.status.success(), "{flag} 0");
        assert!(output.stdout.is_empty(), "{flag} 0 announced");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(flag), "{stderr}");
    }
}

/// `--trusted-proxy` makes the relay take the client address from
/// `X-Forwarded-For` when the request comes from that proxy (here, the test
/// itself on 127.0.0.1).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_trusts_x_forwarded_for_only_from_a_trusted_proxy() {
    let dir = tempfile::TempDir::new().unwrap();
    let relay = RelayProcess::serve(dir.path(), &["--trusted-proxy", "127.0.0.0/8"]).await;
    relay.register("alice").await;
    let login = |client: &str, user: &str, password: &str| {
        send(
            relay
                .request(reqwest::Method::POST, "/v1/sessions")
                .header("x-forwarded-for", client)
                .json(&serde_json::json!({"username": user, "password": password})),
        )
    };
    // Failures under ten names (so no per-user delay) from one client.
    for i in 0..10 {
        login("198.51.100.1", &format!("user{i}"), "a guess")
            .await
            .assert_error(401, "invalid_credentials");
    }
    login("198.51.100.1", "alice", &password_of("alice"))
        .await
        .assert_error(429, "rate_limited");
    login("198.51.100.2", "alice", &password_of("alice"))
        .await
        .assert_status(201);
}

#[tokio::test]
async fn serve_refuses_a_malformed_trusted_proxy_with_one_line() {
    let dir = tempfile::TempDir::new().unwrap();
    for bad in ["10.0.0.0/33", "proxy.example", "10.0.0.0/"] {
        let run = relay_binary()
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--trusted-proxy",
                bad,
                "--data-dir",
            ])
            .arg(dir.path())
            .output();
        let output = tokio::time::timeout(Duration::from_secs(10), run)
            .await
            .unwrap_or_else(|_| panic!("serve --trusted-proxy {bad} kept running"))
            .unwrap();
        assert!(!output.status.success(), "{bad}");
        assert!(output.stdout.is_empty(), "{bad} announced");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("--trusted-proxy"), "{stderr}");
    }
}

/// Under a low open-files limit the relay fits its connection cap under it
/// (so that accepting never fails for want of a descriptor) and says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_fits_the_connection_cap_under_the_open_files_limit() {
    use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _};
    let dir = tempfile::TempDir::new().unwrap();
    let mut command = relay_binary();
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    // SAFETY: setrlimit(2) between fork and exec touches only the child.
    unsafe {
        command.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: 256,
                rlim_max: 256,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) == 0 {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        });
    }
    let mut child = command.spawn().expect("relay-server starts");
    let mut stdout = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(Duration::from_secs(10), stdout.next_line())
        .await
        .expect("announced within 10 s")
        .unwrap()
        .unwrap();
    let base = line.strip_prefix("listening on ").unwrap().to_owned();
    send(http_client().get(format!("{base}/v1/health")))
        .await
        .assert_status(200);
    child.start_kill().unwrap();
    child.wait().await.unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .await
        .unwrap();
    assert!(stderr.contains("lowers the connection cap"), "{stderr}");
    assert!(stderr.contains("cap=128"), "{stderr}");
}

/// The connection, session and long-poll limits come from `serve`'s flags.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_takes_the_connection_session_and_poll_limits_from_its_flags() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let dir = tempfile::TempDir::new().unwrap();
    let relay = RelayProcess::serve(
        dir.path(),
        &[
            "--header-timeout",
            "1",
            "--body-timeout",
            "1",
            "--max-sessions-per-user",
            "1",
            "--max-polls-per-token",
            "1",
        ],
    )
    .await;
    // A silent connection is closed after a second.
    let addr = relay.base.strip_prefix("http://").unwrap().to_owned();
    let mut silent = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let (closed, took) = timed(Duration::from_secs(4), silent.read(&mut [0u8; 16])).await;
    assert!(matches!(closed, Ok(0) | Err(_)), "{closed:?}");
    assert!(took < Duration::from_secs(3), "{took:?}");
    // A body that never comes is 408 after a second.
    let mut slow = tokio::net::TcpStream::connect(&addr).await.unwrap();
    slow.write_all(b"POST /v1/sessions HTTP/1.1\r\nHost: r\r\nContent-Length: 99\r\n\r\n{")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let (_, took) = timed(Duration::from_secs(4), slow.read_to_end(&mut answer)).await;
    assert!(answer.starts_with(b"HTTP/1.1 408"), "{answer:?}");
    assert!(took < Duration::from_secs(3), "{took:?}");

    // One session per account: logging in again revokes the first.
    let first = relay.register("bob").await;
    let second = relay.log_in("bob").await;
    first.fetch("").await.assert_error(401, "unauthorized");
    // One long-poll per token: a second answers the first at once.
    let waiting = tokio::spawn({
        let second = second.clone();
        async move { second.fetch_wait(10).await }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let newer = tokio::spawn({
        let second = second.clone();
        async move { second.fetch_wait(1).await }
    });
    let (reply, _) = timed(Duration::from_secs(2), waiting).await;
    reply.unwrap().assert_status(204);
    newer.await.unwrap().assert_status(204);
}
