//! `file.*`: streaming a file in to send it, asking for a received one,
//! and reading a kept one back (docs/IPC.md, "Files"). Bytes travel as
//! standard base64, one chunk (at most 1 MiB) per call: chatd and the
//! frontend may not see each other's files.

use serde::{Deserialize, Serialize};

use super::views::FileState;

/// Bytes of a file per `file.upload_chunk` (every piece but the last) and
/// at most per `file.read`: 1 MiB, the chunk of docs/PROTOCOL.md §15.1.
pub const FILE_PIECE: usize = 1 << 20;

/// Params of `file.upload_start`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileUploadStartParams {
    /// A contact, or `#` and a group's id.
    pub to: String,
    /// The file's name (only its last part is sent, made safe).
    pub name: String,
    /// Its size in bytes.
    pub size: u64,
    /// Its media type (`type/subtype`); `application/octet-stream` when
    /// absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// Id of the message it answers (or its first 8+ hex digits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<String>,
}

/// Result of `file.upload_start`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileUploadStartResult {
    /// Names the upload in the calls that follow.
    pub upload: String,
    /// Bytes each `file.upload_chunk` takes (the last one: what is left).
    pub piece: u64,
}

/// Params of `file.upload_chunk`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileUploadChunkParams {
    /// From `file.upload_start`.
    pub upload: String,
    /// The next piece, standard base64.
    pub data: String,
}

/// Result of `file.upload_chunk`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileUploadChunkResult {
    /// Bytes received so far.
    pub received: u64,
}

/// Params of `file.upload_finish`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileUploadFinishParams {
    /// From `file.upload_start`.
    pub upload: String,
}

/// Params of `file.upload_cancel`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileUploadCancelParams {
    /// From `file.upload_start`.
    pub upload: String,
}

/// Result of `file.upload_finish`: the message is committed; its blob
/// goes up, and then the message is sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileUploadFinishResult {
    /// The new message's id.
    pub id: String,
    /// Its timestamp (ms).
    pub ts: u64,
}

/// Result of `file.upload_cancel`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileUploadCancelResult {}

/// Params of `file.download`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileDownloadParams {
    /// The conversation (a contact, or `#` and a group's id); any when
    /// absent (the id must then name one file message).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer: Option<String>,
    /// The file message's id (or its first 8+ hex digits).
    pub id: String,
}

/// Result of `file.download`: where the file is now (`message.changed`
/// events follow it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileDownloadResult {
    /// The message's whole id.
    pub id: String,
    /// Its sender.
    pub from: String,
    /// The file's name (made safe; still a peer's text).
    pub name: String,
    /// The file's size.
    pub size: u64,
    /// Where it is.
    pub state: FileState,
}

/// Params of `file.read`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileReadParams {
    /// The conversation; any when absent (as for `file.download`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer: Option<String>,
    /// The file message's id (or its first 8+ hex digits).
    pub id: String,
    /// From this byte.
    #[serde(default)]
    pub offset: u64,
    /// At most this many bytes ([`FILE_PIECE`] when absent, and at most
    /// that).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length: Option<u64>,
}

/// Result of `file.read`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileReadResult {
    /// The bytes, standard base64 (empty at the end).
    pub data: String,
    /// The file's size.
    pub size: u64,
}
