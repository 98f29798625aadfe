//! The switch between std's and loom's concurrency types, and nothing else.
//!
//! Every other file takes its atomics, `UnsafeCell`, `Arc`, `Mutex` and thread parking
//! from here. Normally they are std's; under `--cfg loom` they are loom's, so the loom
//! models in `loom-tests/` explore every interleaving of the very same algorithm text.
//! It also owns the one way the crate locks a mutex ([`lock`]). No other file names loom, except the loom stand-ins of `fence.rs` and
//! `wait/placement.rs`.

#[cfg(not(loom))]
mod imp {
    pub(crate) use std::hint::spin_loop;
    pub(crate) use std::sync::atomic::{
        fence, AtomicBool, AtomicPtr, AtomicU8, AtomicUsize, Ordering,
    };
    pub(crate) use std::sync::{Arc, Mutex, MutexGuard};

    /// Thread handles and parking, as the wait layer uses them.
    pub(crate) mod thread {
        pub(crate) use std::thread::{current, park, park_timeout, yield_now, Thread, ThreadId};
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
    pub(crate) use loom::sync::atomic::{
        fence, AtomicBool, AtomicPtr, AtomicU8, AtomicUsize, Ordering,
    };
    pub(crate) use loom::sync::{Arc, Mutex, MutexGuard};

    /// loom's threads. loom has no timed park: a timed park is an untimed one here, so
    /// the models leave timeouts out (a model that waits for a timeout deadlocks).
    pub(crate) mod thread {
        pub(crate) use loom::thread::{current, park, yield_now, Thread, ThreadId};

        pub(crate) fn park_timeout(_timeout: std::time::Duration) {
            park();
        }
    }
}

#[allow(unused_imports)]
pub(crate) use imp::*;

/// Locks `mutex`, poisoned or not. Every lock in the crate guards state that each update
/// leaves consistent (a push, a swap, a flag) and is never held across user code, so a
/// poisoned lock is as good as a clean one.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
