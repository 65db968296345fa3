//! The devices view drawn with TestBackend + insta snapshots (list,
//! confirmation, masked password, link code with its QR code), its keys, and
//! what must never reach the screen: a typed password, or the relay's text
//! as a terminal would act on it. (Its `update` logic is tested in
//! src/app/devices/tests.rs, the worker's device calls in src/backend/tests.rs.)

use chat_tui::app::{self, Action, AppState, Edit, Overlay};
use chat_tui::theme::{Theme, ThemeName};
use chat_tui::ui;
use crossterm::event::{Event as TermEvent, KeyCode, KeyEvent, KeyModifiers};
use ipc_schema::Secret;
use ipc_schema::methods::{
    ConnectionState, DeviceLinkResult, DeviceView, DroppedCounters, RelayUrlView, StatusResult,
};
use ipc_schema::time::TimeZone;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

/// 2026-11-25 14:05 UTC.
const T0: u64 = 1_795_615_500_000;
const DAY: u64 = 86_400_000;
const CODE: &str = "HW1D-847K-J0Z4-835V-DMMK-J05C-7J4D-MZG0";
const PASSWORD: &str = "correct horse battery";

fn status() -> StatusResult {
    StatusResult {
        version: "0.1.0".into(),
        user: Some("alice".into()),
        fingerprint: Some(
            "3f2a 9c41 07be d5e8 1a6c 44f0 b93d 2e71 8c05 6a1f e4d2 97b3 50c8 2f6e a1d9 7b34"
                .into(),
        ),
        relay_url: Some("https://relay.example.org".into()),
        connection: ConnectionState::Online,
        unread: 0,
        outbox_pending: 0,
        dropped: DroppedCounters::default(),
        relay_trust: None,
        proxy: None,
        relays: Vec::new(),
    }
}

fn device(id: &str, name: &str, added_days_ago: u64, current: bool) -> DeviceView {
    DeviceView {
        id: id.into(),
        name: name.into(),
        created_at: T0 - added_days_ago * DAY,
        last_seen: T0 + 3_000_000,
        current,
        gone: None,
        gone_at: None,
    }
}

fn devices() -> Vec<DeviceView> {
    vec![
        device("5be0c1d7a4f29e36", "desk", 40, true),
        device("0123456789abcdef", "laptop", 12, false),
        DeviceView {
            gone: Some("revoked".into()),
            gone_at: Some(T0 - 2 * DAY),
            ..device("9f3e00aa17c4b2d8", "old phone", 300, false)
        },
    ]
}

/// Online, `w`×`h`, with the devices view open on [`devices`].
fn devices_open(w: u16, h: u16) -> AppState {
    let mut s = AppState::new(
        "/run/chat/chatd.sock",
        Theme::named(ThemeName::None),
        TimeZone::Fixed(0),
    );
    s.now_ms = T0 + 3_600_000;
    app::update(&mut s, Action::Resize(w, h));
    app::update(&mut s, Action::DaemonOnline);
    app::update(&mut s, Action::Status(status()));
    app::update(&mut s, Action::ShowDevices);
    app::update(&mut s, Action::Devices(Ok(devices())));
    s
}

fn render(s: &AppState) -> String {
    let mut t = Terminal::new(TestBackend::new(s.viewport.width, s.viewport.height)).unwrap();
    t.draw(|f| ui::draw(f, s)).unwrap();
    t.backend().to_string()
}

fn key(c: char) -> TermEvent {
    TermEvent::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

fn named(code: KeyCode) -> TermEvent {
    TermEvent::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

/// Feeds terminal events through the key map into `update`, as main does.
fn press(s: &mut AppState, events: impl IntoIterator<Item = TermEvent>) {
    for event in events {
        if let Some(action) = app::keys::map_event(s, event) {
            app::update(s, action);
        }
    }
}

fn typed(text: &str) -> Vec<TermEvent> {
    text.chars().map(key).collect()
}

fn link() -> DeviceLinkResult {
    DeviceLinkResult {
        code: Secret::new(CODE),
        expires_at: T0 + 3_600_000 + 600_000,
        contacts: 2,
        groups: 1,
        messages: 1250,
        messages_left: 0,
        bytes: 412_884,
    }
}

#[test]
fn snapshot_devices_view_80x24() {
    let mut s = devices_open(80, 24);
    press(&mut s, [key('j')]);
    insta::assert_snapshot!(render(&s));
}

#[test]
fn snapshot_devices_revoke_confirmation_80x24() {
    let mut s = devices_open(80, 24);
    press(&mut s, [key('j'), key('r')]);
    insta::assert_snapshot!(render(&s));
}

#[test]
fn snapshot_devices_masked_new_password_80x24() {
    let mut s = devices_open(80, 24);
    press(&mut s, [key('j'), key('r'), key('y')]);
    press(&mut s, typed(PASSWORD));
    press(&mut s, [named(KeyCode::Enter)]);
    press(&mut s, typed("short"));
    press(&mut s, [named(KeyCode::Enter)]);
    press(&mut s, typed("new one"));
    insta::assert_snapshot!(render(&s));
}

#[test]
fn snapshot_devices_link_with_qr_80x24() {
    let mut s = devices_open(80, 24);
    press(&mut s, [key('L')]);
    app::update(&mut s, Action::DeviceLinked(Ok(link())));
    insta::assert_snapshot!(render(&s));
}

#[test]
fn the_typed_password_never_reaches_the_screen() {
    let mut s = devices_open(80, 24);
    press(&mut s, [key('j'), key('r'), key('y')]);
    press(&mut s, typed(PASSWORD));
    let screen = render(&s);
    assert!(
        screen.contains(&"•".repeat(PASSWORD.chars().count())),
        "{screen}"
    );
    // Every word of it, in case one were drawn in pieces.
    for word in PASSWORD.split(' ').chain([PASSWORD]) {
        assert!(!screen.contains(word), "{word:?} drawn:\n{screen}");
    }
    // Pasted into the next step: the same.
    press(&mut s, [named(KeyCode::Enter)]);
    press(&mut s, [TermEvent::Paste("pasted secret 2027\n".into())]);
    let screen = render(&s);
    assert!(
        !screen.contains("pasted") && !screen.contains("secret"),
        "{screen}"
    );
    assert!(screen.contains(&"•".repeat(18)), "{screen}");
}

#[test]
fn a_revocation_runs_on_keys_and_ends_in_one_call() {
    let mut s = devices_open(80, 24);
    // Keys of the list and the global ones do not leak into a prompt.
    press(&mut s, [key('j'), key('r'), key('y')]);
    press(&mut s, typed("q D r"));
    assert!(s.overlay.is_some() && !s.should_quit);
    press(&mut s, (0..5).map(|_| named(KeyCode::Backspace)));
    press(&mut s, typed(PASSWORD));
    press(&mut s, [named(KeyCode::Enter)]);
    press(&mut s, typed("a longer passphrase"));
    press(&mut s, [named(KeyCode::Enter)]);
    press(&mut s, typed("a longer passphrase"));
    let fx = app::update(&mut s, Action::PromptSubmit);
    assert_eq!(
        fx,
        vec![app::Effect::RevokeDevice {
            id: "0123456789abcdef".into(),
            password: Secret::new(PASSWORD),
            new_password: Secret::new("a longer passphrase"),
        }]
    );
    assert!(render(&s).contains("revoking 'laptop'…"));
    app::update(
        &mut s,
        Action::DeviceRevoked {
            id: "0123456789abcdef".into(),
            result: Ok(()),
        },
    );
    assert!(render(&s).contains("revoked 'laptop'; the relay password is changed"));
}

#[test]
fn keys_of_the_devices_view() {
    let mut s = devices_open(80, 24);
    let map = |s: &AppState, e| app::keys::map_event(s, e);
    assert_eq!(
        map(&s, key('l')),
        Some(Action::DeviceLink {
            with_history: false
        })
    );
    assert_eq!(
        map(&s, key('L')),
        Some(Action::DeviceLink { with_history: true })
    );
    assert_eq!(map(&s, key('e')), Some(Action::DeviceRename));
    assert_eq!(map(&s, named(KeyCode::Delete)), Some(Action::DeviceRevoke));
    assert_eq!(map(&s, key('G')), Some(Action::DeviceSelect(i64::MAX)));
    assert_eq!(map(&s, key('D')), Some(Action::CloseOverlay));
    // Revoking this device is refused where the user looks.
    press(&mut s, [key('r')]);
    assert!(render(&s).contains("'desk' is this device: revoke it from one of your other devices"));
    // At the confirmation only y, n and Esc mean something.
    press(&mut s, [key('j'), key('r')]);
    assert_eq!(map(&s, key('x')), None);
    assert_eq!(map(&s, key('n')), Some(Action::CloseOverlay));
    assert_eq!(map(&s, key('y')), Some(Action::PromptSubmit));
    press(&mut s, [key('y')]);
    assert_eq!(
        map(&s, key('q')),
        Some(Action::PromptEdit(Edit::Insert('q')))
    );
    // Esc: the prompt, then the view.
    press(&mut s, [named(KeyCode::Esc)]);
    assert!(matches!(&s.overlay, Some(Overlay::Devices(v)) if v.prompt.is_none()));
    press(&mut s, [named(KeyCode::Esc)]);
    assert!(s.overlay.is_none());
    // D opens it from the list.
    assert_eq!(map(&s, key('D')), Some(Action::ShowDevices));
}

#[test]
fn the_link_gives_the_command_and_closing_forgets_the_code() {
    let mut s = devices_open(80, 24);
    press(&mut s, [key('l')]);
    app::update(&mut s, Action::DeviceLinked(Ok(link())));
    let screen = render(&s);
    for part in [
        "H W 1 D   8 4 7 K   J 0 Z 4   8 3 5 V",
        "valid until 15:15 (10 min left)",
        CODE,
        "--relay https://relay.example.org --user",
        "alice",
    ] {
        assert!(screen.contains(part), "{part:?} missing:\n{screen}");
    }
    // Esc forgets the code: the list is back, and no trace of the code.
    press(&mut s, [named(KeyCode::Esc)]);
    let screen = render(&s);
    assert!(
        screen.contains("laptop") && !screen.contains("HW1D"),
        "{screen}"
    );
    assert!(!format!("{s:?}").contains("HW1D"));
}

#[test]
fn the_join_command_names_every_url_of_the_relay_in_order() {
    let mut s = devices_open(160, 40);
    let url = |url: &str, in_use: bool| RelayUrlView {
        url: url.into(),
        in_use,
        failure: None,
        failed_at: None,
    };
    app::update(
        &mut s,
        Action::Status(StatusResult {
            relay_url: Some("https://relay2.example.org".into()),
            relays: vec![
                url("https://relay.example.org", false),
                url("https://relay2.example.org", true),
            ],
            ..status()
        }),
    );
    press(&mut s, [key('l')]);
    app::update(&mut s, Action::DeviceLinked(Ok(link())));
    let screen = render(&s);
    // Wrapped after the second --relay.
    for part in [
        "--relay https://relay.example.org --relay",
        "https://relay2.example.org --user alice",
    ] {
        assert!(screen.contains(part), "{part:?} missing:\n{screen}");
    }
}

#[test]
fn a_terminal_too_small_for_the_qr_code_gets_the_code_in_text() {
    let mut s = devices_open(60, 20);
    press(&mut s, [key('l')]);
    app::update(&mut s, Action::DeviceLinked(Ok(link())));
    let screen = render(&s);
    assert!(screen.contains("enlarge the terminal"), "{screen}");
    assert!(screen.contains("H W 1 D   8 4 7 K"), "{screen}");
    assert!(!screen.contains('▀'), "a QR code cut short:\n{screen}");
}

#[test]
fn device_names_and_states_from_the_relay_are_drawn_inert() {
    let mut s = devices_open(100, 24);
    let mut list = devices();
    list[1].name = "lap\x1b[2J\u{202e}top".into();
    list[2].gone = Some("re\x07voked".into());
    app::update(&mut s, Action::Devices(Ok(list)));
    let inert = |screen: &str| {
        let active: Vec<char> = screen
            .chars()
            .filter(|c| (c.is_control() && *c != '\n') || ('\u{202a}'..='\u{202e}').contains(c))
            .collect();
        assert!(active.is_empty(), "{active:?} on\n{screen}");
    };
    let list = render(&s);
    inert(&list);
    assert!(list.contains("lap␛[2J\u{fffd}top"), "{list}");
    assert!(list.contains("re␇voked"), "{list}");
    press(&mut s, [key('j'), key('r')]);
    let prompt = render(&s);
    inert(&prompt);
    assert!(prompt.contains("Revoke 'lap␛[2J\u{fffd}top'?"), "{prompt}");
}

#[test]
fn the_help_lists_the_devices_keys() {
    let s = devices_open(80, 24);
    let rows = app::keys::help_rows(&s.keys);
    let has = |k: &str, what: &str| rows.iter().any(|(a, b)| a == k && b.starts_with(what));
    assert!(has("D", "this account's devices"), "{rows:?}");
    assert!(has("r", "revoke (asks y/n"), "{rows:?}");
    assert!(has("l / L", "link a new machine"), "{rows:?}");
}

#[test]
fn every_screen_of_the_view_draws_at_any_size() {
    for (w, h) in [(20, 6), (40, 12), (60, 20), (120, 40)] {
        let mut s = devices_open(w, h);
        render(&s);
        press(&mut s, [key('j'), key('e')]);
        render(&s);
        press(&mut s, [named(KeyCode::Esc), key('r')]);
        render(&s);
        press(&mut s, [key('y')]);
        press(&mut s, typed(&"p".repeat(200)));
        render(&s);
        press(&mut s, [named(KeyCode::Esc), key('l')]);
        app::update(&mut s, Action::DeviceLinked(Ok(link())));
        render(&s);
    }
}
