//! The devices view's `update` logic: opening, the highlight, the revoke
//! steps and their refusals, renaming, and the link code's life.

use ipc_schema::Secret;
use ipc_schema::methods::{DeviceLinkResult, DeviceView};
use ipc_schema::time::TimeZone;

use super::*;
use crate::app::{Action, update};
use crate::theme::{Theme, ThemeName};

/// 2026-11-25 14:05 UTC.
const T0: u64 = 1_795_615_500_000;
const OLD: &str = "correct horse battery";
const NEW: &str = "a longer passphrase for 2027";

fn device(id: &str, name: &str, current: bool, gone: Option<&str>) -> DeviceView {
    DeviceView {
        id: id.repeat(16),
        name: name.into(),
        created_at: T0 - 86_400_000,
        last_seen: T0,
        current,
        gone: gone.map(str::to_owned),
        gone_at: gone.map(|_| T0 - 3_600_000),
    }
}

/// The view open on desk (this device), laptop, and an old phone revoked
/// (listed first, as no relay would, to see the order fixed).
fn opened() -> AppState {
    let mut s = AppState::new("x", Theme::named(ThemeName::None), TimeZone::Fixed(0));
    s.now_ms = T0;
    update(&mut s, Action::DaemonOnline);
    assert_eq!(
        update(&mut s, Action::ShowDevices),
        vec![Effect::LoadDevices]
    );
    update(
        &mut s,
        Action::Devices(Ok(vec![
            device("0", "old phone", false, Some("revoked")),
            device("1", "desk", true, None),
            device("2", "laptop", false, None),
        ])),
    );
    s
}

fn view(s: &AppState) -> &DevicesView {
    match &s.overlay {
        Some(Overlay::Devices(v)) => v,
        other => panic!("the devices view is not open: {other:?}"),
    }
}

fn step(s: &AppState) -> &RevokeStep {
    match &view(s).prompt {
        Some(DevicePrompt::Revoke(r)) => &r.step,
        other => panic!("no revoke prompt: {other:?}"),
    }
}

fn error(s: &AppState) -> &str {
    match &view(s).message {
        Some(Err(e)) => e,
        other => panic!("no error shown: {other:?}"),
    }
}

fn type_in(s: &mut AppState, text: &str) -> Vec<Effect> {
    for c in text.chars() {
        update(s, Action::PromptEdit(Edit::Insert(c)));
    }
    update(s, Action::PromptSubmit)
}

/// Highlights laptop and answers the confirmation and the current password.
fn at_new_password() -> AppState {
    let mut s = opened();
    update(&mut s, Action::DeviceSelect(1));
    update(&mut s, Action::DeviceRevoke);
    update(&mut s, Action::PromptSubmit);
    type_in(&mut s, OLD);
    assert!(matches!(step(&s), RevokeStep::New { .. }));
    s
}

fn link() -> DeviceLinkResult {
    DeviceLinkResult {
        code: Secret::new("HW1D-847K-J0Z4-835V-DMMK-J05C-7J4D-MZG0"),
        expires_at: T0 + 600_000,
        contacts: 2,
        groups: 1,
        messages: 0,
        messages_left: 0,
        bytes: 4096,
    }
}

#[test]
fn the_view_lists_active_devices_first_and_the_highlight_is_clamped() {
    let mut s = opened();
    let names: Vec<&str> = view(&s)
        .devices
        .iter()
        .flatten()
        .map(|d| d.name.as_str())
        .collect();
    assert_eq!(names, ["desk", "laptop", "old phone"]);
    update(&mut s, Action::DeviceSelect(i64::MAX));
    assert_eq!(view(&s).selected, 2);
    update(&mut s, Action::DeviceSelect(1));
    assert_eq!(view(&s).selected, 2);
    update(&mut s, Action::DeviceSelect(i64::MIN));
    assert_eq!(view(&s).selected, 0);
    // A fresh list keeps the highlight on the same device.
    update(&mut s, Action::DeviceSelect(1));
    update(
        &mut s,
        Action::Devices(Ok(vec![
            device("1", "desk", true, None),
            device("3", "tablet", false, None),
            device("2", "laptop", false, None),
        ])),
    );
    assert_eq!(view(&s).selected, 2);
    // A refused list is said in the view.
    update(
        &mut s,
        Action::Devices(Err(DeviceFailed::Refused("relay unreachable".into()))),
    );
    assert_eq!(error(&s), "relay unreachable");
}

#[test]
fn this_device_and_gone_ones_are_not_revoked() {
    let mut s = opened();
    update(&mut s, Action::DeviceRevoke);
    assert!(view(&s).prompt.is_none());
    assert!(error(&s).contains("'desk' is this device"), "{}", error(&s));
    update(&mut s, Action::DeviceSelect(2));
    update(&mut s, Action::DeviceRevoke);
    assert!(view(&s).prompt.is_none());
    assert_eq!(error(&s), "'old phone' is already revoked");
    update(&mut s, Action::DeviceRename);
    assert!(view(&s).prompt.is_none());
}

#[test]
fn revoking_confirms_then_takes_the_password_and_a_new_one_twice() {
    let mut s = opened();
    update(&mut s, Action::DeviceSelect(1));
    assert!(update(&mut s, Action::DeviceRevoke).is_empty());
    assert_eq!(step(&s), &RevokeStep::Confirm);
    // Typing at the confirmation does nothing; y (Submit) goes on.
    update(&mut s, Action::PromptEdit(Edit::Insert('x')));
    assert!(update(&mut s, Action::PromptSubmit).is_empty());
    assert!(matches!(step(&s), RevokeStep::Current(i) if i.is_empty()));
    assert!(update(&mut s, Action::PromptSubmit).is_empty());
    assert_eq!(error(&s), "type the current relay password");
    assert!(type_in(&mut s, OLD).is_empty());
    assert!(type_in(&mut s, NEW).is_empty());
    assert!(matches!(step(&s), RevokeStep::Repeat { .. }));
    assert_eq!(view(&s).message, None);
    let fx = type_in(&mut s, NEW);
    assert_eq!(
        fx,
        vec![Effect::RevokeDevice {
            id: "2".repeat(16),
            password: Secret::new(OLD),
            new_password: Secret::new(NEW),
        }]
    );
    let v = view(&s);
    assert!(v.prompt.is_none(), "the secrets left with the effect");
    assert_eq!(v.pending.as_deref(), Some("revoking 'laptop'…"));
    // Nothing more starts while the call is on its way.
    update(&mut s, Action::DeviceRevoke);
    assert!(view(&s).prompt.is_none());
}

#[test]
fn a_short_or_unchanged_new_password_is_refused_before_any_call() {
    let mut s = at_new_password();
    assert!(type_in(&mut s, "short12").is_empty());
    assert!(error(&s).contains("at least 8 characters"), "{}", error(&s));
    assert!(matches!(step(&s), RevokeStep::New { input, .. } if input.is_empty()));
    assert!(type_in(&mut s, OLD).is_empty());
    assert!(error(&s).contains("must differ"), "{}", error(&s));
    assert!(type_in(&mut s, &"x".repeat(1025)).is_empty());
    assert!(error(&s).contains("at most 1024 bytes"), "{}", error(&s));
    assert!(matches!(step(&s), RevokeStep::New { .. }));
}

#[test]
fn new_passwords_that_differ_ask_for_the_new_one_again() {
    let mut s = at_new_password();
    type_in(&mut s, NEW);
    let fx = type_in(&mut s, &format!("{NEW}!"));
    assert!(fx.is_empty());
    assert!(error(&s).contains("differ"), "{}", error(&s));
    let RevokeStep::New { password, input } = step(&s) else {
        panic!("not back at the new password: {:?}", step(&s));
    };
    assert_eq!(password, &Secret::new(OLD), "the current one is kept");
    assert!(input.is_empty());
}

#[test]
fn esc_drops_the_prompt_and_its_secrets_and_nothing_is_called() {
    let mut s = at_new_password();
    type_in(&mut s, NEW);
    assert!(update(&mut s, Action::CloseOverlay).is_empty());
    assert!(view(&s).prompt.is_none());
    assert!(update(&mut s, Action::CloseOverlay).is_empty());
    assert!(s.overlay.is_none());
}

#[test]
fn typed_passwords_never_show_in_the_state_or_the_effect_debug() {
    let mut s = at_new_password();
    type_in(&mut s, NEW);
    for c in "half typed".chars() {
        update(&mut s, Action::PromptEdit(Edit::Insert(c)));
    }
    let state = format!("{s:?}");
    for secret in [OLD, NEW, "half typed"] {
        assert!(!state.contains(secret), "{secret:?} in the state's Debug");
    }
    update(&mut s, Action::PromptEdit(Edit::DeleteToLineStart));
    let fx = type_in(&mut s, NEW);
    assert_eq!(fx.len(), 1);
    assert!(!format!("{fx:?}").contains(NEW));
}

#[test]
fn a_wrong_password_asks_again_and_success_reloads_the_list() {
    let mut s = at_new_password();
    type_in(&mut s, NEW);
    type_in(&mut s, NEW);
    let id = "2".repeat(16);
    let fx = update(
        &mut s,
        Action::DeviceRevoked {
            id: id.clone(),
            result: Err(DeviceFailed::WrongPassword),
        },
    );
    assert!(fx.is_empty());
    assert!(
        error(&s).starts_with("wrong current password"),
        "{}",
        error(&s)
    );
    assert!(matches!(step(&s), RevokeStep::Current(i) if i.is_empty()));
    assert_eq!(view(&s).pending, None);
    update(&mut s, Action::CloseOverlay);
    let fx = update(&mut s, Action::DeviceRevoked { id, result: Ok(()) });
    assert_eq!(fx, vec![Effect::LoadDevices]);
    let Some(Ok(done)) = &view(&s).message else {
        panic!("no success shown");
    };
    assert!(done.starts_with("revoked 'laptop'"), "{done}");
}

#[test]
fn offline_nothing_is_revoked_or_linked() {
    let mut s = at_new_password();
    type_in(&mut s, NEW);
    update(&mut s, Action::DaemonOffline("gone".into()));
    assert!(type_in(&mut s, NEW).is_empty());
    assert!(error(&s).contains("nothing was revoked"));
    assert!(view(&s).prompt.is_none());
    let fx = update(
        &mut s,
        Action::DeviceLink {
            with_history: false,
        },
    );
    assert!(fx.is_empty());
    assert!(error(&s).contains("offline"));
}

#[test]
fn a_link_is_shown_until_esc_or_its_expiry() {
    let mut s = opened();
    let fx = update(&mut s, Action::DeviceLink { with_history: true });
    assert_eq!(fx, vec![Effect::LinkDevice { with_history: true }]);
    assert!(view(&s).pending.is_some());
    update(&mut s, Action::DeviceLinked(Ok(link())));
    assert_eq!(view(&s).link, Some(link()));
    assert_eq!(view(&s).pending, None);
    // The list's keys do nothing under the code.
    update(&mut s, Action::DeviceSelect(1));
    assert_eq!(view(&s).selected, 0);
    // Esc forgets the code and keeps the view.
    update(&mut s, Action::CloseOverlay);
    assert_eq!(view(&s).link, None);
    assert!(s.overlay.is_some());
    // The clock passing the expiry forgets it too.
    update(
        &mut s,
        Action::DeviceLink {
            with_history: false,
        },
    );
    update(&mut s, Action::DeviceLinked(Ok(link())));
    update(&mut s, Action::Tick(T0 + 599_999));
    assert!(view(&s).link.is_some());
    update(&mut s, Action::Tick(T0 + 600_000));
    assert_eq!(view(&s).link, None);
    assert!(error(&s).contains("expired"));
    // A refusal is said in the view.
    update(
        &mut s,
        Action::DeviceLink {
            with_history: false,
        },
    );
    update(
        &mut s,
        Action::DeviceLinked(Err(DeviceFailed::TooManyDevices)),
    );
    assert!(error(&s).contains("limit of devices"), "{}", error(&s));
}

#[test]
fn a_link_that_comes_after_the_view_closed_is_dropped() {
    let mut s = opened();
    update(
        &mut s,
        Action::DeviceLink {
            with_history: false,
        },
    );
    update(&mut s, Action::CloseOverlay);
    assert!(s.overlay.is_none());
    update(&mut s, Action::DeviceLinked(Ok(link())));
    assert!(s.overlay.is_none());
    assert!(!format!("{s:?}").contains("HW1D"));
}

#[test]
fn renaming_checks_the_name_then_calls() {
    let mut s = opened();
    update(&mut s, Action::DeviceSelect(1));
    update(&mut s, Action::DeviceRename);
    let Some(DevicePrompt::Rename { input, .. }) = &view(&s).prompt else {
        panic!("no rename prompt");
    };
    assert_eq!(input.text, "laptop");
    // Unchanged: closes without a call.
    assert!(update(&mut s, Action::PromptSubmit).is_empty());
    assert!(view(&s).prompt.is_none());
    update(&mut s, Action::DeviceRename);
    update(&mut s, Action::PromptEdit(Edit::DeleteToLineStart));
    assert!(update(&mut s, Action::PromptSubmit).is_empty());
    assert!(error(&s).contains("1 to 32 bytes"));
    let fx = type_in(&mut s, "work laptop");
    assert_eq!(
        fx,
        vec![Effect::RenameDevice {
            id: "2".repeat(16),
            name: "work laptop".into()
        }]
    );
    let fx = update(
        &mut s,
        Action::DeviceRenamed {
            id: "2".repeat(16),
            name: "work laptop".into(),
            result: Ok(()),
        },
    );
    assert_eq!(fx, vec![Effect::LoadDevices]);
    assert_eq!(
        view(&s).message,
        Some(Ok("renamed to 'work laptop'".into()))
    );
}

#[test]
fn device_events_refresh_an_open_view() {
    let mut s = opened();
    let event = ipc_schema::methods::EventEnvelope {
        seq: 1,
        ts: T0,
        event: ipc_schema::methods::Event::DeviceAdded(ipc_schema::methods::DeviceAddedEvent {
            name: "tablet".into(),
            added_at: T0,
        }),
    };
    assert_eq!(
        update(&mut s, Action::Event(event.clone())),
        vec![Effect::LoadDevices]
    );
    update(&mut s, Action::CloseOverlay);
    assert!(update(&mut s, Action::Event(event)).is_empty());
}
