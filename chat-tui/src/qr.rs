//! QR codes in the terminal: two rows of modules per line with half blocks.

use qrcode::{Color, QrCode};

/// Modules around the code that must stay light.
pub const QUIET: usize = 2;

/// An encoded QR code: `width`×`width` modules, `true` for dark.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Qr {
    /// Modules per side, without the quiet zone.
    pub width: usize,
    /// Row-major modules.
    pub dark: Vec<bool>,
}

impl Qr {
    /// Encodes `data`; fails when it is too long for any QR version.
    pub fn encode(data: &[u8]) -> Result<Qr, String> {
        let code = QrCode::new(data).map_err(|e| format!("cannot draw a QR code: {e}"))?;
        Ok(Qr {
            width: code.width(),
            dark: code
                .to_colors()
                .into_iter()
                .map(|c| c == Color::Dark)
                .collect(),
        })
    }

    /// Columns and lines the drawing takes, quiet zone included.
    pub fn size(&self) -> (usize, usize) {
        let side = self.width + 2 * QUIET;
        (side, side.div_ceil(2))
    }

    fn light(&self, x: isize, y: isize) -> bool {
        let w = self.width as isize;
        if x < 0 || y < 0 || x >= w || y >= w {
            return true;
        }
        !self.dark[y as usize * self.width + x as usize]
    }

    /// The lines to print. Light modules are drawn (the terminal's foreground),
    /// dark ones left blank, which scans right on the usual dark background.
    pub fn lines(&self) -> Vec<String> {
        let (side, rows) = self.size();
        let q = QUIET as isize;
        (0..rows as isize)
            .map(|r| {
                (0..side as isize)
                    .map(|c| {
                        let (x, y) = (c - q, 2 * r - q);
                        let top = self.light(x, y);
                        // The bottom half of the last line, if the side is odd, is outside.
                        let bottom = 2 * r + 1 < side as isize && self.light(x, y + 1);
                        match (top, bottom) {
                            (true, true) => '█',
                            (true, false) => '▀',
                            (false, true) => '▄',
                            (false, false) => ' ',
                        }
                    })
                    .collect()
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_is_square_with_a_light_quiet_zone() {
        let qr = Qr::encode(b"hello").unwrap();
        assert_eq!(qr.width, 21);
        let lines = qr.lines();
        assert_eq!(qr.size(), (25, 13));
        assert_eq!(lines.len(), 13);
        assert!(lines.iter().all(|l| l.chars().count() == 25));
        assert!(lines[0].chars().all(|c| c == '█'));
        // Odd side: the last line has only its top half.
        assert!(lines[12].chars().all(|c| c == '▀'));
        // Quiet zone, then the finder pattern: a dark row over a dark-light-dark one.
        assert!(lines[1].starts_with("██ ▄▄▄▄▄ "), "{}", lines[1]);
    }
}
