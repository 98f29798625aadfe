//! A store-load barrier split unevenly between two threads (a Dekker handshake).
//!
//! A waker publishes data, then looks whether its peer announced it is parked; the
//! sleeper announces, then looks for data. Each side needs its store ordered before its
//! load (StoreLoad), or both can miss the other's store and the sleeper sleeps forever.
//! The waker does this on every message, the sleeper only before it parks, so the cost
//! goes to the sleeper: [`heavy_fence`] is Linux's `membarrier(PRIVATE_EXPEDITED)`, which
//! makes every running thread of the process execute a full barrier, and [`light_fence`]
//! need then only stop the compiler from reordering. The pair orders the two sides'
//! accesses as two `fence(SeqCst)` would.
//!
//! Where `membarrier` is not available (other systems, an old kernel, a refused
//! registration, Miri), or when the environment variable `RINGLINK_FENCE` is `seqcst`
//! when the first channel or service is made (read once; for testing the fallback), both
//! halves are `fence(SeqCst)`. Under loom both are `fence(SeqCst)` too: that is what the
//! pair guarantees, and what the models check (ARCHITECTURE.md says what rests on the
//! argument rather than on the models).

#[cfg(loom)]
mod imp {
    use crate::sync::{fence, Ordering};

    /// The waker's half: under loom, the `SeqCst` fence the pair stands for.
    pub(crate) fn light_fence() {
        // mutant(loom_mpsc): loom light_fence (the waker's StoreLoad) removed =>
        // mutant(loom_service): loom light_fence (the waker's StoreLoad: notify) removed =>
        fence(Ordering::SeqCst);
    }

    /// The sleeper's half: under loom, the `SeqCst` fence the pair stands for.
    pub(crate) fn heavy_fence() {
        // mutant(loom_mpsc): loom heavy_fence (the sleeper's StoreLoad) removed =>
        // mutant(loom_service): loom heavy_fence (the sleeper's StoreLoad) removed =>
        fence(Ordering::SeqCst);
    }

    pub(crate) fn prepare_fences() {}
}

#[cfg(not(loom))]
mod imp {
    use std::sync::atomic::{compiler_fence, fence, Ordering};

    #[cfg(all(target_os = "linux", not(miri)))]
    mod membarrier {
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::sync::OnceLock;

        const CMD_QUERY: libc::c_int = 0;
        const CMD_PRIVATE_EXPEDITED: libc::c_int = 1 << 3;
        const CMD_REGISTER_PRIVATE_EXPEDITED: libc::c_int = 1 << 4;

        /// Whether the process registered for expedited membarriers. Set once and never
        /// changed: a light fence that saw `true` relies on every later heavy fence being
        /// a `membarrier`.
        static REGISTERED: OnceLock<bool> = OnceLock::new();

        /// `true` once `REGISTERED` holds `true`: the same fact, in a form the hot path
        /// reads with one plain load (a `OnceLock` costs four instructions to read). Set
        /// only after the registration succeeded, never cleared; `Relaxed` suffices: a
        /// thread that sees it set also finds `REGISTERED` decided as `true` when its own
        /// `heavy_fence` asks.
        static AVAILABLE: AtomicBool = AtomicBool::new(false);

        fn membarrier(cmd: libc::c_int) -> libc::c_long {
            // SAFETY: `membarrier` takes two integers and touches no memory of ours.
            unsafe {
                libc::syscall(
                    libc::SYS_membarrier,
                    cmd,
                    0 as libc::c_uint,
                    0 as libc::c_int,
                )
            }
        }

        /// Whether light fences may be compiler fences. Cheap: one load of a line that is
        /// only ever read after the first call.
        #[inline(always)]
        pub(super) fn available() -> bool {
            AVAILABLE.load(Ordering::Relaxed)
        }

        /// Registers the process for expedited membarriers, once; returns whether heavy
        /// fences are `membarrier`s.
        pub(super) fn prepare() -> bool {
            let registered = *REGISTERED.get_or_init(register);
            if registered {
                AVAILABLE.store(true, Ordering::Relaxed);
            }
            registered
        }

        #[cold]
        fn register() -> bool {
            if super::fallback_forced() {
                return false;
            }
            let wanted = CMD_PRIVATE_EXPEDITED | CMD_REGISTER_PRIVATE_EXPEDITED;
            let supported = membarrier(CMD_QUERY);
            supported >= 0
                && (supported as libc::c_int) & wanted == wanted
                && membarrier(CMD_REGISTER_PRIVATE_EXPEDITED) == 0
        }

        pub(super) fn barrier() {
            if membarrier(CMD_PRIVATE_EXPEDITED) != 0 {
                // The kernel fails this command only for a process that never
                // registered, and registration is never undone (it survives fork, and
                // exec resets this static too). If it failed anyway, light fences that
                // relied on it could have lost a wake-up: stopping is the only safe way.
                std::process::abort();
            }
        }
    }

    #[cfg(not(all(target_os = "linux", not(miri))))]
    mod membarrier {
        pub(super) fn available() -> bool {
            false
        }
        pub(super) fn prepare() -> bool {
            false
        }
        pub(super) fn barrier() {}
    }

    /// Whether `RINGLINK_FENCE=seqcst` asks for the `fence(SeqCst)` pair; read once, by
    /// the registration.
    #[cfg(all(target_os = "linux", not(miri)))]
    fn fallback_forced() -> bool {
        std::env::var_os("RINGLINK_FENCE").is_some_and(|value| value == "seqcst")
    }

    /// Decides, once per process, which fences [`light_fence`] and [`heavy_fence`] are.
    /// Called when a channel or a service is made, so that the hot path finds the
    /// decision cached.
    pub(crate) fn prepare_fences() {
        membarrier::prepare();
    }

    /// Which pair this process uses: `"membarrier"` or `"seqcst"` (decides it if no
    /// channel has yet).
    pub(crate) fn fence_kind() -> &'static str {
        if membarrier::prepare() {
            "membarrier"
        } else {
            "seqcst"
        }
    }

    /// The waker's half of the asymmetric barrier: orders the stores before it with the
    /// loads after it, provided the other thread uses [`heavy_fence`].
    #[inline(always)]
    pub(crate) fn light_fence() {
        if membarrier::available() {
            compiler_fence(Ordering::SeqCst);
        } else {
            fence(Ordering::SeqCst);
        }
    }

    /// The sleeper's half of the asymmetric barrier; slow (a system call that interrupts
    /// the process's other running threads) when `membarrier` is used.
    pub(crate) fn heavy_fence() {
        if membarrier::prepare() {
            membarrier::barrier();
        } else {
            fence(Ordering::SeqCst);
        }
    }
}

pub(crate) use imp::*;
