//! Files through a real relay (docs/PROTOCOL.md §15, docs/RELAY.md §5.5):
//! sealed into a spool, uploaded (and resumed after an interruption),
//! downloaded by the reader it names and by nobody else, and refused whole
//! when the blob or the digest is not the file's.

use chatd::crypto::file::{CHUNK, FileKey};
use chatd::crypto::{Identity, KeyBits};
use chatd::files::{self, FilesError};
use chatd::relay_client::RelayClient;
use chatd::store::RelayTrust;
use ipc_schema::Secret;

use super::helper::Relay;

/// A relay client and a session of a new account `user`.
async fn account(relay: &Relay, user: &str) -> (RelayClient, Secret) {
    let client = RelayClient::new(&[&relay.url], &RelayTrust::default()).unwrap();
    let id = Identity::generate(user, KeyBits::B2048, &mut rand::rng()).unwrap();
    let password = Secret::new(format!("{user}-password"));
    client
        .register(user, &password, id.card().to_value(), None, None)
        .await
        .unwrap();
    let token = client.login(user, &password, None).await.unwrap().token;
    (client, token)
}

fn file_of(size: usize) -> Vec<u8> {
    (0..size).map(|i| (i * 7 % 253) as u8).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_goes_up_and_comes_down_for_its_reader_only() {
    let relay = Relay::start().await;
    let (alice, alice_token) = account(&relay, "alice").await;
    let (bob, bob_token) = account(&relay, "bob").await;
    let (carol, carol_token) = account(&relay, "carol").await;
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("build.log");
    let plain = file_of(2 * CHUNK + 12_345);
    std::fs::write(&src, &plain).unwrap();

    let sealed = files::seal_to_spool(&src, &dir.path().join("spool"), &mut rand::rng()).unwrap();
    assert_eq!(sealed.size, plain.len() as u64);
    files::upload(&alice, &alice_token, &sealed, &["bob".to_owned()])
        .await
        .unwrap();
    // Uploading again is a no-op: the relay has it all.
    files::upload(&alice, &alice_token, &sealed, &["bob".to_owned()])
        .await
        .unwrap();

    let key = || FileKey::from_bytes(sealed.key.bytes()).unwrap();
    let got = dir.path().join("got.log");
    files::download(
        &bob,
        &bob_token,
        &sealed.id,
        key(),
        sealed.size,
        &sealed.sha256,
        &got,
    )
    .await
    .unwrap();
    assert_eq!(std::fs::read(&got).unwrap(), plain);

    // carol was not named: the relay has nothing for her.
    let theirs = dir.path().join("carol.log");
    let refused = files::download(
        &carol,
        &carol_token,
        &sealed.id,
        key(),
        sealed.size,
        &sealed.sha256,
        &theirs,
    )
    .await;
    assert!(matches!(refused, Err(FilesError::NoBlob(_))), "{refused:?}");
    assert!(!theirs.exists());

    // The right blob, but not the file the message described: nothing kept.
    let mut wrong = sealed.sha256;
    wrong[0] ^= 1;
    let bad = dir.path().join("bad.log");
    let refused = files::download(
        &bob,
        &bob_token,
        &sealed.id,
        key(),
        sealed.size,
        &wrong,
        &bad,
    )
    .await;
    assert!(
        matches!(&refused, Err(FilesError::File(e)) if e.name() == "bad_digest"),
        "{refused:?}"
    );
    assert!(!bad.exists() && !bad.with_extension("partial").exists());
    // Read as a shorter file (its last chunks dropped): refused too.
    let refused = files::download(
        &bob,
        &bob_token,
        &sealed.id,
        key(),
        2 * CHUNK as u64,
        &sealed.sha256,
        &bad,
    )
    .await;
    assert!(
        matches!(&refused, Err(FilesError::File(e)) if e.name() == "bad_tag"),
        "{refused:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_upload_resumes_where_the_relay_stopped() {
    let relay = Relay::start().await;
    let (alice, token) = account(&relay, "alice").await;
    let (bob, bob_token) = account(&relay, "bob").await;
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("core");
    let plain = file_of(CHUNK + 5000);
    std::fs::write(&src, &plain).unwrap();
    let sealed = files::seal_to_spool(&src, &dir.path().join("spool"), &mut rand::rng()).unwrap();
    let total = chatd::crypto::file::sealed_len(sealed.size);
    // The first 100,000 bytes went up before the connection broke.
    alice
        .create_blob(
            &token,
            &ipc_schema::relay::BlobCreate {
                id: sealed.id.clone(),
                size: total,
                readers: vec!["bob".into()],
            },
        )
        .await
        .unwrap();
    let spool = std::fs::read(&sealed.spool).unwrap();
    alice
        .put_blob(&token, &sealed.id, 0, total, spool[..100_000].to_vec())
        .await
        .unwrap();
    assert_eq!(
        alice.blob_stored(&token, &sealed.id).await.unwrap(),
        Some(100_000)
    );
    // Not complete: bob cannot fetch it yet.
    assert_eq!(bob.blob_stored(&bob_token, &sealed.id).await.unwrap(), None);
    files::upload(&alice, &token, &sealed, &["bob".to_owned()])
        .await
        .unwrap();
    assert_eq!(
        alice.blob_stored(&token, &sealed.id).await.unwrap(),
        Some(total)
    );
    let got = dir.path().join("got");
    let key = FileKey::from_bytes(sealed.key.bytes()).unwrap();
    files::download(
        &bob,
        &bob_token,
        &sealed.id,
        key,
        sealed.size,
        &sealed.sha256,
        &got,
    )
    .await
    .unwrap();
    assert_eq!(std::fs::read(&got).unwrap(), plain);
}

/// A download resumes from the whole chunks an earlier one kept: here the
/// relay's first chunk is garbage, so only a download that does not fetch
/// it again succeeds; and kept chunks that are not the file's fail the
/// digest and leave nothing behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_download_resumes_from_the_chunks_it_kept_and_still_checks_them() {
    let relay = Relay::start().await;
    let (alice, alice_token) = account(&relay, "alice").await;
    let (bob, bob_token) = account(&relay, "bob").await;
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("core");
    let plain = file_of(3 * CHUNK + 99);
    std::fs::write(&src, &plain).unwrap();
    let spool = dir.path().join("spool");
    let sealed = files::seal_to_spool(&src, &spool, &mut rand::rng()).unwrap();
    let mut blob = std::fs::read(&spool).unwrap();
    blob[100] ^= 0x55;
    std::fs::write(&spool, &blob).unwrap();
    files::upload(&alice, &alice_token, &sealed, &["bob".to_owned()])
        .await
        .unwrap();
    let want = || files::Want {
        id: &sealed.id,
        key: FileKey::from_bytes(sealed.key.bytes()).unwrap(),
        size: sealed.size,
        sha256: &sealed.sha256,
    };

    // From nothing: chunk 0 does not verify.
    let dest = dir.path().join("got");
    let fresh = files::download_resuming(&bob, &bob_token, want(), &dest, &mut |_| {}).await;
    assert!(
        matches!(&fresh, Err(FilesError::File(e)) if e.name() == "bad_tag"),
        "{fresh:?}"
    );
    assert!(
        !files::partial_path(&dest).exists(),
        "nothing of it is kept"
    );

    // An earlier download kept chunk 0 and half of chunk 1: it goes on
    // from chunk 1, and the whole file checks.
    std::fs::write(files::partial_path(&dest), &plain[..CHUNK + CHUNK / 2]).unwrap();
    let mut seen = Vec::new();
    files::download_resuming(&bob, &bob_token, want(), &dest, &mut |done| seen.push(done))
        .await
        .unwrap();
    assert_eq!(std::fs::read(&dest).unwrap(), plain);
    assert_eq!(
        seen.first(),
        Some(&(2 * CHUNK as u64)),
        "chunk 1 came first"
    );
    std::fs::remove_file(&dest).unwrap();

    // Kept bytes that are not the file's: the digest says so.
    let mut wrong = plain[..CHUNK].to_vec();
    wrong[0] ^= 1;
    std::fs::write(files::partial_path(&dest), &wrong).unwrap();
    let refused = files::download_resuming(&bob, &bob_token, want(), &dest, &mut |_| {}).await;
    assert!(
        matches!(&refused, Err(FilesError::File(e)) if e.name() == "bad_digest"),
        "{refused:?}"
    );
    assert!(!dest.exists() && !files::partial_path(&dest).exists());
}
