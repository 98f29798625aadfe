//! The blocking ends of a ring: a ring half, the wait slot it sleeps on, and the wait
//! slot of the other side, which it wakes.
//!
//! This is the one place where "try, announce, re-check, park" meets a ring: a channel's
//! sender and receiver ([`crate::mpsc`]) and a service client's request and reply rings
//! ([`crate::service`]) are each one of these ends. The handshake itself is the wait
//! layer's ([`crate::wait`]); what an end adds is *what* the sleeper looks at before it
//! parks (free slots, values, the other side gone) and *when* it wakes the other side
//! (after each push or pop, and when it is dropped).
//!
//! A caller may add a reason to give up of its own (`gone`): a service client gives up
//! when the manager has given up on its service. Channels pass `|| false`.

use crate::error::{RecvError, RecvTimeoutError, SendTimeoutError};
use crate::ring::{Consumer, Producer, PushError};
use crate::sync::Arc;
use crate::wait::{Deadline, WaitSlot, WaitStrategy, WakeOnDrop};

/// How an end waits and whom it wakes.
#[derive(Debug)]
pub(crate) struct Waits {
    /// Where this end sleeps; only the other side wakes it.
    sleep: Arc<WaitSlot>,
    strategy: WaitStrategy,
    /// Where the other side sleeps. Woken after each push or pop, and when this end is
    /// dropped: the end's ring half is declared before its `Waits`, so it is dropped
    /// first (marking the ring abandoned), even if dropping a value panics.
    wake: WakeOnDrop,
}

impl Waits {
    /// Sleeps on `sleep`, wakes `wake`.
    pub(crate) fn new(sleep: Arc<WaitSlot>, wake: Arc<WaitSlot>, strategy: WaitStrategy) -> Self {
        Waits {
            sleep,
            strategy,
            wake: WakeOnDrop::new(wake),
        }
    }

    /// Waits on this end's slot until `poll` is ready or `deadline` passes (see
    /// [`WaitSlot::wait_until`]).
    #[inline]
    pub(crate) fn wait_until<R>(
        &self,
        deadline: Deadline,
        poll: impl FnMut() -> Option<R>,
    ) -> Option<R> {
        self.sleep.wait_until(self.strategy, deadline, poll)
    }

    /// Wakes the other side if it sleeps: after a push or a pop it may be waiting for.
    #[inline(always)]
    pub(crate) fn wake(&self) {
        self.wake.slot().notify();
    }

    /// Wakes the other side with a full fence: for a store that no push or pop follows.
    pub(crate) fn wake_strong(&self) {
        self.wake.slot().notify_strong();
    }
}

/// The producer end of a ring, with waiting.
#[derive(Debug)]
// mutant(loom_mpsc): a dropped sender wakes the receiver before its ring half is dropped => pub(crate) struct SendEnd<T> { waits: Waits, ring: Producer<T> } #[allow(dead_code)] struct OldSendEnd<T> {
// (No loom_service twin: a client's `RecvEnd`, dropped after its `SendEnd`, rings the same
// doorbell after both ring halves are marked abandoned, so the order cannot show there.)
pub(crate) struct SendEnd<T> {
    ring: Producer<T>,
    /// Declared after `ring`: see [`Waits::wake`].
    waits: Waits,
}

impl<T> SendEnd<T> {
    pub(crate) fn new(ring: Producer<T>, waits: Waits) -> Self {
        SendEnd { ring, waits }
    }

    /// One try: pushes if the other side is there and the ring has room, then wakes the
    /// other side if it sleeps; hands the value back otherwise.
    #[inline(always)]
    pub(crate) fn try_push(&mut self, value: T) -> Result<(), T> {
        if self.ring.is_abandoned() {
            return Err(value);
        }
        match self.ring.push(value) {
            Ok(()) => {
                // After the push: a receiver (or server) going to sleep sees the value or
                // is woken.
                // mutant(loom_mpsc): send: no wake-up of the receiver after a push =>
                // mutant(loom_service): send: no doorbell ring after a request is pushed =>
                self.waits.wake();
                Ok(())
            }
            Err(PushError::Full(value)) => Err(value),
        }
    }

    /// Sends `value`, waiting for room until `deadline`; fails, handing it back, once the
    /// other side is gone (or `gone()` says so). With [`Deadline::Now`], `Timeout` means
    /// full.
    #[inline]
    pub(crate) fn send(
        &mut self,
        value: T,
        deadline: Deadline,
        gone: impl Fn() -> bool,
    ) -> Result<(), SendTimeoutError<T>> {
        if gone() {
            return Err(SendTimeoutError::Disconnected(value));
        }
        // mutant(loom_service): send, try_send: no doorbell ring after the first try's push => match (if self.ring.is_abandoned() { Err(value) } else { self.ring.push(value).map_err(|PushError::Full(value)| value) }) {
        match self.try_push(value) {
            Ok(()) => Ok(()),
            Err(value) => self.send_slow(value, deadline, gone),
        }
    }

    #[inline(never)]
    fn send_slow(
        &mut self,
        mut value: T,
        deadline: Deadline,
        gone: impl Fn() -> bool,
    ) -> Result<(), SendTimeoutError<T>> {
        loop {
            // The last try failed: the other side is gone, or the ring was full.
            if self.ring.is_abandoned() || gone() {
                return Err(SendTimeoutError::Disconnected(value));
            }
            let ring = &self.ring;
            let ready = self.waits.wait_until(deadline, || {
                // Free slots first: a consumer's drop marks the ring abandoned before it
                // drains it, so a slot freed by the drain comes with the mark, and a send
                // blocked until then fails as it should.
                (ring.slots() > 0 || ring.is_abandoned() || gone()).then_some(())
            });
            if ready.is_none() {
                return Err(SendTimeoutError::Timeout(value));
            }
            // A free slot or a disconnection: the try finds the slot just seen (only the
            // consumer frees slots), or fails on the mark.
            // mutant(loom_service): send after waiting for room: no doorbell ring after the push => value = match (if self.ring.is_abandoned() { Err(value) } else { self.ring.push(value).map_err(|PushError::Full(value)| value) }) {
            value = match self.try_push(value) {
                Ok(()) => return Ok(()),
                Err(value) => value,
            };
        }
    }

    /// Whether the consumer is gone.
    #[inline]
    pub(crate) fn is_disconnected(&self) -> bool {
        self.ring.is_abandoned()
    }

    /// The ring half and the waits, for hand-overs that need more than push-and-wake
    /// (the rendezvous of `sync_channel(0)`).
    pub(crate) fn parts(&mut self) -> (&mut Producer<T>, &Waits) {
        (&mut self.ring, &self.waits)
    }
}

/// The consumer end of a ring, with waiting.
#[derive(Debug)]
// mutant(loom_mpsc): a dropped receiver wakes the sender before its ring half is dropped => pub(crate) struct RecvEnd<T> { waits: Waits, ring: Consumer<T> } #[allow(dead_code)] struct OldRecvEnd<T> {
pub(crate) struct RecvEnd<T> {
    ring: Consumer<T>,
    /// Declared after `ring`: see [`Waits::wake`].
    waits: Waits,
}

impl<T> RecvEnd<T> {
    pub(crate) fn new(ring: Consumer<T>, waits: Waits) -> Self {
        RecvEnd { ring, waits }
    }

    /// One try: pops a value if one is ready, then wakes the other side if it sleeps.
    #[inline(always)]
    pub(crate) fn try_pop(&mut self) -> Option<T> {
        let value = self.ring.pop().ok()?;
        // After the pop: a sender (or a server holding a reply) waiting for room sees it
        // or is woken.
        // mutant(loom_mpsc): recv: no wake-up of the sender after a pop =>
        // mutant(loom_service): recv: no doorbell ring after a reply is popped =>
        self.waits.wake();
        Some(value)
    }

    /// Receives the next value, waiting until `deadline`; fails once the other side is
    /// gone (or `gone()` says so) and every value it pushed has been taken. With
    /// [`Deadline::Now`], `Timeout` means empty.
    #[inline]
    pub(crate) fn recv(
        &mut self,
        deadline: Deadline,
        gone: impl Fn() -> bool,
    ) -> Result<T, RecvTimeoutError> {
        match self.try_pop() {
            Some(value) => Ok(value),
            None => self.recv_slow(deadline, gone),
        }
    }

    #[inline(never)]
    fn recv_slow(
        &mut self,
        deadline: Deadline,
        gone: impl Fn() -> bool,
    ) -> Result<T, RecvTimeoutError> {
        let ring = &mut self.ring;
        match self.waits.wait_until(deadline, || poll(ring, &gone)) {
            Some(Ok(value)) => {
                // mutant(loom_mpsc): recv after a wait: no wake-up of the sender after the pop =>
                // mutant(loom_service): recv after a wait: no doorbell ring after the pop =>
                self.waits.wake();
                Ok(value)
            }
            Some(Err(RecvError)) => Err(RecvTimeoutError::Disconnected),
            None => Err(RecvTimeoutError::Timeout),
        }
    }

    /// Whether the producer is gone (values it pushed may still wait).
    #[inline]
    pub(crate) fn is_disconnected(&self) -> bool {
        self.ring.is_abandoned()
    }

    /// The ring half and the waits, for hand-overs that need more than pop-and-wake (the
    /// rendezvous of `sync_channel(0)`).
    pub(crate) fn parts(&mut self) -> (&mut Consumer<T>, &Waits) {
        (&mut self.ring, &self.waits)
    }
}

/// Pops a value; or, when the producer is gone (or `gone()`), the last value it pushed,
/// or the disconnection; `None` while the ring is empty and the producer there.
#[inline]
pub(crate) fn poll<T>(
    ring: &mut Consumer<T>,
    gone: &impl Fn() -> bool,
) -> Option<Result<T, RecvError>> {
    match ring.pop() {
        Ok(value) => Some(Ok(value)),
        // The producer marks the ring abandoned after its last push (`Release`; the load
        // is `Acquire`), so a pop after seeing the mark finds whatever was pushed last.
        // mutant(loom_mpsc): recv: no last pop after seeing the sender gone => Err(_) if ring.is_abandoned() || gone() => Some(Err(RecvError)),
        // mutant(loom_service): recv: no last pop after seeing the server gone => Err(_) if ring.is_abandoned() || gone() => Some(Err(RecvError)),
        Err(_) if ring.is_abandoned() || gone() => Some(ring.pop().map_err(|_| RecvError)),
        Err(_) => None,
    }
}
