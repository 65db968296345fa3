//! Reading what the user gives besides argv: passwords, message text, cards.

use std::io::{self, BufRead, IsTerminal, Read};

use ipc_schema::Secret;
use serde_json::Value;

use crate::exit::CtlError;

/// How to get a password.
pub enum PasswordFrom<'a> {
    /// The first line of stdin (`--password-stdin`).
    Stdin,
    /// A prompt on the terminal without echo; `confirm` asks twice (for a new password).
    Prompt {
        /// What to ask.
        prompt: &'a str,
        /// Ask again and compare.
        confirm: bool,
    },
}

/// Reads a password from stdin or the terminal; never from argv.
pub fn read_password(from: PasswordFrom<'_>) -> Result<Secret, CtlError> {
    match from {
        PasswordFrom::Stdin => password_from_reader(io::stdin().lock()),
        PasswordFrom::Prompt { prompt, confirm } => {
            let no_tty = |e: io::Error| {
                CtlError::Input(format!(
                    "cannot ask for the password on a terminal ({e}); use --password-stdin"
                ))
            };
            let first = Secret::new(rpassword::prompt_password(prompt).map_err(no_tty)?);
            if first.expose().is_empty() {
                return Err(CtlError::Usage("the password is empty".to_owned()));
            }
            if confirm {
                let again = Secret::new(
                    rpassword::prompt_password("Repeat the password: ").map_err(no_tty)?,
                );
                if again != first {
                    return Err(CtlError::Usage("the passwords do not match".to_owned()));
                }
            }
            Ok(first)
        }
    }
}

/// The current password and a new one, for a change: from the first two
/// lines of stdin (the current one first), or asked on the terminal with
/// the new one asked twice.
pub fn read_password_change(
    stdin: bool,
    current_prompt: &str,
    new_prompt: &str,
) -> Result<(Secret, Secret), CtlError> {
    if stdin {
        let mut lines = io::stdin().lock();
        let current = password_from_reader(&mut lines)?;
        let new = password_from_reader(&mut lines).map_err(|_| {
            CtlError::Usage(
                "no new password on stdin (--password-stdin reads the current password's line, then the new one's)"
                    .to_owned(),
            )
        })?;
        return Ok((current, new));
    }
    let current = read_password(PasswordFrom::Prompt {
        prompt: current_prompt,
        confirm: false,
    })?;
    let new = read_password(PasswordFrom::Prompt {
        prompt: new_prompt,
        confirm: true,
    })?;
    Ok((current, new))
}

/// The first `count` lines of stdin, each without its line ending, each
/// one a secret; `what` names them, in order, for the error of a missing one.
pub fn read_stdin_secrets(what: &[&str]) -> Result<Vec<Secret>, CtlError> {
    let mut lines = io::stdin().lock();
    let mut out = Vec::with_capacity(what.len());
    for name in what {
        out.push(password_from_reader(&mut lines).map_err(|_| {
            CtlError::Usage(format!(
                "no {name} on stdin (one line each, in this order: {})",
                what.join(", ")
            ))
        })?);
    }
    Ok(out)
}

/// The first line of `reader` without its line ending.
fn password_from_reader(mut reader: impl BufRead) -> Result<Secret, CtlError> {
    let mut line = String::new();
    reader
        .read_line(&mut line)
        .map_err(|e| CtlError::Input(format!("cannot read the password from stdin: {e}")))?;
    // Trim in place so that no copy of the password is left behind.
    let keep = line.trim_end_matches(['\n', '\r']).len();
    line.truncate(keep);
    let password = Secret::new(line);
    if password.expose().is_empty() {
        return Err(CtlError::Usage(
            "no password on stdin (--password-stdin reads its first line)".to_owned(),
        ));
    }
    Ok(password)
}

/// A message body from stdin: everything up to EOF, less one final newline
/// (the one `echo` adds).
pub fn read_body_from_stdin() -> Result<String, CtlError> {
    let stdin = io::stdin();
    if stdin.is_terminal() {
        eprintln!("(type the message; end it with Ctrl-D)");
    }
    body_from_reader(stdin.lock())
}

fn body_from_reader(mut reader: impl Read) -> Result<String, CtlError> {
    let mut bytes = Vec::new();
    reader
        .read_to_end(&mut bytes)
        .map_err(|e| CtlError::Input(format!("cannot read the message from stdin: {e}")))?;
    let mut text = String::from_utf8(bytes)
        .map_err(|_| CtlError::Input("the message on stdin is not UTF-8 text".to_owned()))?;
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    Ok(text)
}

/// Checks a message body before it is sent.
pub fn check_body(body: &str) -> Result<(), CtlError> {
    if body.is_empty() {
        return Err(CtlError::Usage(
            "nothing to send: the message is empty".to_owned(),
        ));
    }
    let max = ipc_schema::envelope::MAX_BODY;
    if body.len() > max {
        return Err(CtlError::Input(format!(
            "the message is {} bytes; the limit is {} MiB",
            body.len(),
            max / (1024 * 1024)
        )));
    }
    Ok(())
}

/// The PEM text of a CA file given to `--relay-ca` or `relay trust --ca`:
/// chat-ctl reads it and sends its contents, since chatd (a service with
/// its own sandbox) may not see the caller's files.
pub fn read_ca(path: &std::path::Path) -> Result<String, CtlError> {
    const MAX_PEM: u64 = 1024 * 1024;
    let too_big = std::fs::metadata(path).is_ok_and(|m| m.len() > MAX_PEM);
    if too_big {
        return Err(CtlError::Input(format!(
            "{} is over 1 MiB: not a CA certificate",
            path.display()
        )));
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| CtlError::Input(format!("cannot read the CA file {}: {e}", path.display())))?;
    if !text.contains("-----BEGIN CERTIFICATE-----") {
        return Err(CtlError::Input(format!(
            "{} holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
            path.display()
        )));
    }
    Ok(text)
}

/// A contact card from a file, or from stdin for `-`.
pub fn read_card(source: &str) -> Result<Value, CtlError> {
    let (text, name) = if source == "-" {
        let mut text = String::new();
        io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| CtlError::Input(format!("cannot read a card from stdin: {e}")))?;
        (text, "stdin".to_owned())
    } else {
        let text = std::fs::read_to_string(source).map_err(|e| {
            let hint = if e.kind() == io::ErrorKind::NotFound
                && ipc_schema::envelope::is_valid_username(source)
            {
                format!(" (to add the user {source} from the relay directory, give --fingerprint)")
            } else {
                String::new()
            };
            CtlError::Input(format!("cannot read the card {source}: {e}{hint}"))
        })?;
        (text, source.to_owned())
    };
    parse_card(&text, &name)
}

fn parse_card(text: &str, name: &str) -> Result<Value, CtlError> {
    match serde_json::from_str::<Value>(text) {
        Ok(card @ Value::Object(_)) => Ok(card),
        Ok(_) => Err(CtlError::Input(format!(
            "{name} is not a contact card (expected a JSON object)"
        ))),
        Err(e) => Err(CtlError::Input(format!(
            "{name} is not a contact card: {e}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_is_the_first_line_without_its_newline() {
        let p = password_from_reader(&b"s3cret pass\nignored\n"[..]).unwrap();
        assert_eq!(p.expose(), "s3cret pass");
        let p = password_from_reader(&b"crlf\r\n"[..]).unwrap();
        assert_eq!(p.expose(), "crlf");
        let p = password_from_reader(&b"no newline"[..]).unwrap();
        assert_eq!(p.expose(), "no newline");
        let p = password_from_reader(&b"  spaces kept  \n"[..]).unwrap();
        assert_eq!(p.expose(), "  spaces kept  ");
        assert!(matches!(
            password_from_reader(&b"\n"[..]),
            Err(CtlError::Usage(_))
        ));
        assert!(matches!(
            password_from_reader(&b""[..]),
            Err(CtlError::Usage(_))
        ));
    }

    #[test]
    fn the_body_loses_only_one_final_newline() {
        assert_eq!(
            body_from_reader(&b"build done\n"[..]).unwrap(),
            "build done"
        );
        assert_eq!(body_from_reader(&b"a\nb\n\n"[..]).unwrap(), "a\nb\n");
        assert_eq!(body_from_reader(&b"dos\r\n"[..]).unwrap(), "dos");
        assert_eq!(body_from_reader(&b"raw"[..]).unwrap(), "raw");
        assert!(matches!(
            body_from_reader(&b"\xff\n"[..]),
            Err(CtlError::Input(_))
        ));
    }

    #[test]
    fn empty_and_oversized_bodies_are_refused() {
        assert!(matches!(check_body(""), Err(CtlError::Usage(_))));
        assert!(check_body("x").is_ok());
        let big = "x".repeat(ipc_schema::envelope::MAX_BODY + 1);
        assert!(matches!(check_body(&big), Err(CtlError::Input(_))));
    }

    #[test]
    fn cards_must_be_json_objects() {
        let card = parse_card(r#"{"v":1,"user":"bob","enc":"x","sig":"y"}"#, "bob.card").unwrap();
        assert_eq!(card["user"], "bob");
        let err = parse_card("[1]", "bob.card").unwrap_err();
        assert_eq!(
            err.to_string(),
            "bob.card is not a contact card (expected a JSON object)"
        );
        assert!(parse_card("not json", "x").is_err());
    }

    #[test]
    fn a_missing_card_file_that_looks_like_a_user_hints_at_fingerprint() {
        let err = read_card("nosuchuser").unwrap_err();
        assert!(err.to_string().contains("give --fingerprint"), "{err}");
        assert_eq!(err.exit_code(), 1);
    }
}
