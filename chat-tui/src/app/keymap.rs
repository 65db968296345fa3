//! The configurable single-key bindings: built once at startup from the
//! config file's `[keys]` table, then read by the pure key mapping and the
//! help overlay. Composer and prompt editing keys stay fixed.

use std::collections::BTreeMap;
use std::fmt;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// One key with its modifiers; `Char` keys carry their case, not SHIFT.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Key {
    /// The key.
    pub code: KeyCode,
    /// Only CONTROL and ALT.
    pub mods: KeyModifiers,
}

impl Key {
    const fn new(code: KeyCode, mods: KeyModifiers) -> Self {
        Key { code, mods }
    }

    const fn ch(c: char) -> Self {
        Key::new(KeyCode::Char(c), KeyModifiers::NONE)
    }

    const fn ctrl(c: char) -> Self {
        Key::new(KeyCode::Char(c), KeyModifiers::CONTROL)
    }

    /// Whether the terminal's `event` is this key.
    pub fn matches(&self, event: &KeyEvent) -> bool {
        normalize(event.code, event.modifiers) == *self
    }

    /// Parses `ctrl+p`, `c`, `?`, `shift+i`, `alt+enter`, `pageup`, `f1`.
    pub fn parse(text: &str) -> Result<Key, String> {
        let bad = |why: &str| format!("bad key {text:?}: {why}");
        let mut mods = KeyModifiers::NONE;
        let mut rest = text;
        // A lone "+" is a key; "ctrl++" is Ctrl and "+".
        while let Some((m, tail)) = rest
            .split_once('+')
            .filter(|(m, t)| !m.is_empty() && !t.is_empty())
        {
            mods |= match m.to_ascii_lowercase().as_str() {
                "ctrl" | "control" => KeyModifiers::CONTROL,
                "alt" | "meta" => KeyModifiers::ALT,
                "shift" => KeyModifiers::SHIFT,
                other => return Err(bad(&format!("unknown modifier {other:?}"))),
            };
            rest = tail;
        }
        let mut chars = rest.chars();
        let code = match (chars.next(), chars.next()) {
            (None, _) => return Err(bad("no key")),
            (Some(c), None) => KeyCode::Char(c),
            _ => match rest.to_ascii_lowercase().as_str() {
                "enter" | "return" => KeyCode::Enter,
                "tab" => KeyCode::Tab,
                "backtab" => KeyCode::BackTab,
                "esc" | "escape" => KeyCode::Esc,
                "space" => KeyCode::Char(' '),
                "backspace" => KeyCode::Backspace,
                "delete" | "del" => KeyCode::Delete,
                "insert" | "ins" => KeyCode::Insert,
                "home" => KeyCode::Home,
                "end" => KeyCode::End,
                "pageup" | "pgup" => KeyCode::PageUp,
                "pagedown" | "pgdown" | "pgdn" => KeyCode::PageDown,
                "up" => KeyCode::Up,
                "down" => KeyCode::Down,
                "left" => KeyCode::Left,
                "right" => KeyCode::Right,
                f if f.starts_with('f') => match f[1..].parse::<u8>() {
                    Ok(n @ 1..=24) => KeyCode::F(n),
                    _ => return Err(bad("unknown key name")),
                },
                _ => return Err(bad("unknown key name")),
            },
        };
        Ok(normalize(code, mods))
    }
}

/// Folds SHIFT into the key: `shift+i` is `I`, `shift+tab` is BackTab.
fn normalize(code: KeyCode, mods: KeyModifiers) -> Key {
    let shift = mods.contains(KeyModifiers::SHIFT);
    let mods = mods & (KeyModifiers::CONTROL | KeyModifiers::ALT);
    let code = match code {
        KeyCode::Char(c) if shift => KeyCode::Char(c.to_uppercase().next().unwrap_or(c)),
        // Terminals send Ctrl+P as 'p' (no shift); Ctrl+Shift+P is rarely distinct.
        KeyCode::Char(c) if mods.contains(KeyModifiers::CONTROL) => {
            KeyCode::Char(c.to_lowercase().next().unwrap_or(c))
        }
        KeyCode::Tab if shift => KeyCode::BackTab,
        other => other,
    };
    Key { code, mods }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.mods.contains(KeyModifiers::CONTROL) {
            f.write_str("Ctrl+")?;
        }
        if self.mods.contains(KeyModifiers::ALT) {
            f.write_str("Alt+")?;
        }
        match self.code {
            KeyCode::Char(' ') => f.write_str("Space"),
            KeyCode::Char(c) if !self.mods.is_empty() => write!(f, "{}", c.to_uppercase()),
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::BackTab => f.write_str("Shift+Tab"),
            KeyCode::F(n) => write!(f, "F{n}"),
            other => write!(f, "{other:?}"),
        }
    }
}

/// Where a binding applies; two actions sharing a scope may not share a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scope {
    /// The list and message panes and the composer.
    Global,
    /// The list and message panes, not while writing.
    Browse,
    /// The conversation list.
    List,
    /// The message pane.
    Messages,
    /// The composer.
    Composer,
    /// The contacts view.
    Contacts,
    /// The devices view.
    Devices,
}

/// Which panes an action name is live in.
fn panes(scope: Scope) -> &'static [Scope] {
    use Scope::*;
    match scope {
        Global => &[List, Messages, Composer],
        Browse => &[List, Messages],
        List => &[List],
        Messages => &[Messages],
        Composer => &[Composer],
        Contacts => &[Contacts],
        Devices => &[Devices],
    }
}

/// A configurable action: its config name and where it applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[allow(missing_docs)]
pub enum Bound {
    Quit,
    Help,
    Contacts,
    Identity,
    Members,
    Picker,
    NextPane,
    PrevPane,
    Older,
    Newer,
    Down,
    Up,
    Top,
    Bottom,
    Open,
    Write,
    HalfPageUp,
    HalfPageDown,
    Search,
    SearchNext,
    SearchPrev,
    ToList,
    Editor,
    ContactAdd,
    ContactVerify,
    ContactRemove,
    ContactAcceptKey,
    ContactRefuseKey,
    Devices,
    DeviceRevoke,
    DeviceRename,
    DeviceLink,
    DeviceLinkHistory,
    Reply,
    EditMessage,
    DeleteMessage,
    React,
    SaveFile,
    OpenFile,
    AttachFile,
}

/// (name in `[keys]`, action, default key, scopes).
const TABLE: &[(&str, Bound, Key, &[Scope])] = {
    use Bound as B;
    use Scope as S;
    &[
        ("quit", B::Quit, Key::ch('q'), &[S::Browse]),
        ("help", B::Help, Key::ch('?'), &[S::Browse]),
        ("contacts", B::Contacts, Key::ch('c'), &[S::Browse]),
        ("identity", B::Identity, Key::ch('I'), &[S::Browse]),
        ("members", B::Members, Key::ch('m'), &[S::Browse]),
        ("devices", B::Devices, Key::ch('D'), &[S::Browse]),
        ("picker", B::Picker, Key::ctrl('p'), &[S::Global]),
        (
            "next_pane",
            B::NextPane,
            Key::new(KeyCode::Tab, KeyModifiers::NONE),
            &[S::Global],
        ),
        (
            "prev_pane",
            B::PrevPane,
            Key::new(KeyCode::BackTab, KeyModifiers::NONE),
            &[S::Global],
        ),
        (
            "older",
            B::Older,
            Key::new(KeyCode::PageUp, KeyModifiers::NONE),
            &[S::Global],
        ),
        (
            "newer",
            B::Newer,
            Key::new(KeyCode::PageDown, KeyModifiers::NONE),
            &[S::Global],
        ),
        (
            "down",
            B::Down,
            Key::ch('j'),
            &[S::List, S::Messages, S::Contacts, S::Devices],
        ),
        (
            "up",
            B::Up,
            Key::ch('k'),
            &[S::List, S::Messages, S::Contacts, S::Devices],
        ),
        (
            "top",
            B::Top,
            Key::ch('g'),
            &[S::List, S::Messages, S::Contacts, S::Devices],
        ),
        (
            "bottom",
            B::Bottom,
            Key::ch('G'),
            &[S::List, S::Messages, S::Contacts, S::Devices],
        ),
        ("open", B::Open, Key::ch('l'), &[S::List]),
        ("write", B::Write, Key::ch('i'), &[S::List, S::Messages]),
        (
            "half_page_up",
            B::HalfPageUp,
            Key::ctrl('u'),
            &[S::Messages],
        ),
        (
            "half_page_down",
            B::HalfPageDown,
            Key::ctrl('d'),
            &[S::Messages],
        ),
        ("search", B::Search, Key::ch('/'), &[S::Browse]),
        ("search_next", B::SearchNext, Key::ch('n'), &[S::Browse]),
        ("search_prev", B::SearchPrev, Key::ch('N'), &[S::Browse]),
        ("list", B::ToList, Key::ch('h'), &[S::Messages]),
        ("reply", B::Reply, Key::ch('r'), &[S::Messages]),
        ("edit", B::EditMessage, Key::ch('e'), &[S::Messages]),
        ("delete", B::DeleteMessage, Key::ch('d'), &[S::Messages]),
        ("react", B::React, Key::ch('+'), &[S::Messages]),
        ("save_file", B::SaveFile, Key::ch('s'), &[S::Messages]),
        ("open_file", B::OpenFile, Key::ch('o'), &[S::Messages]),
        ("attach_file", B::AttachFile, Key::ch('a'), &[S::Messages]),
        ("editor", B::Editor, Key::ctrl('e'), &[S::Composer]),
        ("contact_add", B::ContactAdd, Key::ch('a'), &[S::Contacts]),
        (
            "contact_verify",
            B::ContactVerify,
            Key::ch('v'),
            &[S::Contacts],
        ),
        (
            "contact_remove",
            B::ContactRemove,
            Key::ch('d'),
            &[S::Contacts],
        ),
        (
            "contact_accept_key",
            B::ContactAcceptKey,
            Key::ch('A'),
            &[S::Contacts],
        ),
        (
            "contact_refuse_key",
            B::ContactRefuseKey,
            Key::ch('R'),
            &[S::Contacts],
        ),
        (
            "device_revoke",
            B::DeviceRevoke,
            Key::ch('r'),
            &[S::Devices],
        ),
        (
            "device_rename",
            B::DeviceRename,
            Key::ch('e'),
            &[S::Devices],
        ),
        ("device_link", B::DeviceLink, Key::ch('l'), &[S::Devices]),
        (
            "device_link_history",
            B::DeviceLinkHistory,
            Key::ch('L'),
            &[S::Devices],
        ),
    ]
};

/// The configured keys, one per [`Bound`] action.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyMap {
    keys: Vec<Key>,
}

impl Default for KeyMap {
    fn default() -> Self {
        KeyMap {
            keys: TABLE.iter().map(|(_, _, k, _)| *k).collect(),
        }
    }
}

impl KeyMap {
    /// The defaults with `overrides` (action name → key string) applied;
    /// refuses unknown names, bad key strings and clashes within a pane.
    pub fn from_config(overrides: &BTreeMap<String, String>) -> Result<KeyMap, String> {
        let mut map = KeyMap::default();
        for (name, text) in overrides {
            let i = TABLE.iter().position(|(n, ..)| n == name).ok_or_else(|| {
                let names: Vec<&str> = TABLE.iter().map(|(n, ..)| *n).collect();
                format!(
                    "unknown action {name:?} in [keys]; known: {}",
                    names.join(", ")
                )
            })?;
            let key = Key::parse(text).map_err(|e| format!("[keys] {name}: {e}"))?;
            let in_composer = TABLE[i]
                .3
                .iter()
                .any(|s| panes(*s).contains(&Scope::Composer));
            if in_composer && matches!(key.code, KeyCode::Char(_)) && key.mods.is_empty() {
                return Err(format!(
                    "[keys] {name}: {text:?} would be typed in the composer; use ctrl+, alt+ or a named key"
                ));
            }
            map.keys[i] = key;
        }
        for (i, (a, _, _, sa)) in TABLE.iter().enumerate() {
            for (j, (b, _, _, sb)) in TABLE.iter().enumerate().skip(i + 1) {
                let shared = sa
                    .iter()
                    .flat_map(|s| panes(*s))
                    .find(|p| sb.iter().flat_map(|s| panes(*s)).any(|q| q == *p));
                if let Some(pane) = shared
                    && map.keys[i] == map.keys[j]
                {
                    return Err(format!(
                        "[keys] {a} and {b} are both bound to {} (in the {pane:?} pane)",
                        map.keys[i]
                    ));
                }
            }
        }
        Ok(map)
    }

    /// The key bound to `action`.
    pub fn key(&self, action: Bound) -> Key {
        let i = TABLE
            .iter()
            .position(|(_, b, ..)| *b == action)
            .expect("every Bound is in TABLE");
        self.keys[i]
    }

    /// Whether `event` is the key bound to `action`.
    pub fn is(&self, action: Bound, event: &KeyEvent) -> bool {
        self.key(action).matches(event)
    }

    /// The key bound to the action named `name` (as in `[keys]`), for help text.
    pub fn by_name(&self, name: &str) -> Option<Key> {
        TABLE
            .iter()
            .position(|(n, ..)| *n == name)
            .map(|i| self.keys[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(pairs: &[(&str, &str)]) -> Result<KeyMap, String> {
        KeyMap::from_config(
            &pairs
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
        )
    }

    #[test]
    fn parses_key_strings() {
        let k = |s| Key::parse(s).unwrap();
        assert_eq!(k("ctrl+p"), Key::ctrl('p'));
        assert_eq!(k("Ctrl+P"), Key::ctrl('p'));
        assert_eq!(k("c"), Key::ch('c'));
        assert_eq!(k("?"), Key::ch('?'));
        assert_eq!(k("+"), Key::ch('+'));
        assert_eq!(k("shift+i"), Key::ch('I'));
        assert_eq!(k("I"), Key::ch('I'));
        assert_eq!(k("alt+enter"), Key::new(KeyCode::Enter, KeyModifiers::ALT));
        assert_eq!(k("pageup"), Key::new(KeyCode::PageUp, KeyModifiers::NONE));
        assert_eq!(k("f1"), Key::new(KeyCode::F(1), KeyModifiers::NONE));
        assert_eq!(
            k("shift+tab"),
            Key::new(KeyCode::BackTab, KeyModifiers::NONE)
        );
        for bad in ["", "hyper+x", "ctrl+", "f0", "f99", "pagesideways"] {
            assert!(Key::parse(bad).is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn shows_keys_like_the_help() {
        assert_eq!(Key::ctrl('p').to_string(), "Ctrl+P");
        assert_eq!(Key::ch('I').to_string(), "I");
        assert_eq!(Key::parse("alt+enter").unwrap().to_string(), "Alt+Enter");
        assert_eq!(Key::parse("f1").unwrap().to_string(), "F1");
        assert_eq!(Key::parse("shift+tab").unwrap().to_string(), "Shift+Tab");
    }

    #[test]
    fn matches_terminal_events_with_or_without_shift() {
        let g = Key::ch('G');
        assert!(g.matches(&KeyEvent::new(KeyCode::Char('G'), KeyModifiers::SHIFT)));
        assert!(g.matches(&KeyEvent::new(KeyCode::Char('G'), KeyModifiers::NONE)));
        assert!(!g.matches(&KeyEvent::new(KeyCode::Char('g'), KeyModifiers::NONE)));
    }

    #[test]
    fn refuses_unknown_names_bad_keys_and_clashes() {
        assert_eq!(keys(&[]).unwrap(), KeyMap::default());
        let e = keys(&[("qiut", "x")]).unwrap_err();
        assert!(e.contains("unknown action \"qiut\""), "{e}");
        let e = keys(&[("quit", "ctrl+")]).unwrap_err();
        assert!(e.contains("quit") && e.contains("bad key"), "{e}");
        // Same pane: refused, naming both.
        let e = keys(&[("quit", "c")]).unwrap_err();
        assert!(e.contains("contacts") && e.contains("quit"), "{e}");
        // A global key clashing with the composer's editor key.
        assert!(keys(&[("editor", "ctrl+p")]).is_err());
        // Keys live in the composer may not be plain characters.
        let e = keys(&[("next_pane", "n")]).unwrap_err();
        assert!(e.contains("typed in the composer"), "{e}");
        assert!(keys(&[("editor", "alt+e")]).is_ok());
        // Different panes: fine ("d" removes a contact, and is free in the list).
        assert!(keys(&[("open", "d")]).is_ok());
        // Swapping two keys is fine.
        assert!(keys(&[("quit", "c"), ("contacts", "q")]).is_ok());
        assert!(!keys(&[("help", "f1")]).unwrap().is(
            Bound::Help,
            &KeyEvent::new(KeyCode::Char('?'), KeyModifiers::NONE)
        ));
    }
}
