//! ringlink moves messages between threads through lock-free single-producer /
//! single-consumer ring buffers.
//!
//! - [`ring`]: the non-blocking core, [`ring::RingBuffer`] with its [`ring::Producer`]
//!   and [`ring::Consumer`] halves.
#![warn(missing_docs, missing_debug_implementations, unsafe_op_in_unsafe_fn)]

mod sync;

pub mod ring;
