//! ringlink moves messages between threads through lock-free single-producer /
//! single-consumer ring buffers.
//!
//! - [`ring`]: the non-blocking core, [`ring::RingBuffer`] with its [`ring::Producer`]
//!   and [`ring::Consumer`] halves.
//! - [`wait`]: how a blocked side waits for the other ([`wait::WaitStrategy`]).
//! - [`mpsc`]: a blocking channel that drops in for `std::sync::mpsc::sync_channel`
//!   (single producer), built on the ring.
//! - [`service`]: services on server threads of their own, and clients linked to them
//!   by duplex rings ([`service::ServiceManager`]).
#![warn(missing_docs, missing_debug_implementations, unsafe_op_in_unsafe_fn)]

mod sync;

pub mod ring;

pub mod wait;

pub mod mpsc;

pub mod service;
