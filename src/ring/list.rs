//! The unbounded queue behind `mpsc::channel()`: a chain of fixed-size segments.
//!
//! STUB: the interface below is fixed (the channel is being built on it); the bodies are
//! being written on the `list` branch. Crate-internal; `#[doc(hidden)]`-public only so
//! that tests and loom models can reach it (`ringlink::__list`).
//!
//! Contract:
//! - [`list`] makes an empty queue: a [`ListProducer`] (one pusher, no locked
//!   instruction per push) and a [`ListConsumer`] (one popper).
//! - `push` never fails and never blocks: when the current segment is full the producer
//!   links a fresh segment (or the one spare segment the consumer kept), so a steady
//!   stream allocates nothing.
//! - [`ListProducer::into_shared`] upgrades the one producer into a
//!   [`SharedListProducer`] that any number of threads push through by `&self`
//!   (`Sync`); every value pushed before the upgrade is popped before any pushed after.
//!   Values pushed through the shared producer keep causal order: a push that happens
//!   before another is popped first.
//! - The consumer pops in order, frees a segment once it has left it (keeping at most
//!   one spare), so memory returns to about one segment after a burst is drained.
//! - Dropping the consumer marks the queue abandoned (`Release`, after its last pop) and
//!   drops at once the values ready then; dropping the producer (the shared one: when
//!   its last owner drops it) marks it abandoned after its last push. Whatever is left
//!   is dropped with the last half. Every value is dropped exactly once.
#![allow(
    dead_code,
    unused_variables,
    missing_docs,
    missing_debug_implementations
)]

use core::marker::PhantomData;

/// Makes an empty unbounded queue.
pub fn list<T>() -> (ListProducer<T>, ListConsumer<T>) {
    todo!("list branch")
}

/// The one pushing half of an unbounded queue.
pub struct ListProducer<T> {
    _marker: PhantomData<T>,
}

impl<T> ListProducer<T> {
    /// Pushes a value; never fails (allocates a segment when the current one is full).
    #[inline]
    pub fn push(&mut self, value: T) {
        todo!("list branch")
    }

    /// Whether the consumer is gone (`Acquire`: everything it did before is visible).
    #[inline]
    pub fn is_abandoned(&self) -> bool {
        todo!("list branch")
    }

    /// Turns this producer into one that many threads may push through.
    pub fn into_shared(self) -> SharedListProducer<T> {
        todo!("list branch")
    }
}

/// The pushing half after the upgrade: `Sync`, pushes by `&self`.
pub struct SharedListProducer<T> {
    _marker: PhantomData<T>,
}

impl<T> SharedListProducer<T> {
    /// Pushes a value; never fails.
    #[inline]
    pub fn push(&self, value: T) {
        todo!("list branch")
    }

    /// Whether the consumer is gone.
    #[inline]
    pub fn is_abandoned(&self) -> bool {
        todo!("list branch")
    }
}

/// The popping half of an unbounded queue.
pub struct ListConsumer<T> {
    _marker: PhantomData<T>,
}

impl<T> ListConsumer<T> {
    /// Pops the oldest value, or `None` when none is ready.
    #[inline]
    pub fn pop(&mut self) -> Option<T> {
        todo!("list branch")
    }

    /// Whether the producer (every shared owner, after an upgrade) is gone; once true,
    /// every value pushed is visible to `pop`.
    #[inline]
    pub fn is_abandoned(&self) -> bool {
        todo!("list branch")
    }
}
