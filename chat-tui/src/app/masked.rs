//! A masked one-line input for passwords: what is typed lives only in a
//! [`Secret`] (redacted `Debug`, zeroized on drop) and is drawn as `•`.

use ipc_schema::Secret;

use crate::app::composer::Edit;

/// What is drawn for each typed character.
pub const MASK: char = '•';

/// A password being typed. Every edit builds a new [`Secret`] and drops the
/// old one, which zeroizes it, so no earlier state stays behind in memory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MaskedInput {
    /// What is typed so far.
    secret: Secret,
}

impl Default for MaskedInput {
    fn default() -> Self {
        MaskedInput {
            secret: Secret::new(String::new()),
        }
    }
}

impl MaskedInput {
    /// Characters typed, for the mask and the length rule.
    pub fn chars(&self) -> usize {
        self.secret.expose().chars().count()
    }

    /// Bytes typed, for the length rule.
    pub fn byte_len(&self) -> usize {
        self.secret.expose().len()
    }

    /// Whether what is typed is `secret` (compared in full, in constant time).
    pub fn is(&self, secret: &Secret) -> bool {
        self.secret == *secret
    }

    /// Whether nothing is typed.
    pub fn is_empty(&self) -> bool {
        self.secret.is_empty()
    }

    /// The mask: one `•` per typed character.
    pub fn masked(&self) -> String {
        std::iter::repeat_n(MASK, self.chars()).collect()
    }

    /// Applies an edit: typing and pasting append (a pasted line ending is
    /// dropped), Backspace deletes the last character, Ctrl+U clears. The
    /// cursor stays at the end: moving it in an unseen text helps nobody.
    pub fn apply(&mut self, edit: Edit) {
        match edit {
            Edit::Insert(c) if !c.is_control() => self.replace(c.len_utf8(), |old, new| {
                new.push_str(old);
                new.push(c);
            }),
            Edit::InsertStr(pasted) => {
                // Wrapped at once, so the pasted copy is zeroized with it.
                let pasted = Secret::new(pasted);
                let text = pasted.expose().trim_end_matches(['\r', '\n']);
                if !text.chars().any(char::is_control) {
                    self.replace(text.len(), |old, new| {
                        new.push_str(old);
                        new.push_str(text);
                    });
                }
            }
            Edit::Backspace => self.replace(0, |old, new| {
                let end = old.char_indices().next_back().map_or(0, |(i, _)| i);
                new.push_str(&old[..end]);
            }),
            Edit::DeleteWord | Edit::DeleteToLineStart => *self = MaskedInput::default(),
            _ => {}
        }
    }

    /// Takes the secret out, leaving the input empty.
    pub fn take(&mut self) -> Secret {
        std::mem::take(self).secret
    }

    /// Builds the next secret into a buffer made big enough (`extra` bytes
    /// more) from the start, so that no reallocation leaves a copy behind,
    /// then drops the old one.
    fn replace(&mut self, extra: usize, build: impl FnOnce(&str, &mut String)) {
        let mut next = String::with_capacity(self.secret.expose().len() + extra);
        build(self.secret.expose(), &mut next);
        self.secret = Secret::new(next);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(edits: &[Edit]) -> MaskedInput {
        let mut input = MaskedInput::default();
        for e in edits {
            input.apply(e.clone());
        }
        input
    }

    #[test]
    fn typing_pasting_and_deleting_under_the_mask() {
        let mut input = typed(&[
            Edit::Insert('p'),
            Edit::Insert('é'),
            Edit::InsertStr("ss wörd\n".into()),
            Edit::Backspace,
            Edit::Left,
            Edit::Insert('\u{1b}'),
        ]);
        assert_eq!(input.chars(), 8);
        assert_eq!(input.masked(), "••••••••");
        assert_eq!(input.take().expose(), "péss wör");
        assert!(input.is_empty());
        assert!(typed(&[Edit::Insert('a'), Edit::DeleteToLineStart]).is_empty());
        // A paste with a control character inside is not a password.
        assert!(typed(&[Edit::InsertStr("a\x1bb".into())]).is_empty());
    }

    #[test]
    fn debug_never_shows_what_was_typed() {
        let input = typed(&[Edit::InsertStr("hunter22".into())]);
        assert!(!format!("{input:?}").contains("hunter22"));
    }
}
