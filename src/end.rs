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
use crate::ring::list::{ListConsumer, ListProducer};
use crate::ring::{Consumer, Producer, PushError};
use crate::sync::Arc;
use crate::wait::{Deadline, WaitSlot, WaitStrategy, WakeOnDrop};

/// A queue half that pushes: a ring's one producer, a producer of the unbounded list, or
/// one sender of a cloned channel (`mpsc::bias`).
pub(crate) trait PushHalf {
    /// What it pushes.
    type Item;
    /// Pushes, or hands the value back when there is no room (never, unbounded).
    fn push(&mut self, value: Self::Item) -> Result<(), Self::Item>;
    /// [`push`](PushHalf::push) for a send that may wait, and lingers for more room than
    /// one slot: a ring's producer hands the value back once it has filled the room it
    /// knew of, until the consumer has freed a batch ([`Producer::push_live_batched`]).
    #[inline(always)]
    fn push_batched(&mut self, value: Self::Item) -> Result<(), Self::Item> {
        self.push(value)
    }
    /// Whether a push could find room now; a hint for waiting, which a pusher that
    /// shares the queue may make stale at once.
    fn has_room(&self) -> bool;
    /// Whether [`push_batched`](PushHalf::push_batched) could go on now.
    fn has_room_for_batch(&self) -> bool {
        self.has_room()
    }
    /// Whether the consumer is gone; `Acquire`, as [`Producer::is_abandoned`].
    fn is_abandoned(&self) -> bool;
}

/// A queue half that pops: a ring's consumer or the unbounded list's.
pub(crate) trait PopHalf {
    /// What it pops.
    type Item;
    /// Whether pushers may wait for room (a bounded queue): then each pop wakes them if
    /// they sleep; otherwise nobody ever waits for a pop.
    const BOUNDED: bool;
    /// Pops the oldest value ready, if any.
    fn pop(&mut self) -> Option<Self::Item>;
    /// Whether every producer is gone; `Acquire`, as [`Consumer::is_abandoned`]: a pop
    /// after seeing it finds whatever was pushed.
    fn is_abandoned(&self) -> bool;
}

impl<T> PushHalf for Producer<T> {
    type Item = T;
    #[inline(always)]
    fn push(&mut self, value: T) -> Result<(), T> {
        Producer::push_live(self, value).map_err(|PushError::Full(value)| value)
    }
    #[inline(always)]
    fn push_batched(&mut self, value: T) -> Result<(), T> {
        Producer::push_live_batched(self, value).map_err(|PushError::Full(value)| value)
    }
    #[inline]
    fn has_room(&self) -> bool {
        self.slots() > 0
    }
    #[inline]
    fn has_room_for_batch(&self) -> bool {
        self.slots() >= self.refill_batch()
    }
    #[inline(always)]
    fn is_abandoned(&self) -> bool {
        Producer::is_abandoned(self)
    }
}

impl<T> PushHalf for ListProducer<T> {
    type Item = T;
    #[inline(always)]
    fn push(&mut self, value: T) -> Result<(), T> {
        ListProducer::push(self, value);
        Ok(())
    }
    #[inline]
    fn has_room(&self) -> bool {
        true
    }
    #[inline(always)]
    fn is_abandoned(&self) -> bool {
        ListProducer::is_abandoned(self)
    }
}

impl<T> PopHalf for Consumer<T> {
    type Item = T;
    const BOUNDED: bool = true;
    #[inline(always)]
    fn pop(&mut self) -> Option<T> {
        Consumer::pop(self).ok()
    }
    #[inline(always)]
    fn is_abandoned(&self) -> bool {
        Consumer::is_abandoned(self)
    }
}

impl<T> PopHalf for ListConsumer<T> {
    type Item = T;
    const BOUNDED: bool = false;
    #[inline(always)]
    fn pop(&mut self) -> Option<T> {
        ListConsumer::pop(self)
    }
    #[inline(always)]
    fn is_abandoned(&self) -> bool {
        ListConsumer::is_abandoned(self)
    }
}

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

    /// Spins a little while until `ready()`, where spinning helps (see
    /// [`WaitSlot::linger`]); then the caller waits as usual. Returns whether the
    /// strategy spins now.
    #[inline]
    pub(crate) fn linger(&self, ready: impl FnMut() -> bool) -> bool {
        self.sleep.linger(self.strategy, ready)
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

    /// Wakes the other threads that sleep where this end sleeps (the senders of a cloned
    /// channel), with a full fence: after a store that they may wait for.
    pub(crate) fn wake_peers(&self) {
        self.sleep.notify_strong();
    }

    /// The same waits for another end on the same side (a cloned sender): it sleeps
    /// where this one sleeps and wakes the same slot.
    pub(crate) fn share(&self) -> Waits {
        Waits::new(
            self.sleep.clone(),
            self.wake.slot_arc().clone(),
            self.strategy,
        )
    }
}

/// The producer end of a ring, with waiting.
#[derive(Debug)]
// mutant(loom_mpsc): a dropped sender wakes the receiver before its ring half is dropped => pub(crate) struct SendEnd<P> { waits: Waits, ring: P, batching: bool } #[allow(dead_code)] struct OldSendEnd<P> {
// (No loom_service twin: a client's `RecvEnd`, dropped after its `SendEnd`, rings the same
// doorbell after both ring halves are marked abandoned, so the order cannot show there.)
pub(crate) struct SendEnd<P> {
    ring: P,
    /// Declared after `ring`: see [`Waits::wake`].
    waits: Waits,
    /// Whether [`try_push_batched`](SendEnd::try_push_batched) batches: until a wait
    /// for room finds that this side's strategy does not spin now (see
    /// [`Waits::linger`]), and again once it does. A waiter that does not spin would
    /// take a free slot at once after its first try failed on a short batch, and pay
    /// the failed try on every send.
    batching: bool,
}

impl<P: PushHalf> SendEnd<P> {
    pub(crate) fn new(ring: P, waits: Waits) -> Self {
        SendEnd {
            ring,
            waits,
            batching: true,
        }
    }

    /// One try: pushes if the other side is there and the ring has room, then wakes the
    /// other side if it sleeps; hands the value back otherwise.
    #[inline(always)]
    pub(crate) fn try_push(&mut self, value: P::Item) -> Result<(), P::Item> {
        self.try_push_with::<false>(value)
    }

    /// [`try_push`](SendEnd::try_push) for the first try of a `send` without a deadline,
    /// with [`PushHalf::push_batched`]. A failure is no more than a reason to wait
    /// ([`send_slow`](SendEnd::send_slow)).
    #[inline(always)]
    pub(crate) fn try_push_batched(&mut self, value: P::Item) -> Result<(), P::Item> {
        self.try_push_with::<true>(value)
    }

    /// Both tries. (`BATCHED` a constant rather than the push passed as a function: a
    /// function passed on went through a `FnOnce` shim that was not inlined.)
    #[inline(always)]
    fn try_push_with<const BATCHED: bool>(&mut self, value: P::Item) -> Result<(), P::Item> {
        if self.ring.is_abandoned() {
            return Err(value);
        }
        let pushed = if BATCHED && self.batching {
            self.ring.push_batched(value)
        } else {
            self.ring.push(value)
        };
        match pushed {
            Ok(()) => {
                // After the push: a receiver (or server) going to sleep sees the value or
                // is woken.
                // mutant(loom_mpsc): send: no wake-up of the receiver after a push =>
                // mutant(loom_service): send: no doorbell ring after a request is pushed =>
                self.waits.wake();
                Ok(())
            }
            Err(value) => Err(value),
        }
    }

    /// Sends `value`, waiting for room until `deadline`; fails, handing it back, once the
    /// other side is gone (or `gone()` says so). With [`Deadline::Now`], `Timeout` means
    /// full.
    #[inline]
    pub(crate) fn send(
        &mut self,
        value: P::Item,
        deadline: Deadline,
        gone: impl Fn() -> bool,
    ) -> Result<(), SendTimeoutError<P::Item>> {
        if gone() {
            return Err(SendTimeoutError::Disconnected(value));
        }
        // mutant(loom_service): send, try_send: no doorbell ring after the first try's push => match (if self.ring.is_abandoned() { Err(value) } else { self.ring.push(value) }) {
        match self.try_push(value) {
            Ok(()) => Ok(()),
            Err(value) => self.send_slow(value, deadline, false, gone),
        }
    }

    /// [`send`](SendEnd::send) after a first try that failed; `batched` after a first
    /// try with [`try_push_batched`](SendEnd::try_push_batched), which this send then
    /// follows up on by lingering for a batch of room.
    #[inline(never)]
    pub(crate) fn send_slow(
        &mut self,
        mut value: P::Item,
        deadline: Deadline,
        batched: bool,
        gone: impl Fn() -> bool,
    ) -> Result<(), SendTimeoutError<P::Item>> {
        loop {
            // The last try failed: the other side is gone, or the ring was full.
            if self.ring.is_abandoned() || gone() {
                return Err(SendTimeoutError::Disconnected(value));
            }
            let ring = &self.ring;
            if batched {
                // A full ring, or too little room for a batch: the receiver has a ring's
                // worth of values to take meanwhile. Let it free a batch before taking
                // room again (see `Producer::push_live_batched`); any room will do after
                // that, so a receiver that stops taking values cannot hold this send up.
                self.batching = self
                    .waits
                    .linger(|| ring.has_room_for_batch() || ring.is_abandoned() || gone());
            }
            let ready = self.waits.wait_until(deadline, || {
                // Free slots first: a consumer's drop marks the ring abandoned before it
                // drains it, so a slot freed by the drain comes with the mark, and a send
                // blocked until then fails as it should. Any room: a wait that may sleep
                // must not wait for more room than a receiver may ever free.
                // mutant(loom_mpsc): send: a wait that may sleep waits for a batch of room => (ring.has_room_for_batch() || ring.is_abandoned() || gone()).then_some(())
                (ring.has_room() || ring.is_abandoned() || gone()).then_some(())
            });
            if ready.is_none() {
                return Err(SendTimeoutError::Timeout(value));
            }
            // A free slot or a disconnection: the try finds the slot just seen (only the
            // consumer frees slots), or fails on the mark.
            // mutant(loom_service): send after waiting for room: no doorbell ring after the push => value = match (if self.ring.is_abandoned() { Err(value) } else { self.ring.push(value) }) {
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
    /// (the rendezvous of `sync_channel(0)`) and for cloning a sender.
    pub(crate) fn parts(&mut self) -> (&mut P, &Waits) {
        (&mut self.ring, &self.waits)
    }

    /// The ring half and the waits, taken apart (to upgrade the half) without a wake-up.
    pub(crate) fn into_parts(self) -> (P, Waits) {
        (self.ring, self.waits)
    }
}

/// The consumer end of a ring, with waiting.
#[derive(Debug)]
// mutant(loom_mpsc): a dropped receiver wakes the sender before its ring half is dropped => pub(crate) struct RecvEnd<C> { waits: Waits, ring: C } #[allow(dead_code)] struct OldRecvEnd<C> {
pub(crate) struct RecvEnd<C> {
    ring: C,
    /// Declared after `ring`: see [`Waits::wake`].
    waits: Waits,
}

impl<C: PopHalf> RecvEnd<C> {
    pub(crate) fn new(ring: C, waits: Waits) -> Self {
        RecvEnd { ring, waits }
    }

    /// One try: pops a value if one is ready, then wakes the other side if it sleeps.
    #[inline(always)]
    pub(crate) fn try_pop(&mut self) -> Option<C::Item> {
        let value = self.ring.pop()?;
        // After the pop: a sender (or a server holding a reply) waiting for room sees it
        // or is woken. Nobody waits for room in an unbounded queue.
        if C::BOUNDED {
            // mutant(loom_mpsc): recv: no wake-up of the sender after a pop =>
            // mutant(loom_service): recv: no doorbell ring after a reply is popped =>
            self.waits.wake();
        }
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
    ) -> Result<C::Item, RecvTimeoutError> {
        match self.try_pop() {
            Some(value) => Ok(value),
            None => self.recv_slow(deadline, gone),
        }
    }

    /// [`recv`](RecvEnd::recv) after a first try that found nothing.
    #[inline(never)]
    pub(crate) fn recv_slow(
        &mut self,
        deadline: Deadline,
        gone: impl Fn() -> bool,
    ) -> Result<C::Item, RecvTimeoutError> {
        let ring = &mut self.ring;
        match self.waits.wait_until(deadline, || poll(ring, &gone)) {
            Some(Ok(value)) => {
                if C::BOUNDED {
                    // mutant(loom_mpsc): recv after a wait: no wake-up of the sender after the pop =>
                    // mutant(loom_service): recv after a wait: no doorbell ring after the pop =>
                    self.waits.wake();
                }
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
    pub(crate) fn parts(&mut self) -> (&mut C, &Waits) {
        (&mut self.ring, &self.waits)
    }
}

/// Pops a value; or, when the producer is gone (or `gone()`), the last value it pushed,
/// or the disconnection; `None` while the ring is empty and the producer there.
#[inline]
pub(crate) fn poll<C: PopHalf>(
    ring: &mut C,
    gone: &impl Fn() -> bool,
) -> Option<Result<C::Item, RecvError>> {
    match ring.pop() {
        Some(value) => Some(Ok(value)),
        // The producer marks the ring abandoned after its last push (`Release`; the load
        // is `Acquire`), so a pop after seeing the mark finds whatever was pushed last.
        // mutant(loom_mpsc): recv: no last pop after seeing the sender gone => None if ring.is_abandoned() || gone() => Some(Err(RecvError)),
        // mutant(loom_service): recv: no last pop after seeing the server gone => None if ring.is_abandoned() || gone() => Some(Err(RecvError)),
        None if ring.is_abandoned() || gone() => Some(ring.pop().ok_or(RecvError)),
        None => None,
    }
}
