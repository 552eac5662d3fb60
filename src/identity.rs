//! Who this process is, in fabric locks, replica heartbeats and run records — `<role>
//! <pid>@<host>` — and whether a process named that way on this host is still alive, so a lock
//! left by a killed `fabsync sync` or `serve` on the same machine is taken over at once instead
//! of after its expiry.
//!
//! Linux only for the liveness check (`/proc/<pid>`); an owner on another host, or one named some
//! other way (`--replica`), is left to the lock's expiry. It holds no state.

use crate::store::{Store, StoreError};

/// This machine's host name (`/proc/sys/kernel/hostname`, then `/etc/hostname`).
pub fn host_name() -> String {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .find_map(|p| std::fs::read_to_string(p).ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

/// This process as an owner: `serve 1234@host`.
pub fn this_process(role: &str) -> String {
    format!("{role} {}@{}", std::process::id(), host_name())
}

/// Whether `owner` names a process of this host that no longer runs.
pub fn is_dead_here(owner: &str) -> bool {
    let Some((_, tail)) = owner.rsplit_once(' ') else {
        return false;
    };
    let Some((pid, host)) = tail.split_once('@') else {
        return false;
    };
    let Ok(pid) = pid.parse::<u32>() else {
        return false;
    };
    host == host_name()
        && pid != std::process::id()
        && std::path::Path::new("/proc/self").exists()
        && !std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// Releases the fabric locks whose owner is a dead process of this host (so the runs they
/// covered can be closed as interrupted now). Returns the fabrics released.
pub fn release_dead_locks(store: &Store) -> Result<Vec<String>, StoreError> {
    let mut released = Vec::new();
    for lock in store.fabric_locks()? {
        if is_dead_here(&lock.owner) {
            store.unlock_fabric(&lock.fabric, &lock.owner)?;
            tracing::warn!(fabric = %lock.fabric, owner = %lock.owner, "released the fabric lock of a process that no longer runs");
            released.push(lock.fabric);
        }
    }
    Ok(released)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owners_of_this_host_are_checked_by_pid() {
        let me = this_process("sync");
        assert!(!is_dead_here(&me), "this process is alive: {me}");
        // pid_max is at most 2^22 on Linux: this pid cannot exist.
        let gone = format!("sync 99999999@{}", host_name());
        assert!(is_dead_here(&gone));
        assert!(!is_dead_here("serve 99999999@another-host"));
        assert!(!is_dead_here("fabsync-0"));
    }
}
