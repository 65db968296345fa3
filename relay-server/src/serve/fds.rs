//! The open-files limit: every connection is a file descriptor, so the
//! connection cap must fit under it with room for the rest of the relay.

/// Descriptors kept for everything but client connections: standard
/// streams, the listener, the runtime's own, SQLite's writer and readers with
/// their WAL and shared-memory files, TLS files at start.
const RESERVED: u64 = 128;

/// Raises the soft open-files limit to the hard one (at most 2^20), as far
/// as the process may; returns the soft limit in force afterwards.
#[allow(clippy::unnecessary_cast)] // rlim_t is u64 on Linux, not on every Unix
pub fn raise_open_files_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit and setrlimit only read and write `lim`.
        unsafe {
            if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
                return None;
            }
            let wanted = lim.rlim_max.min(1 << 20);
            if lim.rlim_cur < wanted {
                let raised = libc::rlimit {
                    rlim_cur: wanted,
                    rlim_max: lim.rlim_max,
                };
                if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                    lim.rlim_cur = wanted;
                }
            }
        }
        Some(lim.rlim_cur as u64)
    }
    #[cfg(not(unix))]
    None
}

/// The soft open-files limit, if the platform has one.
#[allow(clippy::unnecessary_cast)] // rlim_t is u64 on Linux, not on every Unix
fn open_files_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit only writes `lim`.
        let ok = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } == 0;
        ok.then_some(lim.rlim_cur as u64)
    }
    #[cfg(not(unix))]
    None
}

/// The connection cap to use for `wanted`: lowered, with a warning, to what
/// the open-files limit leaves room for, so that accepting never fails for
/// want of a descriptor.
pub fn connection_cap(wanted: usize) -> usize {
    let Some(limit) = open_files_limit() else {
        return wanted;
    };
    let cap = fit(wanted, limit);
    if cap < wanted {
        tracing::warn!(
            wanted,
            cap,
            open_files_limit = limit,
            "the open-files limit lowers the connection cap (raise it with `ulimit -n` or LimitNOFILE=)"
        );
    }
    cap
}

fn fit(wanted: usize, limit: u64) -> usize {
    let room = limit.saturating_sub(RESERVED).max(1);
    wanted.min(usize::try_from(room).unwrap_or(usize::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_connection_cap_leaves_room_under_the_open_files_limit() {
        assert_eq!(fit(16_384, 1_048_576), 16_384);
        assert_eq!(fit(16_384, 1024), 1024 - RESERVED as usize);
        assert_eq!(fit(16_384, 10), 1, "always at least one");
        assert!(
            connection_cap(usize::MAX) < usize::MAX,
            "this test runs under a limit"
        );
    }
}
