//! ringlink moves messages between threads through lock-free single-producer /
//! single-consumer ring buffers.
//!
//! - [`ring`]: the non-blocking core, [`ring::RingBuffer`] with its [`ring::Producer`]
//!   and [`ring::Consumer`] halves, and [`ring::BoxRing`], a ring of boxes whose slot is
//!   one pointer, with a way to hand used boxes back for reuse.
//! - [`wait`]: how a blocked side waits for the other ([`wait::WaitStrategy`]).
//! - [`mpsc`]: a blocking channel that drops in for `std::sync::mpsc::sync_channel`
//!   (single producer), built on the ring.
//! - [`service`]: services on server threads of their own, and clients linked to them
//!   by duplex rings ([`service::ServiceManager`]).
//!
//! The layers, and what each may use, are described in `ARCHITECTURE.md`.
#![warn(missing_docs, missing_debug_implementations, unsafe_op_in_unsafe_fn)]

// Layers, bottom to top: each uses only those above it in this list.
mod sync;

mod fence;

pub mod ring;

pub mod wait;

mod end;

mod error;

pub mod mpsc;

pub mod service;

/// The unbounded queue behind `mpsc::channel()`, for tests and loom models only.
#[doc(hidden)]
pub use ring::list as __list;

/// Which fence pair the wake-up handshake of this process uses: `"membarrier"` (Linux's
/// asymmetric barrier) or `"seqcst"` (a full fence on both sides: other systems, Miri, or
/// `RINGLINK_FENCE=seqcst` set when the first channel or service was made). For tests.
#[doc(hidden)]
#[cfg(not(loom))]
pub fn __fence_kind() -> &'static str {
    fence::fence_kind()
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
