//! Known bugs the randomized simulator must be able to find, planted one at a time by
//! `fabsync simulate --plant <bug>` in debug builds with the `planted-bugs` cargo feature (the
//! test builds: the package dev-depends on itself with it). Never in a release build: with
//! optimisations on, or without the feature, [`active`] is a constant `false`, every planted
//! branch compiles away, and planting is refused.
//! It holds no sync logic; each bug's branch sits in the module whose guarantee it breaks.

/// A bug that can be planted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Bug {
    /// A failed apply leaves its writes in place while reporting them rolled back.
    SkipRollback,
    /// Writes are not read back: a run claims `in_sync` for what it merely sent.
    SkipVerify,
    /// Writes go out after the fabric's Lease was lost.
    IgnoreLeaseFence,
    /// The change cursor is trusted although NetBox's log went backwards or was replaced.
    TrustCursorBlindly,
    /// Every other audit row is not stored (its intent is still closed).
    DropAuditRows,
    /// Deletes consider every object of a planned kind, not only those with the fabric's label.
    PruneWithoutLabelCheck,
}

impl Bug {
    /// Every bug, in order.
    pub const ALL: [Bug; 6] = [
        Bug::SkipRollback,
        Bug::SkipVerify,
        Bug::IgnoreLeaseFence,
        Bug::TrustCursorBlindly,
        Bug::DropAuditRows,
        Bug::PruneWithoutLabelCheck,
    ];

    /// The bug's name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Bug::SkipRollback => "skip-rollback",
            Bug::SkipVerify => "skip-verify",
            Bug::IgnoreLeaseFence => "ignore-lease-fence",
            Bug::TrustCursorBlindly => "trust-cursor-blindly",
            Bug::DropAuditRows => "drop-audit-rows",
            Bug::PruneWithoutLabelCheck => "prune-without-label-check",
        }
    }

    /// The bug called `name`.
    pub fn from_name(name: &str) -> Option<Bug> {
        Bug::ALL.into_iter().find(|b| b.name() == name)
    }
}

#[cfg(all(feature = "planted-bugs", debug_assertions))]
thread_local! {
    static PLANTED: std::cell::Cell<Option<Bug>> = const { std::cell::Cell::new(None) };
    static COUNTER: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Whether `bug` is planted on this thread (the simulator runs each seed on one thread).
#[inline(always)]
pub fn active(bug: Bug) -> bool {
    #[cfg(all(feature = "planted-bugs", debug_assertions))]
    {
        PLANTED.with(|p| p.get() == Some(bug))
    }
    #[cfg(not(all(feature = "planted-bugs", debug_assertions)))]
    {
        let _ = bug;
        false
    }
}

/// For bugs that strike every other time: true on every second call while `bug` is planted.
pub fn strikes(bug: Bug) -> bool {
    #[cfg(all(feature = "planted-bugs", debug_assertions))]
    {
        active(bug)
            && COUNTER.with(|c| {
                c.set(c.get() + 1);
                c.get() % 2 == 0
            })
    }
    #[cfg(not(all(feature = "planted-bugs", debug_assertions)))]
    {
        let _ = bug;
        false
    }
}

/// Whether this build can plant bugs.
pub const AVAILABLE: bool = cfg!(all(feature = "planted-bugs", debug_assertions));

/// Plants `bug` (or none) on this thread. Without the feature, planting a bug is refused.
pub fn plant(bug: Option<Bug>) -> Result<(), String> {
    #[cfg(all(feature = "planted-bugs", debug_assertions))]
    {
        PLANTED.with(|p| p.set(bug));
        COUNTER.with(|c| c.set(0));
        Ok(())
    }
    #[cfg(not(all(feature = "planted-bugs", debug_assertions)))]
    {
        match bug {
            None => Ok(()),
            Some(b) => Err(format!(
                "cannot plant {}: this build has no planted bugs (a debug build with the planted-bugs feature has them: the test builds)",
                b.name()
            )),
        }
    }
}
