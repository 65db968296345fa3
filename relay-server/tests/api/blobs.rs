//! Blobs (docs/RELAY.md §5.5): uploads in ranged pieces streamed to disk,
//! resumed after a cut, read back whole or by range by the owner and the
//! readers only; size caps, quota, expiry, and the files going with their
//! account.

use std::time::Duration;

use reqwest::Method;
use reqwest::header::{CONTENT_RANGE, RANGE};
use serde_json::json;

use crate::helper::*;

/// `n` bytes that differ from position to position, so a misplaced piece shows.
fn bytes(n: usize, seed: u8) -> Vec<u8> {
    (0..n)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[1] ^ seed)
        .collect()
}

async fn create(user: &User, id: &str, size: u64, readers: &[&str]) -> Reply {
    send(
        user.request(Method::POST, "/v1/blobs")
            .json(&json!({"id": id, "size": size, "readers": readers})),
    )
    .await
}

async fn put_range(user: &User, id: &str, start: u64, body: &[u8], total: u64) -> Reply {
    let end = start + body.len() as u64 - 1;
    send(
        user.request(Method::PUT, &format!("/v1/blobs/{id}"))
            .header(CONTENT_RANGE, format!("bytes {start}-{end}/{total}"))
            .body(body.to_vec()),
    )
    .await
}

async fn put_whole(user: &User, id: &str, body: &[u8]) -> Reply {
    send(
        user.request(Method::PUT, &format!("/v1/blobs/{id}"))
            .body(body.to_vec()),
    )
    .await
}

async fn get(user: &User, id: &str) -> Reply {
    send(user.request(Method::GET, &format!("/v1/blobs/{id}"))).await
}

async fn head(user: &User, id: &str) -> Reply {
    send(user.request(Method::HEAD, &format!("/v1/blobs/{id}"))).await
}

fn header(reply: &Reply, name: &str) -> String {
    reply.headers[name].to_str().unwrap().to_owned()
}

fn blob_file(relay: &Relay, id: &str) -> std::path::PathBuf {
    relay.data_dir().join("blobs").join(id)
}

#[tokio::test]
async fn a_blob_uploaded_in_two_ranges_downloads_whole_and_by_range() {
    let relay = Relay::start().await;
    let users = relay.register_all(&["alice", "bob"]).await;
    let (alice, bob) = (&users[0], &users[1]);
    let data = bytes(300_000, 7);
    let id = random_id();
    let created = create(alice, &id, data.len() as u64, &["bob"]).await;
    created.assert_status(201);
    assert_eq!(
        created.json(),
        json!({"stored": 0, "size": 300_000, "complete": false})
    );
    // Posting the same upload again is idempotent.
    create(alice, &id, data.len() as u64, &["bob", "bob"])
        .await
        .assert_status(200);

    let first = put_range(alice, &id, 0, &data[..100_000], 300_000).await;
    first.assert_status(200);
    assert_eq!(
        first.json(),
        json!({"stored": 100_000, "size": 300_000, "complete": false})
    );
    // Not complete: bob sees nothing yet, the same as for an unknown id.
    let unknown = get(bob, &random_id()).await;
    unknown.assert_error(404, "not_found");
    assert_eq!(get(bob, &id).await.body, unknown.body);
    head(bob, &id).await.assert_status(404);

    let second = put_range(alice, &id, 100_000, &data[100_000..], 300_000).await;
    assert_eq!(
        second.json(),
        json!({"stored": 300_000, "size": 300_000, "complete": true})
    );

    let whole = get(bob, &id).await;
    whole.assert_status(200);
    assert_eq!(whole.body, data);
    assert_eq!(header(&whole, "accept-ranges"), "bytes");
    let from = send(
        bob.request(Method::GET, &format!("/v1/blobs/{id}"))
            .header(RANGE, "bytes=250000-"),
    )
    .await;
    from.assert_status(206);
    assert_eq!(from.body, &data[250_000..]);
    assert_eq!(header(&from, "content-range"), "bytes 250000-299999/300000");
    let middle = send(
        bob.request(Method::GET, &format!("/v1/blobs/{id}"))
            .header(RANGE, "bytes=10-19"),
    )
    .await;
    assert_eq!(middle.body, &data[10..20]);
    let past = send(
        bob.request(Method::GET, &format!("/v1/blobs/{id}"))
            .header(RANGE, "bytes=300000-"),
    )
    .await;
    past.assert_error(416, "range_not_satisfiable");
    assert_eq!(header(&past, "content-range"), "bytes */300000");

    let reader_head = head(bob, &id).await;
    reader_head.assert_status(200);
    assert_eq!(header(&reader_head, "content-length"), "300000");
    // The owner reads it too.
    assert_eq!(get(alice, &id).await.body, data);
}

#[tokio::test]
async fn an_upload_cut_short_resumes_from_what_head_says_is_stored() {
    let relay = Relay::start().await;
    let alice = relay.register("alice").await;
    let data = bytes(200_000, 3);
    let id = random_id();
    create(&alice, &id, 200_000, &["alice"])
        .await
        .assert_status(201);

    // A body that says 200,000 bytes, of which 70,000 arrive before the
    // connection is closed.
    let addr = relay.base.strip_prefix("http://").unwrap().to_owned();
    let head_text = raw_head(
        "PUT",
        &format!("/v1/blobs/{id}"),
        Some(&alice.token),
        &["Content-Length: 200000"],
    );
    {
        use tokio::io::AsyncWriteExt as _;
        let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
        stream.write_all(head_text.as_bytes()).await.unwrap();
        stream.write_all(&data[..70_000]).await.unwrap();
        stream.flush().await.unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut stored = 0;
    for _ in 0..100 {
        let reply = head(&alice, &id).await;
        reply.assert_status(200);
        stored = header(&reply, "upload-offset").parse::<u64>().unwrap();
        if stored > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(stored, 70_000, "what arrived is kept");
    assert_eq!(header(&head(&alice, &id).await, "upload-length"), "200000");

    // Starting anywhere else than the stored length is 416, with the length.
    let wrong = put_range(&alice, &id, 0, &data[..10], 200_000).await;
    wrong.assert_error(416, "range_not_satisfiable");
    assert_eq!(header(&wrong, "upload-offset"), "70000");
    put_range(&alice, &id, 70_000, &data[70_000..70_010], 100)
        .await
        .assert_error(416, "range_not_satisfiable");
    put_whole(&alice, &id, &data)
        .await
        .assert_error(416, "range_not_satisfiable");

    let rest = put_range(&alice, &id, 70_000, &data[70_000..], 200_000).await;
    assert_eq!(rest.json()["complete"], true);
    assert_eq!(get(&alice, &id).await.body, data);
}

#[tokio::test]
async fn sizes_over_the_caps_are_refused_and_nothing_beyond_is_written() {
    let relay = Relay::start_with(|c| {
        c.max_blob_bytes = 1000;
        c.blob_quota_bytes = 2500;
    })
    .await;
    let alice = relay.register("alice").await;
    create(&alice, &random_id(), 1001, &["alice"])
        .await
        .assert_error(413, "blob_too_large");
    // Beyond an int64 (what the document allows) is malformed, and so is a
    // bad reader whatever the size: 400 before any cap.
    create(&alice, &random_id(), 1 << 63, &["alice"])
        .await
        .assert_error(400, "bad_request");
    create(&alice, &random_id(), 1001, &["\u{13}"])
        .await
        .assert_error(400, "bad_request");

    let id = random_id();
    create(&alice, &id, 1000, &["alice"])
        .await
        .assert_status(201);
    // A body longer than the blob: 413 and nothing stored.
    put_whole(&alice, &id, &bytes(1001, 1))
        .await
        .assert_error(413, "payload_too_large");
    // Longer than its own range, too.
    let long = send(
        alice
            .request(Method::PUT, &format!("/v1/blobs/{id}"))
            .header(CONTENT_RANGE, "bytes 0-9/1000")
            .body(bytes(20, 1)),
    )
    .await;
    long.assert_error(413, "payload_too_large");
    assert_eq!(header(&head(&alice, &id).await, "upload-offset"), "0");
    assert!(std::fs::metadata(blob_file(&relay, &id)).map_or(0, |m| m.len()) == 0);

    // The quota counts declared sizes: 1000 + 1000 fit, a third does not.
    create(&alice, &random_id(), 1000, &["alice"])
        .await
        .assert_status(201);
    create(&alice, &random_id(), 1000, &["alice"])
        .await
        .assert_error(507, "quota_exceeded");
    create(&alice, &random_id(), 500, &["alice"])
        .await
        .assert_status(201);
}

#[tokio::test]
async fn bad_requests_get_json_errors() {
    let relay = Relay::start().await;
    let users = relay.register_all(&["alice", "bob"]).await;
    let alice = &users[0];
    let id = random_id();
    for body in [
        json!({"id": "ABC", "size": 1, "readers": ["bob"]}),
        json!({"id": "../../etc/passwd", "size": 1, "readers": ["bob"]}),
        json!({"id": id, "size": 1, "readers": []}),
        json!({"id": id, "size": 1, "readers": ["Not A Name"]}),
        json!({"id": id, "size": -1, "readers": ["bob"]}),
        json!({"id": id, "size": 1, "readers": ["bob"], "extra": 1}),
    ] {
        send(alice.request(Method::POST, "/v1/blobs").json(&body))
            .await
            .assert_error(400, "bad_request");
    }
    let many: Vec<String> = (0..1001).map(|i| format!("user{i}")).collect();
    send(
        alice
            .request(Method::POST, "/v1/blobs")
            .json(&json!({"id": id, "size": 1, "readers": many})),
    )
    .await
    .assert_error(400, "bad_request");
    create(alice, &id, 10, &["bob", "nobody"])
        .await
        .assert_error(404, "unknown_recipient");
    create(alice, &id, 10, &["bob"]).await.assert_status(201);
    // The id is taken: another size, other readers or another owner conflict.
    create(alice, &id, 11, &["bob"])
        .await
        .assert_error(409, "conflict");
    create(&users[1], &id, 10, &["bob"])
        .await
        .assert_error(409, "conflict");

    for path in ["/v1/blobs/..%2F..%2Frelay.db", "/v1/blobs/ABCDEF"] {
        send(alice.request(Method::GET, path))
            .await
            .assert_error(404, "not_found");
        send(alice.request(Method::PUT, path).body("x"))
            .await
            .assert_error(404, "not_found");
    }
    for range in ["bytes 0-1", "bytes a-b/10", "items 0-1/10"] {
        send(
            alice
                .request(Method::PUT, &format!("/v1/blobs/{id}"))
                .header(CONTENT_RANGE, range)
                .body("xx"),
        )
        .await
        .assert_error(400, "bad_request");
    }
}

#[tokio::test]
async fn only_the_owner_writes_and_only_readers_read() {
    let relay = Relay::start().await;
    let users = relay.register_all(&["alice", "bob", "carol"]).await;
    let (alice, bob, carol) = (&users[0], &users[1], &users[2]);
    let id = random_id();
    create(alice, &id, 4, &["bob"]).await.assert_status(201);
    put_whole(alice, &id, b"data").await.assert_status(200);

    let unknown_id = random_id();
    let unknown = get(carol, &unknown_id).await;
    unknown.assert_error(404, "not_found");
    // A stranger: the same answer as for an id nobody uses.
    assert_eq!(get(carol, &id).await.body, unknown.body);
    assert_eq!(head(carol, &id).await.code(), 404);
    // A reader may not write or delete.
    let put = put_whole(bob, &id, b"evil").await;
    put.assert_error(404, "not_found");
    assert_eq!(
        put.body,
        put_whole(bob, &unknown_id, b"evil").await.body,
        "the same as an unknown id"
    );
    send(bob.request(Method::DELETE, &format!("/v1/blobs/{id}")))
        .await
        .assert_error(404, "not_found");
    assert_eq!(get(bob, &id).await.body, b"data");

    send(alice.request(Method::DELETE, &format!("/v1/blobs/{id}")))
        .await
        .assert_status(204);
    get(bob, &id).await.assert_error(404, "not_found");
    assert!(!blob_file(&relay, &id).exists());
}

#[tokio::test]
async fn the_sweep_deletes_expired_blobs_and_stale_uploads_with_their_files() {
    // Margins of a second and more on each side: under a loaded CI
    // machine a request may take hundreds of milliseconds.
    let relay = Relay::start_with(|c| {
        c.blob_ttl = Duration::from_millis(4000);
        c.blob_upload_ttl = Duration::from_millis(1500);
        c.sweep_every = Duration::from_millis(100);
    })
    .await;
    let alice = relay.register("alice").await;
    let (done, partial) = (random_id(), random_id());
    create(&alice, &done, 3, &["alice"])
        .await
        .assert_status(201);
    put_whole(&alice, &done, b"abc").await.assert_status(200);
    create(&alice, &partial, 3, &["alice"])
        .await
        .assert_status(201);
    put_range(&alice, &partial, 0, b"a", 3)
        .await
        .assert_status(200);
    assert!(blob_file(&relay, &done).exists() && blob_file(&relay, &partial).exists());

    // The incomplete upload goes after its 1.5 s, the complete blob stays.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(!blob_file(&relay, &partial).exists());
    head(&alice, &partial).await.assert_status(404);
    assert_eq!(get(&alice, &done).await.body, b"abc");

    // Past its time it is refused at once, and swept with its file.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    get(&alice, &done).await.assert_error(404, "not_found");
    assert!(!blob_file(&relay, &done).exists());
}

#[tokio::test]
async fn deleting_an_account_deletes_its_blob_files() {
    let relay = Relay::start().await;
    let users = relay.register_all(&["alice", "bob"]).await;
    let (alice, bob) = (&users[0], &users[1]);
    let id = random_id();
    create(alice, &id, 3, &["bob"]).await.assert_status(201);
    put_whole(alice, &id, b"abc").await.assert_status(200);
    assert!(blob_file(&relay, &id).exists());
    alice
        .delete_account(&password_of("alice"))
        .await
        .assert_status(204);
    assert!(!blob_file(&relay, &id).exists());
    get(bob, &id).await.assert_error(404, "not_found");
}

#[tokio::test]
async fn concurrent_uploads_to_one_blob_never_interleave() {
    let relay = Relay::start().await;
    let alice = relay.register("alice").await;
    let size = 4 << 20;
    let data = bytes(size, 9);
    for _ in 0..3 {
        let id = random_id();
        create(&alice, &id, size as u64, &["alice"])
            .await
            .assert_status(201);
        let other = bytes(size, 200);
        let (a, b) = tokio::join!(
            put_whole(&alice, &id, &data),
            put_whole(&alice, &id, &other)
        );
        // One wins; the other is refused while it runs, or finds the blob
        // complete after.
        let codes = [a.code(), b.code()];
        assert_eq!(
            codes.iter().filter(|&&c| c == 200).count(),
            1,
            "{codes:?}: {} / {}",
            a.text(),
            b.text()
        );
        for loser in [&a, &b].into_iter().filter(|r| r.code() != 200) {
            assert!(matches!(loser.code(), 409 | 416), "{}", loser.text());
        }
        let winner = if a.code() == 200 { &data } else { &other };
        assert_eq!(&get(&alice, &id).await.body, winner);
    }
}

/// `VmRSS` and `VmHWM` (peak) of a process, in KiB.
fn memory_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |name: &str| -> u64 {
        let line = status.lines().find(|l| l.starts_with(name)).unwrap();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// A 100 MiB blob goes to disk and back in pieces: the relay's peak memory
/// grows by far less than the blob.
#[tokio::test]
async fn a_100_mib_upload_and_download_do_not_grow_the_relay_s_memory_by_the_blob() {
    let dir = tempfile::TempDir::new().unwrap();
    let relay = RelayProcess::serve(dir.path(), &[]).await;
    let pid = relay.child.id().unwrap();
    relay
        .try_register(registration("alice"))
        .await
        .assert_status(201);
    let alice = relay.log_in("alice").await;
    let size = 100 << 20;
    let data = bytes(size, 5);
    let id = random_id();
    create(&alice, &id, size as u64, &["alice"])
        .await
        .assert_status(201);
    let (_, peak_before) = memory_kib(pid);

    let done = put_whole(&alice, &id, &data).await;
    done.assert_status(200);
    assert_eq!(done.json()["complete"], true);
    let (_, peak_upload) = memory_kib(pid);

    let mut response = alice
        .request(Method::GET, &format!("/v1/blobs/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let mut at = 0;
    while let Some(piece) = response.chunk().await.unwrap() {
        assert_eq!(&piece[..], &data[at..at + piece.len()], "at byte {at}");
        at += piece.len();
    }
    assert_eq!(at, size);
    let (rss, peak_download) = memory_kib(pid);

    let bound = 40 * 1024;
    assert!(
        peak_upload - peak_before < bound && peak_download - peak_before < bound,
        "peak RSS grew from {peak_before} KiB to {peak_upload} KiB (upload) and \
         {peak_download} KiB (download); now {rss} KiB"
    );
}
