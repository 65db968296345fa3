//! Tests of envelopes, payloads and usernames.
use super::*;

#[test]
fn usernames_follow_the_design_pattern() {
    for ok in [
        "alice",
        "bob",
        "a1_",
        "0xy",
        "abc.def-ghi_jkl",
        &"a".repeat(32),
    ] {
        assert!(is_valid_username(ok), "{ok}");
    }
    for no in [
        "al",
        "Alice",
        "_abc",
        ".abc",
        "ab c",
        "abé",
        &"a".repeat(33),
        "",
    ] {
        assert!(!is_valid_username(no), "{no}");
    }
}

#[test]
fn a_contact_payload_round_trips_and_is_checked() {
    let pinned = Payload::Contact {
        user: "bob".into(),
        state: ContactSyncState::Verified,
        card: Some(r#"{"enc":"x","sig":"y","user":"bob","v":1}"#.into()),
        at: 1_764_000_000_000,
        device: "5be0c1d7a4f29e36".into(),
    };
    let json = pinned.to_json().unwrap();
    assert_eq!(Payload::from_json(&json).unwrap(), pinned);
    let removed = Payload::Contact {
        user: "bob".into(),
        state: ContactSyncState::Removed,
        card: None,
        at: 1,
        device: "5be0c1d7a4f29e36".into(),
    };
    assert_eq!(
        String::from_utf8(removed.to_json().unwrap()).unwrap(),
        r#"{"type":"contact","user":"bob","state":"removed","at":1,"device":"5be0c1d7a4f29e36"}"#
    );
    for bad in [
        r#"{"type":"contact","user":"bob","state":"removed","card":{},"at":1,"device":"5be0c1d7a4f29e36"}"#,
        r#"{"type":"contact","user":"bob","state":"pinned","at":1,"device":"5be0c1d7a4f29e36"}"#,
        r#"{"type":"contact","user":"bob","state":"pinned","card":"{}","at":1,"device":"5be0c1d7a4f29e36"}"#,
        r#"{"type":"contact","user":"Bob","state":"removed","at":1,"device":"5be0c1d7a4f29e36"}"#,
        r#"{"type":"contact","user":"bob","state":"removed","at":1,"device":"laptop"}"#,
        r#"{"type":"contact","user":"bob","state":"lost","at":1,"device":"5be0c1d7a4f29e36"}"#,
    ] {
        assert!(Payload::from_json(bad.as_bytes()).is_err(), "{bad}");
    }
}

#[test]
fn payload_json_is_exact_and_round_trips() {
    let p = Payload::text("hi");
    assert_eq!(p.to_json().unwrap(), br#"{"type":"text","body":"hi"}"#);
    assert_eq!(Payload::from_json(&p.to_json().unwrap()).unwrap(), p);
    let r = Payload::Receipt {
        ids: vec!["0".repeat(32)],
        kind: ReceiptKind::Delivered,
    };
    assert_eq!(
        r.to_json().unwrap(),
        format!(
            r#"{{"type":"receipt","ids":["{}"],"kind":"delivered"}}"#,
            "0".repeat(32)
        )
        .into_bytes()
    );
    assert_eq!(Payload::from_json(&r.to_json().unwrap()).unwrap(), r);
}

#[test]
fn unknown_payload_types_are_kept_verbatim() {
    let raw = r#"{"type":"reaction","emoji":"👍"}"#;
    assert_eq!(
        Payload::from_json(raw.as_bytes()).unwrap(),
        Payload::Unsupported {
            kind: "reaction".into(),
            raw: raw.into()
        }
    );
    assert_eq!(Payload::from_json(b"[1]"), Err(PayloadError::NotAnObject));
    assert_eq!(
        Payload::from_json(br#"{"type":"text"}"#),
        Err(PayloadError::BadFields("text".into()))
    );
}

#[test]
fn strict_json_details_of_protocol_md() {
    let sample = Envelope {
        v: 1,
        id: "0".repeat(32),
        from: "alice".into(),
        to: "bob".into(),
        ts: 5,
        wk: B64.encode([1u8; 256]),
        iv: B64.encode([2u8; 16]),
        ct: B64.encode([3u8; 32]),
        tag: B64.encode([4u8; 32]),
        sig: B64.encode([5u8; 384]),
    };
    let good = serde_json::to_string(&sample).unwrap();
    assert!(Envelope::parse(good.as_bytes()).is_ok());
    // Repeated member.
    let dup = good.replacen("\"to\":\"bob\"", "\"to\":\"bob\",\"to\":\"eve\"", 1);
    assert!(matches!(
        Envelope::parse(dup.as_bytes()),
        Err(ShapeError::Json(_))
    ));
    // Integers only.
    for ts in ["5.0", "5e0", "-5", "18446744073709551616"] {
        let odd = good.replace("\"ts\":5", &format!("\"ts\":{ts}"));
        assert!(
            matches!(Envelope::parse(odd.as_bytes()), Err(ShapeError::Json(_))),
            "{ts}"
        );
    }
    // Byte-order mark.
    let bom = [&[0xef, 0xbb, 0xbf][..], good.as_bytes()].concat();
    assert!(Envelope::parse(&bom).is_err());
    // RSA sizes other than 256/384/512.
    let odd = Envelope {
        sig: B64.encode([5u8; 300]),
        ..sample
    };
    assert!(matches!(
        odd.check(),
        Err(ShapeError::Field { field: "sig", .. })
    ));
}

#[test]
fn payload_strictness_of_protocol_md() {
    assert!(Payload::from_json(br#"{"type":"text","body":"\ud800"}"#).is_err());
    assert_eq!(
        Payload::from_json(br#"{"type":"text","body":"x","reply_to":null,"later":1}"#).unwrap(),
        Payload::text("x")
    );
    let id = "a".repeat(32);
    let twice = format!(r#"{{"type":"receipt","ids":["{id}","{id}"],"kind":"read"}}"#);
    assert!(Payload::from_json(twice.as_bytes()).is_ok());
    let upper = format!(
        r#"{{"type":"receipt","ids":["{}"],"kind":"read"}}"#,
        "A".repeat(32)
    );
    assert_eq!(
        Payload::from_json(upper.as_bytes()),
        Err(PayloadError::BadId)
    );
}

#[test]
fn oversized_envelopes_are_refused_before_parsing() {
    let big = vec![b' '; MAX_ENVELOPE_JSON + 1];
    assert_eq!(
        Envelope::parse(&big),
        Err(ShapeError::TooLarge(MAX_ENVELOPE_JSON + 1))
    );
}

#[test]
fn a_key_transition_payload_round_trips_and_is_bounded() {
    let p = Payload::KeyTransition {
        transition: r#"{"v":1}"#.into(),
    };
    let json = p.to_json().unwrap();
    assert_eq!(
        json,
        br#"{"type":"key_transition","transition":"{\"v\":1}"}"#
    );
    assert_eq!(Payload::from_json(&json).unwrap(), p);
    let big =
        serde_json::json!({"type": "key_transition", "transition": "x".repeat(16 * 1024 + 1)});
    assert!(Payload::from_json(big.to_string().as_bytes()).is_err());
}
