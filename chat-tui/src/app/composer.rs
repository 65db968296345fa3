//! The multi-line composer: text plus a cursor, one per conversation (drafts).

/// A draft being written.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Composer {
    /// The text, newlines included.
    pub text: String,
    /// Cursor as a byte index into `text`, always on a char boundary.
    pub cursor: usize,
}

/// One editing step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Edit {
    /// Type a character.
    Insert(char),
    /// Paste text.
    InsertStr(String),
    /// Start a new line.
    Newline,
    /// Delete the character before the cursor.
    Backspace,
    /// Delete the character under the cursor.
    Delete,
    /// Delete the word before the cursor.
    DeleteWord,
    /// Delete from the line start to the cursor.
    DeleteToLineStart,
    /// Cursor one character left.
    Left,
    /// Cursor one character right.
    Right,
    /// Cursor one word left.
    WordLeft,
    /// Cursor one word right.
    WordRight,
    /// Cursor to the start of the line.
    Home,
    /// Cursor to the end of the line.
    End,
    /// Cursor one line up.
    Up,
    /// Cursor one line down.
    Down,
}

impl Composer {
    /// A composer holding `text` with the cursor at its end.
    pub fn with_text(text: impl Into<String>) -> Self {
        let text = text.into();
        Composer {
            cursor: text.len(),
            text,
        }
    }

    /// Whether nothing but whitespace was written.
    pub fn is_blank(&self) -> bool {
        self.text.trim().is_empty()
    }

    /// Takes the text out, leaving the composer empty.
    pub fn take(&mut self) -> String {
        self.cursor = 0;
        std::mem::take(&mut self.text)
    }

    fn prev(&self) -> usize {
        self.text[..self.cursor]
            .char_indices()
            .next_back()
            .map_or(0, |(i, _)| i)
    }

    fn next(&self) -> usize {
        self.text[self.cursor..]
            .chars()
            .next()
            .map_or(self.cursor, |c| self.cursor + c.len_utf8())
    }

    fn line_start(&self) -> usize {
        self.text[..self.cursor].rfind('\n').map_or(0, |i| i + 1)
    }

    fn line_end(&self) -> usize {
        self.text[self.cursor..]
            .find('\n')
            .map_or(self.text.len(), |i| self.cursor + i)
    }

    fn word_left(&self) -> usize {
        let before = &self.text[..self.cursor];
        let trimmed = before.trim_end_matches(char::is_whitespace);
        trimmed
            .char_indices()
            .rev()
            .find(|(_, c)| c.is_whitespace())
            .map_or(0, |(i, c)| i + c.len_utf8())
    }

    fn word_right(&self) -> usize {
        let after = &self.text[self.cursor..];
        let skip_ws = after.len() - after.trim_start_matches(char::is_whitespace).len();
        let rest = &after[skip_ws..];
        let word = rest.find(char::is_whitespace).unwrap_or(rest.len());
        self.cursor + skip_ws + word
    }

    /// Moves to the same column (in chars) on the line starting at `start`.
    fn column_on(&self, start: usize, column: usize) -> usize {
        let line = &self.text[start..];
        let line = &line[..line.find('\n').unwrap_or(line.len())];
        line.char_indices()
            .nth(column)
            .map_or(start + line.len(), |(i, _)| start + i)
    }

    /// Applies one edit.
    pub fn apply(&mut self, edit: Edit) {
        match edit {
            Edit::Insert(c) => {
                self.text.insert(self.cursor, c);
                self.cursor += c.len_utf8();
            }
            Edit::InsertStr(s) => {
                let s = s.replace("\r\n", "\n").replace('\r', "\n");
                self.text.insert_str(self.cursor, &s);
                self.cursor += s.len();
            }
            Edit::Newline => self.apply(Edit::Insert('\n')),
            Edit::Backspace => {
                let p = self.prev();
                self.text.replace_range(p..self.cursor, "");
                self.cursor = p;
            }
            Edit::Delete => {
                let n = self.next();
                self.text.replace_range(self.cursor..n, "");
            }
            Edit::DeleteWord => {
                let p = self.word_left();
                self.text.replace_range(p..self.cursor, "");
                self.cursor = p;
            }
            Edit::DeleteToLineStart => {
                let p = self.line_start();
                let p = if p == self.cursor { self.prev() } else { p };
                self.text.replace_range(p..self.cursor, "");
                self.cursor = p;
            }
            Edit::Left => self.cursor = self.prev(),
            Edit::Right => self.cursor = self.next(),
            Edit::WordLeft => self.cursor = self.word_left(),
            Edit::WordRight => self.cursor = self.word_right(),
            Edit::Home => self.cursor = self.line_start(),
            Edit::End => self.cursor = self.line_end(),
            Edit::Up => {
                let start = self.line_start();
                if start > 0 {
                    let column = self.text[start..self.cursor].chars().count();
                    let prev_start = self.text[..start - 1].rfind('\n').map_or(0, |i| i + 1);
                    self.cursor = self.column_on(prev_start, column);
                }
            }
            Edit::Down => {
                let end = self.line_end();
                if end < self.text.len() {
                    let column = self.text[self.line_start()..self.cursor].chars().count();
                    self.cursor = self.column_on(end + 1, column);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edit(text: &str, cursor: usize, edits: &[Edit]) -> Composer {
        let mut c = Composer {
            text: text.into(),
            cursor,
        };
        for e in edits {
            c.apply(e.clone());
        }
        c
    }

    #[test]
    fn typing_moving_and_deleting() {
        let c = edit(
            "",
            0,
            &[
                Edit::Insert('h'),
                Edit::Insert('é'),
                Edit::Left,
                Edit::Insert('x'),
            ],
        );
        assert_eq!((c.text.as_str(), c.cursor), ("hxé", 2));
        let c = edit("hé🎉", 7, &[Edit::Backspace, Edit::Backspace]);
        assert_eq!((c.text.as_str(), c.cursor), ("h", 1));
        let c = edit("ab", 0, &[Edit::Delete, Edit::End, Edit::Insert('!')]);
        assert_eq!(c.text, "b!");
    }

    #[test]
    fn ctrl_w_deletes_the_previous_word() {
        let c = edit("hello big  world  ", 18, &[Edit::DeleteWord]);
        assert_eq!(c.text, "hello big  ");
        let c = edit("hello big  ", 11, &[Edit::DeleteWord, Edit::DeleteWord]);
        assert_eq!(c.text, "");
    }

    #[test]
    fn lines_up_down_home_end() {
        let mut c = Composer::with_text("first line\nab\nthird");
        c.apply(Edit::Up);
        assert_eq!(&c.text[..c.cursor], "first line\nab");
        c.apply(Edit::Up);
        assert_eq!(&c.text[..c.cursor], "fi");
        c.apply(Edit::Home);
        assert_eq!(c.cursor, 0);
        c.apply(Edit::Down);
        c.apply(Edit::End);
        assert_eq!(&c.text[..c.cursor], "first line\nab");
        c.apply(Edit::Newline);
        assert_eq!(c.text, "first line\nab\n\nthird");
    }

    #[test]
    fn pasted_carriage_returns_become_newlines() {
        let c = edit("", 0, &[Edit::InsertStr("a\r\nb\rc".into())]);
        assert_eq!(c.text, "a\nb\nc");
        assert_eq!(c.cursor, 5);
    }
}
