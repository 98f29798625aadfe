//! The one place that names atomics, `UnsafeCell`, `Arc` and thread parking.
//!
//! Normally these are std's. Under `--cfg loom` they are loom's, so the loom models in
//! `loom-tests/` explore every interleaving of the very same algorithm text. No other
//! file in the crate mentions loom.

#[cfg(not(loom))]
mod imp {
    pub(crate) use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    pub(crate) use std::sync::Arc;

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
    pub(crate) use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    pub(crate) use loom::sync::Arc;
}

#[allow(unused_imports)]
pub(crate) use imp::*;

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
