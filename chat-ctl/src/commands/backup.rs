//! `chat-ctl backup export FILE` and `chat-ctl backup import FILE …`
//! (docs/PROTOCOL.md §10).

use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::Path;

use ipc_schema::Secret;
use ipc_schema::methods::{
    AccountRestoreParams, BackupDisableParams, BackupEnableParams, BackupExportParams,
};

use super::Ctx;
use crate::cli::{BackupEnableArgs, BackupExportArgs, BackupImportArgs, LoginArgs};
use crate::exit::CtlError;
use crate::input::{PasswordFrom, read_ca, read_password, read_stdin_secrets};

/// The largest backup file read (the protocol's cap).
const MAX_BACKUP: u64 = 64 * 1024 * 1024;

/// Seals the identity and contacts under a passphrase into FILE.
pub async fn export(ctx: &Ctx, args: BackupExportArgs) -> Result<(), CtlError> {
    let to_stdout = args.file.as_os_str() == "-";
    if !to_stdout && !args.force && args.file.exists() {
        return Err(CtlError::Usage(format!(
            "{} exists; give --force to replace it",
            args.file.display()
        )));
    }
    let mut client = ctx.connect().await?;
    let passphrase = new_passphrase(args.passphrase_stdin)?;
    let result = client.call(BackupExportParams { passphrase }).await?;
    if to_stdout {
        let mut out = std::io::stdout().lock();
        out.write_all(result.backup.expose().as_bytes())?;
        out.write_all(b"\n")?;
        return Ok(());
    }
    write_private(&args.file, result.backup.expose().as_bytes())?;
    if ctx.out.json {
        ctx.out.json(&serde_json::json!({
            "file": args.file.display().to_string(),
            "contacts": result.contacts,
        }))?;
    } else {
        ctx.out.human(&format!(
            "wrote {} (your private keys and {} contacts, sealed under the passphrase); keep it off this machine",
            args.file.display(),
            result.contacts
        ))?;
    }
    Ok(())
}

/// Writes `bytes` to `path` readable by its owner only, through a temporary
/// file renamed over it, so that a crash leaves the old file or the new one.
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), CtlError> {
    let cannot =
        |e: std::io::Error| CtlError::Input(format!("cannot write {}: {e}", path.display()));
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = std::path::PathBuf::from(tmp);
    let _ = std::fs::remove_file(&tmp);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(cannot)?;
    file.write_all(bytes).map_err(cannot)?;
    file.write_all(b"\n").map_err(cannot)?;
    file.sync_all().map_err(cannot)?;
    std::fs::rename(&tmp, path).map_err(cannot)?;
    Ok(())
}

/// The backup passphrase for sealing: stdin's first line, or asked twice.
fn new_passphrase(stdin: bool) -> Result<Secret, CtlError> {
    if stdin {
        return Ok(read_stdin_secrets(&["passphrase"])?.remove(0));
    }
    read_password(PasswordFrom::Prompt {
        prompt: "Backup passphrase (not the relay password; 80 bits or more): ",
        confirm: true,
    })
}

/// Keeps a backup on the relay from now on.
pub async fn enable(ctx: &Ctx, args: BackupEnableArgs) -> Result<(), CtlError> {
    let mut client = ctx.connect().await?;
    let passphrase = new_passphrase(args.passphrase_stdin)?;
    let result = client.call(BackupEnableParams { passphrase }).await?;
    if ctx.out.json {
        ctx.out.json(&result)?;
    } else {
        ctx.out.human(&format!(
            "the relay keeps your key backup (keys and {} contacts), sealed under the passphrase; \
             a new machine: chat-ctl login --restore --relay URL --user NAME",
            result.contacts
        ))?;
    }
    Ok(())
}

/// Stops keeping a backup on the relay.
pub async fn disable(ctx: &Ctx) -> Result<(), CtlError> {
    let result = ctx.connect().await?.call(BackupDisableParams {}).await?;
    if ctx.out.json {
        ctx.out.json(&result)?;
    } else {
        ctx.out.human("the relay no longer keeps a key backup")?;
    }
    Ok(())
}

/// `login --restore`: sets this machine up from the relay's key backup.
pub async fn login_restore(ctx: &Ctx, args: LoginArgs) -> Result<(), CtlError> {
    let (false, Some(user)) = (args.relay.is_empty(), args.user) else {
        return Err(CtlError::Usage(
            "--restore needs --relay URL and --user NAME".into(),
        ));
    };
    let relay = args.relay;
    restore(
        ctx,
        Restore {
            backup: None,
            relay,
            user,
            device_name: args.device_name,
            password_stdin: args.password_stdin,
            passphrase_stdin: args.passphrase_stdin,
            ca: args.trust.ca,
            pin: args.trust.pin,
            insecure_http: args.insecure_http,
        },
    )
    .await
}

/// What a restore needs from the command line.
struct Restore {
    backup: Option<Secret>,
    relay: Vec<String>,
    user: String,
    device_name: Option<String>,
    password_stdin: bool,
    passphrase_stdin: bool,
    ca: Option<std::path::PathBuf>,
    pin: Option<String>,
    insecure_http: bool,
}

/// Sets this machine up from a backup: same keys, a new device.
pub async fn import(ctx: &Ctx, args: BackupImportArgs) -> Result<(), CtlError> {
    let too_big = std::fs::metadata(&args.file).is_ok_and(|m| m.len() > MAX_BACKUP);
    if too_big {
        return Err(CtlError::Input(format!(
            "{} is over 64 MiB: not a chat backup",
            args.file.display()
        )));
    }
    let backup = std::fs::read_to_string(&args.file).map_err(|e| {
        CtlError::Input(format!(
            "cannot read the backup {}: {e}",
            args.file.display()
        ))
    })?;
    restore(
        ctx,
        Restore {
            backup: Some(Secret::new(backup.trim_end())),
            relay: args.relay,
            user: args.user,
            device_name: args.device_name,
            password_stdin: args.password_stdin,
            passphrase_stdin: args.passphrase_stdin,
            ca: args.trust.ca,
            pin: args.trust.pin,
            insecure_http: args.insecure_http,
        },
    )
    .await
}

async fn restore(ctx: &Ctx, args: Restore) -> Result<(), CtlError> {
    let relay_ca = args.ca.as_deref().map(read_ca).transpose()?;
    let mut client = ctx.connect().await?;
    let (password, passphrase) = secrets(&args)?;
    let result = client
        .call(AccountRestoreParams {
            relay_url: args.relay.into(),
            username: args.user,
            password,
            backup: args.backup,
            passphrase,
            device_name: args.device_name,
            insecure_http: args.insecure_http,
            relay_ca,
            relay_pin: args.pin,
        })
        .await?;
    if ctx.out.json {
        ctx.out.json(&result)?;
    } else {
        let mut text = format!(
            "restored {} on {} as a new device, with {} contacts; fingerprint:\n",
            result.user, result.relay_url, result.contacts
        );
        for line in ipc_schema::fingerprint::lines(&result.fingerprint) {
            text.push_str(&format!("  {line}\n"));
        }
        ctx.out.human(text.trim_end())?;
    }
    Ok(())
}

/// The relay password and the passphrase: from stdin (the password's line
/// first) or prompted, each as its flag says.
fn secrets(args: &Restore) -> Result<(Secret, Secret), CtlError> {
    let mut from_stdin = match (args.password_stdin, args.passphrase_stdin) {
        (true, true) => read_stdin_secrets(&["relay password", "backup passphrase"])?,
        (true, false) => read_stdin_secrets(&["relay password"])?,
        (false, true) => read_stdin_secrets(&["backup passphrase"])?,
        (false, false) => Vec::new(),
    }
    .into_iter();
    let prompt_for = |prompt: &str| {
        read_password(PasswordFrom::Prompt {
            prompt,
            confirm: false,
        })
    };
    let password = if args.password_stdin {
        from_stdin.next().expect("read above")
    } else {
        prompt_for(&format!("Relay password for {}: ", args.user))?
    };
    let passphrase = if args.passphrase_stdin {
        from_stdin.next().expect("read above")
    } else {
        prompt_for("Backup passphrase: ")?
    };
    Ok((password, passphrase))
}
