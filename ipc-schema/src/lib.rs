//! Wire types shared by chatd, chat-ctl, chat-tui and relay-server.
//!
//! Shape and size validation lives here; no business logic and no crypto.

pub mod changes;
#[cfg(feature = "client")]
pub mod client;
pub mod envelope;
pub mod envelope_v2;
#[cfg(all(unix, any(test, feature = "test-fake")))]
pub mod fake;
pub mod files;
pub mod fingerprint;
pub mod frame;
pub mod jsonrpc;
pub mod methods;
pub mod paths;
pub mod relay;
pub mod secret;
pub mod text;
pub mod time;

pub use changes::MessageChange;
pub use envelope::{CheckedEnvelope, ContactSyncState, Envelope, Payload, ReceiptKind};
pub use envelope_v2::{CheckedDeliveredV2, CheckedSealedV2, DeliveredV2, Incoming, SealedV2};
pub use files::FileOffer;
pub use frame::{FrameDecoder, FrameError, MAX_FRAME, encode_frame};
pub use jsonrpc::{CallError, ErrorObject, Id, Notification, Request, RequestError, Response};
pub use methods::{
    Call, Event, EventEnvelope, Method, MethodResult, PROTOCOL_VERSION, ServerMessage,
};
pub use secret::Secret;
