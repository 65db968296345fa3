//! One recipient who cannot take mail holds back only its own messages
//! (docs/SECURITY.md §2.3): the relay's mailbox quota made small with
//! `--mailbox-max-envelopes`, real processes throughout.

use std::time::{Duration, Instant};

use e2e::{Setup, World, eventually};

#[test]
fn bobs_full_mailbox_delays_only_bobs_texts() {
    let world = World::start_with(Setup {
        relay_args: vec!["--mailbox-max-envelopes".into(), "3".into()],
        ..Setup::default()
    });
    let alice = world.daemon("alice");
    let mut bob = world.daemon("bob");
    let carol = world.daemon("carol");
    for d in [&alice, &bob, &carol] {
        d.register(&world.relay);
    }
    for (a, b) in [
        (&alice, &bob),
        (&bob, &alice),
        (&alice, &carol),
        (&carol, &alice),
    ] {
        a.add_contact(b);
    }

    // bob is away and his mailbox fills: three texts fit, two get 507.
    bob.stop();
    for i in 1..=5 {
        alice
            .ctl(&["send", "bob", &format!("to bob {i}")])
            .success();
    }
    eventually(
        Duration::from_secs(20),
        "three accepted, two waiting",
        || (alice.status()["outbox_pending"] == 2).then_some(()),
    );

    // carol's text goes at once, not behind bob's.
    let sent = Instant::now();
    alice.ctl(&["send", "carol", "to carol"]).success();
    eventually(Duration::from_secs(5), "carol has it within 5 s", || {
        carol
            .log("alice")
            .iter()
            .any(|m| m["body"] == "to carol")
            .then_some(())
    });
    assert!(sent.elapsed() < Duration::from_secs(5));

    // bob drains his mailbox; the other two follow, in order.
    bob.start_again(&[]);
    let want: Vec<String> = (1..=5).map(|i| format!("to bob {i}")).collect();
    eventually(
        Duration::from_secs(90),
        "bob has all five, in order",
        || {
            let got: Vec<String> = bob
                .log("alice")
                .iter()
                .filter(|m| m["direction"] == "in")
                .map(|m| m["body"].as_str().unwrap_or_default().to_owned())
                .collect();
            (got == want).then_some(())
        },
    );
}
