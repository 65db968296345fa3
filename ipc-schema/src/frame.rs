//! NDJSON framing for the local socket: one JSON value per line (docs/IPC.md §2).
//!
//! [`FrameDecoder`] only cuts lines; it does no I/O and does not parse JSON, so
//! the caller decides what to answer to bad UTF-8 or bad JSON. A line that
//! grows past [`MAX_FRAME`] poisons the decoder: the peer broke the framing and
//! the connection should be closed.
#![warn(missing_docs)]

use serde::Serialize;

/// Largest frame in bytes, not counting its newline.
pub const MAX_FRAME: usize = 16 * 1024 * 1024;

/// Why framing failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// Incoming: a line grew past the cap; the decoder takes no more input.
    #[error("frame is over the {limit}-byte cap without a newline")]
    TooLarge {
        /// The cap in bytes.
        limit: usize,
    },
    /// Outgoing: the encoded value is over the cap (e.g. a `message.list` page too large).
    #[error("encoded frame of {len} bytes is over the {limit}-byte cap")]
    EncodeTooLarge {
        /// Size of the encoded value without its newline.
        len: usize,
        /// The cap in bytes.
        limit: usize,
    },
    /// Outgoing: the value could not be serialized.
    #[error("value does not serialize to JSON: {0}")]
    Serialize(String),
}

/// Serializes `value` as one frame: compact JSON (never a raw newline inside) plus `\n`.
pub fn encode_frame<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, FrameError> {
    let mut out = serde_json::to_vec(value).map_err(|e| FrameError::Serialize(e.to_string()))?;
    if out.len() > MAX_FRAME {
        return Err(FrameError::EncodeTooLarge {
            len: out.len(),
            limit: MAX_FRAME,
        });
    }
    // Compact serde_json escapes control characters inside strings.
    debug_assert!(!out.contains(&b'\n'));
    out.push(b'\n');
    Ok(out)
}

/// Cuts a byte stream into lines: push what the socket gave, then pop frames until `None`.
///
/// Frames come out without their `\n` (or `\r\n`); blank lines are skipped.
#[derive(Debug)]
pub struct FrameDecoder {
    buf: Vec<u8>,
    /// First byte not yet handed out.
    start: usize,
    /// Just past the last newline in `buf`: `buf[start..tail]` holds complete lines.
    tail: usize,
    max: usize,
    poisoned: bool,
}

impl Default for FrameDecoder {
    fn default() -> Self {
        FrameDecoder::new()
    }
}

impl FrameDecoder {
    /// A decoder with the [`MAX_FRAME`] cap.
    pub fn new() -> Self {
        FrameDecoder::with_max(MAX_FRAME)
    }

    /// A decoder with a different cap, in bytes per line without its newline.
    pub fn with_max(max: usize) -> Self {
        FrameDecoder {
            buf: Vec::new(),
            start: 0,
            tail: 0,
            max,
            poisoned: false,
        }
    }

    /// Bytes held: complete frames not yet popped plus the unfinished line.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.start
    }

    /// Appends bytes. Fails, and refuses all later input, once a line is over the cap;
    /// the complete frames before that line can still be popped.
    pub fn push(&mut self, bytes: &[u8]) -> Result<(), FrameError> {
        if self.poisoned {
            return Err(self.too_large());
        }
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.tail -= self.start;
            self.start = 0;
        }
        let base = self.buf.len();
        self.buf.extend_from_slice(bytes);
        let mut line_start = self.tail;
        for (i, _) in bytes.iter().enumerate().filter(|(_, b)| **b == b'\n') {
            let newline = base + i;
            if newline - line_start > self.max {
                return Err(self.poison(line_start));
            }
            line_start = newline + 1;
        }
        if self.buf.len() - line_start > self.max {
            return Err(self.poison(line_start));
        }
        self.tail = line_start;
        Ok(())
    }

    /// The next complete, non-blank frame; `None` when more bytes are needed;
    /// [`FrameError::TooLarge`] once the frames before an oversized line are used up.
    pub fn next_frame(&mut self) -> Result<Option<Vec<u8>>, FrameError> {
        while self.start < self.tail {
            let rest = &self.buf[self.start..self.tail];
            let len = rest
                .iter()
                .position(|b| *b == b'\n')
                .expect("the complete region ends with a newline");
            let mut line = &rest[..len];
            self.start += len + 1;
            if let [head @ .., b'\r'] = line {
                line = head;
            }
            if line.iter().all(|b| matches!(b, b' ' | b'\t' | b'\r')) {
                continue;
            }
            return Ok(Some(line.to_vec()));
        }
        if self.poisoned {
            return Err(self.too_large());
        }
        Ok(None)
    }

    /// Drops the oversized line and everything after it, keeping the frames before.
    fn poison(&mut self, line_start: usize) -> FrameError {
        self.buf.truncate(line_start);
        self.buf.shrink_to_fit();
        self.tail = line_start;
        self.poisoned = true;
        self.too_large()
    }

    fn too_large(&self) -> FrameError {
        FrameError::TooLarge { limit: self.max }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(d: &mut FrameDecoder) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        while let Some(f) = d.next_frame().unwrap() {
            out.push(f);
        }
        out
    }

    #[test]
    fn a_frame_split_across_pushes_comes_out_whole() {
        let mut d = FrameDecoder::new();
        d.push(br#"{"jsonrpc":"2.0","#).unwrap();
        assert_eq!(d.next_frame().unwrap(), None);
        d.push(br#""id":1,"method":"status"}"#).unwrap();
        assert_eq!(d.next_frame().unwrap(), None);
        d.push(b"\n").unwrap();
        assert_eq!(
            d.next_frame().unwrap().unwrap(),
            br#"{"jsonrpc":"2.0","id":1,"method":"status"}"#
        );
        assert_eq!(d.next_frame().unwrap(), None);
        assert_eq!(d.buffered(), 0);
    }

    #[test]
    fn byte_by_byte_works() {
        let mut d = FrameDecoder::new();
        let mut got = Vec::new();
        for b in b"{\"a\":1}\n{\"b\":2}\n" {
            d.push(&[*b]).unwrap();
            got.extend(drain(&mut d));
        }
        assert_eq!(got, vec![b"{\"a\":1}".to_vec(), b"{\"b\":2}".to_vec()]);
    }

    #[test]
    fn many_frames_in_one_push_come_out_in_order() {
        let mut d = FrameDecoder::new();
        let input: Vec<u8> = (0..1000)
            .flat_map(|i| format!("{{\"n\":{i}}}\n").into_bytes())
            .collect();
        d.push(&input).unwrap();
        d.push(b"{\"n\":").unwrap();
        let frames = drain(&mut d);
        assert_eq!(frames.len(), 1000);
        assert_eq!(frames[999], b"{\"n\":999}");
        assert_eq!(d.buffered(), 5, "the unfinished frame stays");
        d.push(b"1000}\n").unwrap();
        assert_eq!(drain(&mut d), vec![b"{\"n\":1000}".to_vec()]);
    }

    #[test]
    fn blank_lines_and_crlf_are_tolerated() {
        let mut d = FrameDecoder::new();
        d.push(b"\n\r\n  \n{}\r\n\n[]\n").unwrap();
        assert_eq!(drain(&mut d), vec![b"{}".to_vec(), b"[]".to_vec()]);
    }

    #[test]
    fn exactly_at_the_cap_is_accepted() {
        let mut d = FrameDecoder::with_max(8);
        d.push(b"12345678").unwrap();
        d.push(b"\n").unwrap();
        assert_eq!(drain(&mut d), vec![b"12345678".to_vec()]);
        d.push(b"abcdefgh\n").unwrap();
        assert_eq!(drain(&mut d), vec![b"abcdefgh".to_vec()]);
    }

    #[test]
    fn one_past_the_cap_poisons_the_decoder() {
        let mut d = FrameDecoder::with_max(8);
        d.push(b"ok\n1234").unwrap();
        assert_eq!(
            d.push(b"56789"),
            Err(FrameError::TooLarge { limit: 8 }),
            "fails as soon as the 9th byte arrives, without waiting for a newline"
        );
        assert_eq!(d.next_frame().unwrap(), Some(b"ok".to_vec()));
        assert_eq!(d.next_frame(), Err(FrameError::TooLarge { limit: 8 }));
        assert_eq!(d.push(b"\n{}\n"), Err(FrameError::TooLarge { limit: 8 }));
        assert_eq!(d.next_frame(), Err(FrameError::TooLarge { limit: 8 }));
        assert_eq!(d.buffered(), 0, "the oversized bytes are released");
    }

    #[test]
    fn an_oversized_line_is_caught_even_when_its_newline_came_with_it() {
        let mut d = FrameDecoder::with_max(8);
        assert!(d.push(b"a\n123456789\nb\n").is_err());
        assert_eq!(d.next_frame().unwrap(), Some(b"a".to_vec()));
        assert!(
            d.next_frame().is_err(),
            "nothing after the bad line is delivered"
        );
    }

    #[test]
    fn the_real_cap_is_16_mib() {
        let mut d = FrameDecoder::new();
        let mut frame = vec![b'x'; MAX_FRAME];
        d.push(&frame).unwrap();
        d.push(b"\n").unwrap();
        assert_eq!(d.next_frame().unwrap().map(|f| f.len()), Some(MAX_FRAME));

        frame.push(b'x');
        let mut d = FrameDecoder::new();
        assert_eq!(
            d.push(&frame),
            Err(FrameError::TooLarge { limit: MAX_FRAME })
        );
        assert_eq!(MAX_FRAME, 16 * 1024 * 1024);
    }

    #[test]
    fn the_decoder_frames_bytes_and_leaves_utf8_and_json_to_the_caller() {
        let mut d = FrameDecoder::new();
        d.push(b"\xff\xfe\nnot json\n{\"ok\":true}\n").unwrap();
        let frames = drain(&mut d);
        assert_eq!(frames[0], b"\xff\xfe");
        assert_eq!(frames[1], b"not json");
        assert!(serde_json::from_slice::<serde_json::Value>(&frames[0]).is_err());
        assert!(serde_json::from_slice::<serde_json::Value>(&frames[1]).is_err());
        assert!(serde_json::from_slice::<serde_json::Value>(&frames[2]).is_ok());
    }

    #[test]
    fn encoded_frames_are_one_line_and_decode_back() {
        let value = serde_json::json!({"body": "two\nlines\r\n", "n": 1});
        let bytes = encode_frame(&value).unwrap();
        assert_eq!(bytes.iter().filter(|b| **b == b'\n').count(), 1);
        assert_eq!(bytes.last(), Some(&b'\n'));
        let mut d = FrameDecoder::new();
        d.push(&bytes).unwrap();
        let frame = d.next_frame().unwrap().unwrap();
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(&frame).unwrap(),
            value
        );
    }

    #[test]
    fn encoding_refuses_frames_over_the_cap() {
        let body = "x".repeat(MAX_FRAME);
        assert!(matches!(
            encode_frame(&body),
            Err(FrameError::EncodeTooLarge { len, limit: MAX_FRAME }) if len == MAX_FRAME + 2
        ));
        let fits = "x".repeat(MAX_FRAME - 2);
        assert_eq!(encode_frame(&fits).unwrap().len(), MAX_FRAME + 1);
    }
}
