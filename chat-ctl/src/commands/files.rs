//! `chat-ctl send USER --file PATH` and `chat-ctl save ID [PATH]`: files
//! stream through chat-ctl, a piece at a time, in both directions (chatd
//! may not see the caller's files, nor the caller chatd's).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use base64::Engine;
use ipc_schema::client::ClientError;
use ipc_schema::methods::{
    Event, FILE_PIECE, FileDownloadParams, FileReadParams, FileState, FileUploadCancelParams,
    FileUploadChunkParams, FileUploadFinishParams, FileUploadStartParams, MessageSendResult,
};
use tokio::time::{Instant, timeout_at};

use super::Ctx;
use crate::cli::{SaveArgs, SendArgs};
use crate::exit::CtlError;

/// Streams `path` to chatd as a file message for `args.user`; prints its id.
pub async fn send(ctx: &Ctx, args: &SendArgs, path: &Path) -> Result<(), CtlError> {
    let mut file = std::fs::File::open(path)
        .map_err(|e| CtlError::Input(format!("{}: {e}", path.display())))?;
    let meta = file
        .metadata()
        .map_err(|e| CtlError::Input(format!("{}: {e}", path.display())))?;
    if !meta.is_file() {
        return Err(CtlError::Input(format!("{} is not a file", path.display())));
    }
    let size = meta.len();
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".into());
    let media_type = args
        .media_type
        .clone()
        .unwrap_or_else(|| ipc_schema::files::guess_media_type(&name).to_owned());
    let mut client = ctx.connect().await?;
    let to = super::group::peer(&mut client, &args.user).await?;
    let mut events = match args.wait_for() {
        Some(_) => Some(ctx.connect().await?.subscribe(None).await?),
        None => None,
    };
    let started = client
        .call(FileUploadStartParams {
            to,
            name,
            size,
            media_type: Some(media_type),
            reply_to: args.reply_to.clone(),
        })
        .await?;
    let upload = started.upload;
    let mut buf = vec![0u8; FILE_PIECE];
    let mut sent = 0u64;
    // The size given is what is sent, even if the file grows meanwhile.
    let streamed: Result<(), CtlError> = async {
        while sent < size || size == 0 && sent == 0 {
            let n = (size - sent).min(FILE_PIECE as u64) as usize;
            file.read_exact(&mut buf[..n])
                .map_err(|e| CtlError::Input(format!("{}: {e}", path.display())))?;
            client
                .call(FileUploadChunkParams {
                    upload: upload.clone(),
                    data: base64::engine::general_purpose::STANDARD.encode(&buf[..n]),
                })
                .await?;
            sent += n as u64;
            if size == 0 {
                break;
            }
        }
        Ok(())
    }
    .await;
    if let Err(e) = streamed {
        let _ = client
            .call(FileUploadCancelParams {
                upload: upload.clone(),
            })
            .await;
        return Err(e);
    }
    let done = client.call(FileUploadFinishParams { upload }).await?;
    let sent = MessageSendResult {
        id: done.id,
        ts: done.ts,
    };
    if ctx.out.json {
        ctx.out.json(&sent)?;
    } else {
        ctx.out.human(&sent.id)?;
    }
    if let (Some(target), Some(events)) = (args.wait_for(), events.as_mut()) {
        let deadline = Instant::now() + args.timeout;
        super::send::wait_for_state(events, &sent.id, &args.user, target, deadline, args.timeout)
            .await?;
    }
    Ok(())
}

/// Where `save` writes: PATH, PATH/NAME for a directory, or NAME here.
fn destination(given: Option<&Path>, name: &str) -> PathBuf {
    // The name is made safe again here: a path from chatd is still a
    // peer's text.
    let name = ipc_schema::files::shown_name(name);
    match given {
        Some(p) if p.is_dir() => p.join(name),
        Some(p) => p.to_owned(),
        None => PathBuf::from(name),
    }
}

/// Fetches message `args.id`'s file if it is not here yet (waiting for it
/// to come down), then writes it out.
pub async fn save(ctx: &Ctx, args: SaveArgs) -> Result<(), CtlError> {
    let mut client = ctx.connect().await?;
    let peer = match &args.with {
        Some(with) => Some(super::group::peer(&mut client, with).await?),
        None => None,
    };
    // Subscribed first, so that the file's arrival cannot slip by.
    let mut events = ctx.connect().await?.subscribe(None).await?;
    let asked = client
        .call(FileDownloadParams {
            peer: peer.clone(),
            id: args.id.clone(),
        })
        .await?;
    let id = asked.id.clone();
    let name = asked.name.clone();
    if asked.state != FileState::Ready {
        let deadline = Instant::now() + args.timeout;
        loop {
            let event = match timeout_at(deadline, events.next()).await {
                Err(_) => {
                    return Err(CtlError::Timeout(format!(
                        "the file of {id} did not come down within {} s (chatd goes on fetching it)",
                        args.timeout.as_secs()
                    )));
                }
                Ok(None) => return Err(ClientError::Disconnected.into()),
                Ok(Some(Err(ClientError::Protocol(_)))) => continue,
                Ok(Some(Err(e))) => return Err(e.into()),
                Ok(Some(Ok(event))) => event,
            };
            let Event::MessageChanged(e) = event.event else {
                continue;
            };
            let Some(file) = e.message.file.as_ref().filter(|_| e.message.id == id) else {
                continue;
            };
            match file.state {
                FileState::Ready => break,
                FileState::Failed => {
                    return Err(CtlError::MessageFailed(format!(
                        "the file of {id} was refused: {}",
                        file.failure.as_deref().unwrap_or("no reason given")
                    )));
                }
                _ => {}
            }
        }
    }
    let to_stdout = args.path.as_deref() == Some(Path::new("-"));
    let dest = destination(args.path.as_deref(), &name);
    let mut out: Box<dyn Write> = if to_stdout {
        Box::new(std::io::stdout().lock())
    } else {
        let mut open = std::fs::OpenOptions::new();
        open.write(true);
        if args.force {
            open.create(true).truncate(true);
        } else {
            open.create_new(true);
        }
        Box::new(open.open(&dest).map_err(|e| {
            CtlError::Usage(match e.kind() {
                std::io::ErrorKind::AlreadyExists => format!(
                    "{} exists; give another PATH, or --force to replace it",
                    dest.display()
                ),
                _ => format!("{}: {e}", dest.display()),
            })
        })?)
    };
    let copied = copy_out(&mut client, peer.as_deref(), &id, &mut out).await;
    if let Err(e) = copied {
        if !to_stdout {
            let _ = std::fs::remove_file(&dest);
        }
        return Err(e);
    }
    out.flush()?;
    drop(out);
    if !to_stdout {
        if ctx.out.json {
            ctx.out.json(&serde_json::json!({
                "id": id,
                "path": dest.display().to_string(),
                "size": asked.size,
            }))?;
        } else {
            ctx.out.human(&format!("saved {}", dest.display()))?;
        }
    }
    Ok(())
}

async fn copy_out(
    client: &mut ipc_schema::client::Client,
    peer: Option<&str>,
    id: &str,
    out: &mut dyn Write,
) -> Result<(), CtlError> {
    let mut offset = 0u64;
    loop {
        let piece = client
            .call(FileReadParams {
                peer: peer.map(str::to_owned),
                id: id.to_owned(),
                offset,
                length: None,
            })
            .await?;
        let data = base64::engine::general_purpose::STANDARD
            .decode(piece.data.as_bytes())
            .map_err(|_| CtlError::Input("chatd sent a piece that is not base64".into()))?;
        out.write_all(&data)?;
        offset += data.len() as u64;
        if data.is_empty() || offset >= piece.size {
            return Ok(());
        }
    }
}
