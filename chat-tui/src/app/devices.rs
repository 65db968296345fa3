//! The devices view's logic (`D`): the account's devices, revoking one with
//! a confirmation and a password change, renaming one, and a one-time link
//! for a new machine. Pure: effects only; chatd and the relay have the last
//! word and the view shows it.

use ipc_schema::methods::{DeviceLinkResult, DeviceView};
use ipc_schema::relay::is_valid_device_name;
use ipc_schema::text::sanitize;

use crate::app::action::{DeviceFailed, Effect};
use crate::app::composer::{Composer, Edit};
use crate::app::keymap::Bound;
use crate::app::masked::MaskedInput;
use crate::app::state::{
    AppState, DaemonLink, DevicePrompt, DevicesView, Overlay, Revoke, RevokeStep,
};

/// Fewest characters the relay takes in a password.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// Most bytes the relay takes in a password.
pub const MAX_PASSWORD_BYTES: usize = 1024;

fn view(state: &mut AppState) -> Option<&mut DevicesView> {
    match &mut state.overlay {
        Some(Overlay::Devices(v)) => Some(v),
        _ => None,
    }
}

/// Whether the devices view is open.
pub fn is_open(state: &AppState) -> bool {
    matches!(state.overlay, Some(Overlay::Devices(_)))
}

/// Opens the view and asks for the list.
pub fn show(state: &mut AppState, fx: &mut Vec<Effect>) {
    state.overlay = Some(Overlay::Devices(DevicesView::default()));
    if state.daemon == DaemonLink::Online {
        fx.push(Effect::LoadDevices);
    }
}

/// Asks for the list again if the view is open (a device came or went, or
/// chatd is back).
pub fn refresh(state: &mut AppState, fx: &mut Vec<Effect>) {
    if is_open(state) && state.daemon == DaemonLink::Online {
        fx.push(Effect::LoadDevices);
    }
}

/// `device.list` answered: active devices first (the relay's order within
/// each part is kept), the highlight kept on the same device when it can be.
pub fn listed(state: &mut AppState, result: Result<Vec<DeviceView>, DeviceFailed>) {
    let Some(v) = view(state) else { return };
    match result {
        Ok(mut devices) => {
            devices.sort_by_key(|d| d.gone.is_some());
            let was = v
                .devices
                .as_ref()
                .and_then(|old| old.get(v.selected))
                .map(|d| d.id.clone());
            v.selected = was
                .and_then(|id| devices.iter().position(|d| d.id == id))
                .unwrap_or(v.selected)
                .min(devices.len().saturating_sub(1));
            v.devices = Some(devices);
        }
        Err(failed) => v.message = Some(Err(describe(&failed))),
    }
}

/// Moves the highlight by `delta` (clamped); `i64::MIN`/`MAX` go to the ends.
pub fn select(state: &mut AppState, delta: i64) {
    let Some(v) = view(state).filter(|v| v.prompt.is_none() && v.link.is_none()) else {
        return;
    };
    let last = v.devices.as_ref().map_or(0, Vec::len).saturating_sub(1) as i64;
    v.selected = (v.selected as i64).saturating_add(delta).clamp(0, last) as usize;
}

/// The highlighted device, when the view is idle (no prompt, code or call).
fn idle_selection(v: &DevicesView) -> Option<&DeviceView> {
    if v.prompt.is_some() || v.link.is_some() || v.pending.is_some() {
        return None;
    }
    v.devices.as_ref()?.get(v.selected)
}

/// Why `device` cannot be revoked (`revoking`) or renamed from here, if it
/// cannot: a gone device is neither, and this device is not revoked from itself.
fn refusal(device: &DeviceView, revoking: bool) -> Option<String> {
    let name = sanitize(&device.name);
    if let Some(gone) = &device.gone {
        return Some(format!("'{name}' is already {}", sanitize(gone)));
    }
    (device.current && revoking)
        .then(|| format!("'{name}' is this device: revoke it from one of your other devices"))
}

/// `r`: asks to confirm revoking the highlighted device; refuses this
/// device and the ones already gone.
pub fn revoke(state: &mut AppState) {
    let Some(v) = view(state) else { return };
    let Some(device) = idle_selection(v) else {
        return;
    };
    if let Some(why) = refusal(device, true) {
        v.message = Some(Err(why));
        return;
    }
    v.prompt = Some(DevicePrompt::Revoke(Revoke {
        id: device.id.clone(),
        name: device.name.clone(),
        step: RevokeStep::Confirm,
    }));
    v.message = None;
}

/// `e`: a prompt for a new name of the highlighted device, filled with the
/// name it has.
pub fn rename(state: &mut AppState) {
    let Some(v) = view(state) else { return };
    let Some(device) = idle_selection(v) else {
        return;
    };
    if let Some(why) = refusal(device, false) {
        v.message = Some(Err(why));
        return;
    }
    v.prompt = Some(DevicePrompt::Rename {
        id: device.id.clone(),
        name: device.name.clone(),
        input: Composer::with_text(sanitize(&device.name)),
    });
    v.message = None;
}

/// `l` / `L`: asks chatd for a one-time link (replacing one on screen).
pub fn link(state: &mut AppState, with_history: bool, fx: &mut Vec<Effect>) {
    let online = state.daemon == DaemonLink::Online;
    let Some(v) = view(state).filter(|v| v.prompt.is_none() && v.pending.is_none()) else {
        return;
    };
    v.link = None;
    if !online {
        v.message = Some(Err("daemon offline — try again later".into()));
        return;
    }
    v.message = None;
    v.pending = Some(if with_history {
        "sealing a link with the history (this can take a while)…".into()
    } else {
        "sealing a link for a new machine…".into()
    });
    fx.push(Effect::LinkDevice { with_history });
}

/// Types into the open prompt: the masked password, or the new name (one line).
pub fn edit(state: &mut AppState, edit: Edit) {
    let Some(v) = view(state) else { return };
    match &mut v.prompt {
        Some(DevicePrompt::Revoke(r)) => match &mut r.step {
            RevokeStep::Confirm => {}
            RevokeStep::Current(input)
            | RevokeStep::New { input, .. }
            | RevokeStep::Repeat { input, .. } => input.apply(edit),
        },
        Some(DevicePrompt::Rename { input, .. }) => match edit {
            Edit::Newline => {}
            Edit::InsertStr(s) => input.apply(Edit::InsertStr(s.replace(['\r', '\n'], " "))),
            e => input.apply(e),
        },
        None => {}
    }
}

/// Enter (or y to the confirmation): the next step, or the call.
pub fn submit(state: &mut AppState, fx: &mut Vec<Effect>) {
    let online = state.daemon == DaemonLink::Online;
    let Some(v) = view(state) else { return };
    match v.prompt.take() {
        None => {}
        Some(DevicePrompt::Revoke(r)) => revoke_step(v, r, online, fx),
        Some(DevicePrompt::Rename { id, name, input }) => {
            let new = input.text.trim().to_owned();
            if new == name {
                return;
            }
            if !is_valid_device_name(&new) {
                v.message = Some(Err(
                    "a device name is 1 to 32 bytes with no control characters".into(),
                ));
                v.prompt = Some(DevicePrompt::Rename { id, name, input });
            } else if !online {
                v.message = Some(Err("daemon offline — nothing was renamed".into()));
            } else {
                v.message = None;
                v.pending = Some(format!("renaming '{}'…", sanitize(&name)));
                fx.push(Effect::RenameDevice { id, name: new });
            }
        }
    }
}

/// One step of a revocation: whatever happens, the secrets move on or drop.
fn revoke_step(v: &mut DevicesView, r: Revoke, online: bool, fx: &mut Vec<Effect>) {
    let Revoke { id, name, step } = r;
    let (step, message) = match step {
        RevokeStep::Confirm => (RevokeStep::Current(Default::default()), None),
        RevokeStep::Current(input) if input.is_empty() => (
            RevokeStep::Current(input),
            Some("type the current relay password".to_owned()),
        ),
        RevokeStep::Current(mut input) => (
            RevokeStep::New {
                password: input.take(),
                input: Default::default(),
            },
            None,
        ),
        RevokeStep::New {
            password,
            mut input,
        } => {
            let problem = new_password_problem(&input, &password);
            let new_password = input.take();
            match problem {
                Some(why) => (
                    RevokeStep::New {
                        password,
                        input: Default::default(),
                    },
                    Some(why),
                ),
                None => (
                    RevokeStep::Repeat {
                        password,
                        new_password,
                        input: Default::default(),
                    },
                    None,
                ),
            }
        }
        RevokeStep::Repeat {
            password,
            new_password,
            mut input,
        } => {
            if input.take() != new_password {
                let step = RevokeStep::New {
                    password,
                    input: Default::default(),
                };
                let why = "the two new passwords differ — type the new one again";
                (step, Some(why.to_owned()))
            } else if !online {
                v.message = Some(Err("daemon offline — nothing was revoked".into()));
                return;
            } else {
                v.message = None;
                v.pending = Some(format!("revoking '{}'…", sanitize(&name)));
                fx.push(Effect::RevokeDevice {
                    id,
                    password,
                    new_password,
                });
                return;
            }
        }
    };
    v.message = message.map(Err);
    v.prompt = Some(DevicePrompt::Revoke(Revoke { id, name, step }));
}

/// Why the new password typed cannot be the relay's, if it cannot.
fn new_password_problem(input: &MaskedInput, current: &ipc_schema::Secret) -> Option<String> {
    if input.chars() < MIN_PASSWORD_CHARS {
        Some(format!(
            "the new password needs at least {MIN_PASSWORD_CHARS} characters"
        ))
    } else if input.byte_len() > MAX_PASSWORD_BYTES {
        Some(format!(
            "the new password may have at most {MAX_PASSWORD_BYTES} bytes"
        ))
    } else if input.is(current) {
        Some("the new password must differ: the revoked device knows the current one".into())
    } else {
        None
    }
}

/// Esc (or n): closes the prompt, else forgets the code on screen, else
/// closes the view. Returns whether the view was open.
pub fn close(state: &mut AppState) -> bool {
    let Some(v) = view(state) else { return false };
    if v.prompt.is_some() {
        v.prompt = None;
        v.message = None;
    } else if v.link.is_some() {
        v.link = None;
    } else {
        state.overlay = None;
    }
    true
}

/// The name of device `id` in the list, sanitized, else its id.
fn name_of(v: &DevicesView, id: &str) -> String {
    v.devices
        .iter()
        .flatten()
        .find(|d| d.id == id)
        .map_or_else(|| id.to_owned(), |d| sanitize(&d.name).into_owned())
}

/// `device.revoke` answered. A wrong password opens the password step again.
pub fn revoked(
    state: &mut AppState,
    id: String,
    result: Result<(), DeviceFailed>,
    fx: &mut Vec<Effect>,
) {
    let Some(v) = view(state) else {
        state.notice = Some(match result {
            Ok(()) => format!("revoked device {id}; the relay password is changed"),
            Err(failed) => format!("device {id} not revoked: {}", describe(&failed)),
        });
        return;
    };
    v.pending = None;
    let name = name_of(v, &id);
    match result {
        Ok(()) => {
            v.message = Some(Ok(format!(
                "revoked '{name}'; the relay password is changed — \
                 your other devices need it at their next login"
            )));
        }
        Err(DeviceFailed::WrongPassword) => {
            let why = describe(&DeviceFailed::WrongPassword);
            v.message = Some(Err(format!("{why} — type it again")));
            v.prompt = Some(DevicePrompt::Revoke(Revoke {
                id,
                name,
                step: RevokeStep::Current(Default::default()),
            }));
            return;
        }
        Err(failed) => {
            v.message = Some(Err(format!("'{name}' not revoked: {}", describe(&failed))))
        }
    }
    refresh(state, fx);
}

/// `device.rename` answered.
pub fn renamed(
    state: &mut AppState,
    id: String,
    name: String,
    result: Result<(), DeviceFailed>,
    fx: &mut Vec<Effect>,
) {
    let Some(v) = view(state) else { return };
    v.pending = None;
    v.message = Some(match result {
        Ok(()) => Ok(format!("renamed to '{}'", sanitize(&name))),
        Err(failed) => Err(format!(
            "'{}' not renamed: {}",
            name_of(v, &id),
            describe(&failed)
        )),
    });
    refresh(state, fx);
}

/// `device.link` answered: the code is shown until Esc, its expiry, or the
/// view closes. A code that comes after the view closed is dropped unseen.
pub fn linked(state: &mut AppState, result: Result<DeviceLinkResult, DeviceFailed>) {
    let Some(v) = view(state) else { return };
    v.pending = None;
    match result {
        Ok(link) => v.link = Some(link),
        Err(failed) => v.message = Some(Err(format!("no link: {}", describe(&failed)))),
    }
}

/// The clock moved: a code past its expiry is of no use and is forgotten.
pub fn tick(state: &mut AppState) {
    let now = state.now_ms;
    let key = state.keys.key(Bound::DeviceLink);
    let Some(v) = view(state) else { return };
    if v.link.as_ref().is_some_and(|l| l.expires_at <= now) {
        v.link = None;
        v.message = Some(Err(format!(
            "the link code expired; press {key} for a new one"
        )));
    }
}

/// chatd went away: a call on its way has no answer coming.
pub fn offline(state: &mut AppState) {
    if let Some(v) = view(state).filter(|v| v.pending.is_some()) {
        v.pending = None;
        v.message = Some(Err(
            "lost chatd before it answered — check the list once it is back".into(),
        ));
    }
}

/// What the user reads about a failure.
pub fn describe(failed: &DeviceFailed) -> String {
    match failed {
        DeviceFailed::WrongPassword => {
            "wrong current password: nothing was revoked or changed".into()
        }
        DeviceFailed::UnknownDevice => "the account has no such active device".into(),
        DeviceFailed::TooManyDevices => {
            "the account is at its limit of devices: revoke one first".into()
        }
        DeviceFailed::Refused(why) => why.clone(),
    }
}

#[cfg(test)]
mod tests;
