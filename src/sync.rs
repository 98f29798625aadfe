//! The one place that names atomics, `UnsafeCell`, `Arc` and thread parking.
//!
//! Normally these are std's. Under `--cfg loom` they are loom's, so the loom models in
//! `loom-tests/` explore every interleaving of the very same algorithm text. No other
//! file in the crate mentions loom.

#[cfg(not(loom))]
mod imp {
    pub(crate) use std::hint::spin_loop;
    pub(crate) use std::sync::atomic::{fence, AtomicBool, AtomicPtr, AtomicUsize, Ordering};
    pub(crate) use std::sync::{Arc, Mutex, MutexGuard};

    /// Thread handles and parking, as the wait layer uses them.
    pub(crate) mod thread {
        pub(crate) use std::thread::{current, park, park_timeout, yield_now, Thread};
    }

    pub(crate) use super::fences::{heavy_fence, light_fence, prepare_fences};

    /// The CPU the calling thread runs on, where the OS tells without a system call
    /// (Linux's `sched_getcpu`, which glibc answers from the thread's rseq area or the
    /// vDSO).
    #[cfg(all(target_os = "linux", not(miri)))]
    #[inline]
    pub(crate) fn current_cpu() -> Option<usize> {
        // SAFETY: `sched_getcpu` takes no arguments and touches no memory of ours.
        let cpu = unsafe { libc::sched_getcpu() };
        usize::try_from(cpu).ok()
    }

    /// Elsewhere, where a thread runs is unknown.
    #[cfg(not(all(target_os = "linux", not(miri))))]
    #[inline]
    pub(crate) fn current_cpu() -> Option<usize> {
        None
    }

    /// Whether spinning can help a thread running on `cpu` that does not know where the
    /// thread it waits for runs: whether another CPU may run that thread meanwhile.
    ///
    /// Yes when waiters of this process have been seen on two CPUs or more (threads
    /// pinned to different CPUs each see one CPU only), or when the first thread to ask
    /// could run on more than one (`available_parallelism` honours `taskset` and cgroup
    /// quotas, so a process confined to one CPU never spins).
    pub(crate) fn spinning_helps(cpu: Option<usize>) -> bool {
        use std::sync::atomic::AtomicU64;
        use std::sync::OnceLock;
        /// One bit per CPU (modulo 64) on which a waiter of this process has run.
        static SEEN: AtomicU64 = AtomicU64::new(0);
        static PARALLEL: OnceLock<bool> = OnceLock::new();
        let mut seen = SEEN.load(Ordering::Relaxed);
        if let Some(cpu) = cpu {
            let bit = 1 << (cpu % 64);
            if seen & bit == 0 {
                seen = SEEN.fetch_or(bit, Ordering::Relaxed) | bit;
            }
        }
        seen.count_ones() > 1
            || *PARALLEL
                .get_or_init(|| std::thread::available_parallelism().is_ok_and(|n| n.get() > 1))
    }

    /// std's `UnsafeCell` behind loom's closure API, so one algorithm text fits both.
    #[derive(Debug)]
    #[repr(transparent)]
    pub(crate) struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

    impl<T> UnsafeCell<T> {
        #[inline(always)]
        pub(crate) const fn new(value: T) -> Self {
            UnsafeCell(std::cell::UnsafeCell::new(value))
        }

        /// Calls `f` with a pointer through which the cell may be read.
        #[inline(always)]
        pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
            f(self.0.get())
        }

        /// Calls `f` with a pointer through which the cell may be written.
        #[inline(always)]
        pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
            f(self.0.get())
        }
    }
}

#[cfg(loom)]
mod imp {
    pub(crate) use loom::cell::UnsafeCell;
    pub(crate) use loom::hint::spin_loop;
    pub(crate) use loom::sync::atomic::{fence, AtomicBool, AtomicPtr, AtomicUsize, Ordering};
    pub(crate) use loom::sync::{Arc, Mutex, MutexGuard};

    /// loom's threads. loom has no timed park: a timed park is an untimed one here, so
    /// the models leave timeouts out (a model that waits for a timeout deadlocks).
    pub(crate) mod thread {
        pub(crate) use loom::thread::{current, park, yield_now, Thread};

        pub(crate) fn park_timeout(_timeout: std::time::Duration) {
            park();
        }
    }

    /// The asymmetric pair guarantees what two `SeqCst` fences guarantee, and that is
    /// what the models check.
    pub(crate) fn light_fence() {
        fence(Ordering::SeqCst);
    }

    /// See [`light_fence`].
    pub(crate) fn heavy_fence() {
        fence(Ordering::SeqCst);
    }

    pub(crate) fn prepare_fences() {}

    /// Where a model's thread runs is unknown.
    pub(crate) fn current_cpu() -> Option<usize> {
        None
    }

    /// Spinning only multiplies the interleavings a model explores.
    pub(crate) fn spinning_helps(_cpu: Option<usize>) -> bool {
        false
    }
}

#[allow(unused_imports)]
pub(crate) use imp::*;

/// A store-load barrier split unevenly between two threads (a Dekker handshake).
///
/// A waker publishes data, then looks whether its peer announced it is parked; the
/// sleeper announces, then looks for data. Each side needs its store ordered before its
/// load (StoreLoad), or both can miss the other's store and the sleeper sleeps forever.
/// The waker does this on every message, the sleeper only before it parks, so the cost
/// goes to the sleeper: [`heavy_fence`] is Linux's `membarrier(PRIVATE_EXPEDITED)`, which
/// makes every running thread of the process execute a full barrier, and
/// [`light_fence`] need then only stop the compiler from reordering. The pair orders the
/// two sides' accesses as two `fence(SeqCst)` would. Where `membarrier` is not available
/// (other systems, an old kernel, a refused registration, Miri), both are
/// `fence(SeqCst)`.
#[cfg(not(loom))]
mod fences {
    use std::sync::atomic::{compiler_fence, fence, Ordering};

    #[cfg(all(target_os = "linux", not(miri)))]
    mod membarrier {
        use std::sync::OnceLock;

        const CMD_QUERY: libc::c_int = 0;
        const CMD_PRIVATE_EXPEDITED: libc::c_int = 1 << 3;
        const CMD_REGISTER_PRIVATE_EXPEDITED: libc::c_int = 1 << 4;

        /// Whether the process registered for expedited membarriers. Set once and never
        /// changed: a light fence that saw `true` relies on every later heavy fence being
        /// a `membarrier`.
        static REGISTERED: OnceLock<bool> = OnceLock::new();

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
            REGISTERED.get() == Some(&true)
        }

        /// Registers the process for expedited membarriers, once; returns whether heavy
        /// fences are `membarrier`s.
        pub(super) fn prepare() -> bool {
            *REGISTERED.get_or_init(register)
        }

        #[cold]
        fn register() -> bool {
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

    /// Decides, once per process, which fences [`light_fence`] and [`heavy_fence`] are.
    /// Called when a channel is made, so that its hot path finds the decision cached.
    pub(crate) fn prepare_fences() {
        membarrier::prepare();
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

/// Hides a doctest's body from a `--cfg loom` build of the library.
///
/// Doctests are compiled by rustdoc without `--cfg loom` but link the library as cargo
/// built it, so under `RUSTFLAGS="--cfg loom"` they would touch loom atomics outside a
/// loom model, which panics. Every runnable example starts with a hidden call to this
/// macro, which returns from the example's `main` in that build and does nothing
/// otherwise.
#[cfg(loom)]
#[doc(hidden)]
#[macro_export]
macro_rules! __skip_doctest_under_loom {
    () => {
        return;
    };
}

#[cfg(not(loom))]
#[doc(hidden)]
#[macro_export]
macro_rules! __skip_doctest_under_loom {
    () => {};
}
