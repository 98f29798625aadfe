//! The senders of a cloned channel: one of them owns the queue's one producer at a time.
//!
//! Most cloned channels have one sender sending at a time: a clone kept for later, a
//! worker that sends a burst and then computes, or several producers that share a CPU
//! and so take turns by time slice. A queue that every send claims a position in by a
//! compare-exchange (a locked instruction, which waits for the sender's earlier stores
//! to leave its store buffer) runs at a third to a quarter of the one-producer speed
//! even then. So after the first clone, the queue's one producer stays whole, and the
//! senders pass it around: the sender that owns it pushes as the one producer did, with
//! no locked instruction; another sender that wants to push takes it away first.
//!
//! The handshake that takes it away is a Dekker pair made uneven, as in
//! [`crate::fence`]. The owner, on every send: marks itself busy, [`light_fence`] (a
//! compiler fence when `membarrier` is available), checks that it still owns the
//! producer, pushes, marks itself idle (`Release`). The taker, rarely: marks the owner
//! word as being taken, [`heavy_fence`], then waits until the owner is idle (`Acquire`).
//! Either the owner's check sees the mark (it pushes nothing and goes to take the
//! producer back), or the taker sees it busy and waits for the push to end. Then the
//! taker owns the producer, and has seen every push before.
//!
//! Taking the producer costs a system call, so it pays only when owners keep it for a
//! while. When [`SHORT_RUNS`] takings in a row find that the owner taken from pushed
//! fewer than [`MIN_RUN`] values and held the producer for less time than the taking
//! took, the senders are sending at
//! the same time: the last taker turns the producer into the shared queue (where each
//! send claims its position with a compare-exchange), and the channel stays shared from
//! then on.
//!
//! Order, both ways: a push that happens before another (through the same sender, or
//! through senders ordered by something else) comes first, because pushes into the one
//! producer are done by one owner at a time and each owner has seen every push before
//! its own (the `Release`/`Acquire` pair on the busy flag, and on the owner word); and
//! the upgrade to the shared queue moves nothing (see `ring::shared`). The bound stays
//! exact: it is the one queue's.

use core::fmt;
use core::ptr::{self, NonNull};

use crossbeam_utils::CachePadded;

use super::flavor::Upgrade;
use crate::end::PushHalf;
use crate::fence::{heavy_fence, light_fence};
use crate::sync::Ordering::{AcqRel, Acquire, Relaxed, Release};
use crate::sync::{spin_loop, thread, Arc, AtomicBool, AtomicPtr, UnsafeCell};

// Each `Release`/`Acquire` below is weakened to `Relaxed` in turn by `.ci/mutants`:
// mutants(loom_mpsc_shared): orderings

/// How many values an owner must have pushed since it got the producer for a taker to
/// take the producer over rather than turn it into the shared queue. A taking costs a
/// `membarrier`: 20 µs on the 2-vCPU development VM (it interrupts the other CPUs
/// through the hypervisor), where 4096 pushes at one-producer speed take 35–40 µs.
/// (Under loom, 1: the models reach both outcomes with a few values.)
#[cfg(not(loom))]
const MIN_RUN: usize = 4096;
#[cfg(loom)]
const MIN_RUN: usize = 1;

/// When an owner got the producer, or a taker marked the word (nothing under loom, which
/// has no clock: the models go by pushes alone).
#[cfg(not(loom))]
type Since = std::time::Instant;
#[cfg(loom)]
type Since = ();

/// Now, as a [`Since`].
fn now() -> Since {
    #[cfg(not(loom))]
    return std::time::Instant::now();
}

/// Whether the owner held the producer (from `since` to `marked`, when the taker marked
/// the word) at least as long as the taking then took (from `marked` to now: the
/// `membarrier` and the wait for the owner's push). Then taking turns costs at most half
/// the time, which still beats a compare-exchange per send (a quarter of the speed), and
/// an owner that waited for room in a full channel, or sent now and then, counts as taking
/// turns however few values it pushed.
#[cfg(not(loom))]
fn held_long(since: Since, marked: Since) -> bool {
    marked.saturating_duration_since(since) >= marked.elapsed()
}
#[cfg(loom)]
fn held_long(_: Since, _: Since) -> bool {
    false
}

/// How many takings in a row must find a short run (fewer than [`MIN_RUN`] values, held
/// for less time than the taking took: see [`held_long`]) before the
/// producer becomes the shared queue. More than one: a run is short now and then even
/// when senders take turns (the first taking after the clone, a sender that found the
/// queue full and waited). (Under loom, 1.)
#[cfg(not(loom))]
const SHORT_RUNS: u32 = 8;
#[cfg(loom)]
const SHORT_RUNS: u32 = 1;

/// The owner word when no sender owns the producer (its owner was dropped).
fn free() -> *mut Token {
    ptr::null_mut()
}

/// The owner word once the producer has become the shared queue; never changes again.
/// (An address no token has, never dereferenced.)
fn shared() -> *mut Token {
    ptr::null_mut::<u8>().wrapping_add(2).cast()
}

/// The owner word while a taker takes the producer from `owner`: its name with the low
/// bit set. (A name is the address of a 128-byte aligned [`Token`]: its low bits are
/// clear, and it is never `free()` or `shared()`.) Pointer arithmetic, so that the word
/// keeps the token's provenance.
fn taking(owner: *mut Token) -> *mut Token {
    owner.cast::<u8>().wrapping_add(1).cast()
}

/// Whether the owner word is being taken (see [`taking`]).
fn is_taking(owner: *mut Token) -> bool {
    owner as usize & 1 != 0
}

/// What the senders of one channel share.
struct Cell<S: Upgrade> {
    /// `free()`, `shared()`, or the name of the sender that owns the producer (marked by
    /// [`taking`] while another sender takes it away). Changed only by compare-exchange,
    /// but for the taker's final store.
    owner: CachePadded<AtomicPtr<Token>>,
    /// The one producer: used only by the owner (through `&mut`); `None` once it has
    /// become the shared queue.
    one: UnsafeCell<One<S>>,
    /// The shared queue, and the view that each sender copies when it first pushes:
    /// written once, by the sender that makes it, before the `Release` store of
    /// `shared()`; then only read (through `&`), by senders that saw `shared()`. A cell of
    /// its own, so that a reference to it never overlaps one to the producer.
    many: UnsafeCell<Option<(S::Shared, S::View)>>,
    /// Room and the consumer, for any sender at any time.
    probe: S::Probe,
}

/// The one producer, its position when its owner got it, and how many takings in a row
/// found a short run.
struct One<S> {
    producer: Option<S>,
    granted: usize,
    since: Since,
    short: u32,
}

// SAFETY: the one producer is reached by one sender at a time (the owner protocol
// above), and the shared queue only through `&` once it is made; so sharing the cell
// moves the producer between threads (`S: Send`) and shares the shared queue
// (`S::Shared: Sync`).
unsafe impl<S: Upgrade + Send> Sync for Cell<S>
where
    S::Shared: Send + Sync,
    S::View: Send,
    S::Probe: Send + Sync,
{
}
// SAFETY: as for `Sync`: the cell owns the producer or the shared queue.
unsafe impl<S: Upgrade + Send> Send for Cell<S>
where
    S::Shared: Send + Sync,
    S::View: Send,
    S::Probe: Send + Sync,
{
}

/// A sender's busy flag; its address names the sender in the owner word.
#[repr(align(128))]
struct Token {
    /// Set while the sender may push into the one producer (see the module).
    busy: AtomicBool,
}

/// One sender of a cloned channel: a [`PushHalf`] that pushes through the one producer
/// when it owns it, and through the shared queue once there is one.
pub(crate) struct Biased<S: Upgrade> {
    cell: Arc<Cell<S>>,
    /// A boxed [`Token`], held as a raw pointer: the sender moves, its name must not, and
    /// other senders read the flag through the name (a `Box` would claim it unique).
    /// Freed by the drop.
    token: NonNull<Token>,
    /// This sender's view of the shared queue, once the channel has one.
    view: Option<S::View>,
    /// Whether this sender took the producer (or was made owning it) and has not yet
    /// found it taken away: the send path looks here before it looks at the owner word.
    /// Also a guard: only then does it trust a word that holds its name. Another sender
    /// whose token had the same address was dropped before this token was allocated (the
    /// allocator orders the two), so a load should never return that old name; `owned`
    /// makes the argument not rest on the allocator.
    owned: bool,
}

// SAFETY: the token is a box that this sender owns (others only load its atomic flag),
// and the cell is shared through an `Arc`, as `Cell`'s own impls allow.
unsafe impl<S: Upgrade> Send for Biased<S>
where
    Cell<S>: Send + Sync,
    S::View: Send,
{
}

impl<S: Upgrade> Biased<S> {
    /// The first sender of a cloned channel, owning the producer.
    pub(crate) fn new(producer: S) -> Self {
        let token = new_token();
        let granted = producer.position();
        let cell = Cell {
            owner: CachePadded::new(AtomicPtr::new(token.as_ptr())),
            probe: producer.probe(),
            one: UnsafeCell::new(One {
                producer: Some(producer),
                granted,
                since: now(),
                short: 0,
            }),
            many: UnsafeCell::new(None),
        };
        Biased {
            cell: Arc::new(cell),
            token,
            view: None,
            // This thread stored the name (in the cell it made).
            owned: true,
        }
    }

    /// Another sender of the same channel.
    pub(crate) fn share(&self) -> Self {
        Biased {
            cell: self.cell.clone(),
            token: new_token(),
            // This thread saw the view it copies (or got it from the thread that did).
            view: self.view,
            owned: false,
        }
    }

    /// Pushes through the one producer if this sender owns it (batched: see
    /// [`PushHalf::push_batched`]); `Err` hands the value back if it does not.
    #[inline(always)]
    fn push_owned(
        &mut self,
        value: S::Item,
        batched: bool,
    ) -> Result<Result<(), S::Item>, S::Item> {
        let me = self.token.as_ptr();
        // SAFETY: the token lives until this sender's drop.
        let busy = unsafe { &self.token.as_ref().busy };
        // Only this sender stores `true`; takers only load it.
        busy.store(true, Relaxed);
        // The owner's half of the handshake: the store above before the load below.
        // mutant(loom_mpsc_shared): bias: no StoreLoad fence between the owner's busy flag and its check =>
        light_fence();
        // `Relaxed`: called only while `owned`, so this sender stored its name itself and
        // the load returns that store or a later value (another's mark): nothing older.
        if self.cell.owner.load(Relaxed) != me {
            // Idle again; `Release`, as below: a taker that reads this store must also
            // see the pushes this sender made before.
            // not a mutant: loom follows C++11, where a later store by the same thread
            // continues the release sequence of the `Release` store after the last push,
            // so no model can tell; Rust's model (C++20) dropped that rule.
            busy.store(false, Release);
            self.owned = false;
            return Err(value);
        }
        let pushed = self.cell.one.with_mut(|one| {
            // SAFETY: this sender owns the producer and is busy: a taker waits until it is
            // idle before it touches the producer (see the module), and no other sender
            // pushes into it.
            match unsafe { &mut (*one).producer } {
                Some(producer) if batched => producer.push_batched(value),
                Some(producer) => producer.push(value),
                None => {
                    unreachable!("the owner word names a sender only while there is one producer")
                }
            }
        });
        // Hands this push to whoever takes the producer next (pairs with its `Acquire`
        // load of the flag).
        busy.store(false, Release);
        Ok(pushed)
    }

    /// Every push that is not the owner's: through the shared queue, or after taking the
    /// producer.
    #[cold]
    #[inline(never)]
    fn push_slow(&mut self, mut value: S::Item, batched: bool) -> Result<(), S::Item> {
        loop {
            if let Some(view) = &mut self.view {
                return self.cell.many.with(|many| {
                    // SAFETY: `view` is set only after the owner word said `shared()` (with
                    // `Acquire`, after the `Release` store that followed the upgrade), and
                    // the shared queue is never changed again, only pushed through by `&`.
                    match unsafe { &*many } {
                        Some((shared, _)) => S::push_shared(shared, view, value),
                        None => unreachable!("a view is made only once there is a shared queue"),
                    }
                });
            }
            self.take();
            if self.owned {
                value = match self.push_owned(value, batched) {
                    Ok(pushed) => return pushed,
                    // Taken away again in between; try again.
                    Err(value) => value,
                };
            }
        }
    }

    /// Returns once this sender owns the producer (it may lose it again at once) or has
    /// a view of the shared queue.
    fn take(&mut self) {
        let me = self.token.as_ptr();
        let owner = &self.cell.owner;
        let mut waited = 0;
        loop {
            // `Acquire`: pairs with the `Release` store or compare-exchange that wrote it
            // (a taker's, after it saw the last owner's pushes; a dropped owner's).
            let current = owner.load(Acquire);
            if current == shared() {
                let view = self.cell.many.with(|many| {
                    // SAFETY: as in `push_slow`: the shared queue is made and never changes.
                    match unsafe { &*many } {
                        Some((_, view)) => *view,
                        None => unreachable!(
                            "the owner word says shared() only once there is a shared queue"
                        ),
                    }
                });
                self.view = Some(view);
                return;
            }
            if current == me {
                if self.owned {
                    return;
                }
                // Not this sender's store (see `owned`): it could only be a dropped
                // sender's name at the same address. The compare-exchange reads the latest
                // value, and the load above then returns nothing older.
                // not a mutant: the exchange cannot succeed (only this sender stores its
                // name, and then it owns); were it to, the word would name this sender.
                if owner.compare_exchange(me, me, Acquire, Relaxed).is_ok() {
                    self.owned = true;
                    return;
                }
                continue;
            }
            if current == free() {
                // `Acquire`: pairs with the `Release` of the dropped owner's.
                // not a mutant: the load above already read `free()` with `Acquire`; only a
                // `free()` stored again in between (a third sender took the producer and
                // was dropped) needs this one, and that takes more threads than a model
                // can explore.
                if owner.compare_exchange(free(), me, Acquire, Relaxed).is_ok() {
                    // Owns it, and touches nothing more here: from this exchange on,
                    // another sender may take the producer from this one, and it waits
                    // only while this one is busy, in `push_owned`. (Miri found a version
                    // that set `granted` here racing with such a taker.) The run counted
                    // at the next taking includes the dropped owner's pushes.
                    // mutant(loom_mpsc_shared): bias: a sender that took the producer from free() writes to it before it is busy => self.cell.one.with_mut(|one| unsafe { (*one).granted = 0 }); self.owned = true;
                    self.owned = true;
                    return;
                }
                continue;
            }
            if is_taking(current) {
                // Another sender is taking it (from this one, perhaps): it waits only for
                // a push in flight, a few instructions.
                back_off(&mut waited);
                continue;
            }
            // Takes it from `current`. `AcqRel`: orders this with the owner's earlier
            // stores of the word, as the loads above.
            if owner
                .compare_exchange(current, taking(current), AcqRel, Relaxed)
                .is_err()
            {
                continue;
            }
            let marked = now();
            // The taker's half of the handshake: the mark above before the load below.
            // mutant(loom_mpsc_shared): bias: no StoreLoad fence between the taker's mark and its look at the busy flag =>
            heavy_fence();
            // SAFETY: the owner word named this token and is marked `taking`, so its sender
            // has not been dropped: a sender's drop waits while the word marks it taken.
            let token = unsafe { &*current };
            // `Acquire`: pairs with the owner's `Release` stores of `false`: its pushes,
            // and its producer's state, are this sender's to see.
            while token.busy.load(Acquire) {
                back_off(&mut waited);
            }
            let made = self.cell.one.with_mut(|one| {
                // SAFETY: the owner is idle and will find the word marked before it pushes
                // again: this sender alone reaches the producer until it stores the word.
                let one = unsafe { &mut *one };
                let Some(producer) = &one.producer else {
                    unreachable!("the owner word names a sender only while there is one producer")
                };
                let position = producer.position();
                if producer.pushed_since(one.granted) >= MIN_RUN || held_long(one.since, marked) {
                    one.short = 0;
                } else {
                    one.short += 1;
                }
                if one.short < SHORT_RUNS {
                    one.granted = position;
                    one.since = now();
                    None
                } else {
                    one.producer.take().map(Upgrade::into_shared)
                }
            });
            let keep = made.is_none();
            if let Some(made) = made {
                self.cell.many.with_mut(|many| {
                    // SAFETY: no sender reads the shared queue before the owner word says
                    // `shared()`, which this sender alone can store, below.
                    unsafe { *many = Some(made) };
                });
            }
            // Hands the producer, or the shared queue, on (pairs with the `Acquire` loads
            // of the word: the next taker's, or every sender's that finds it `shared()`).
            owner.store(if keep { me } else { shared() }, Release);
            if keep {
                self.owned = true;
                return;
            }
        }
    }
}

impl<S: Upgrade> Biased<S> {
    /// [`PushHalf::push`], or [`PushHalf::push_batched`] if `batched` (which the shared
    /// queue, where each push claims its own slot, does not batch).
    #[inline(always)]
    fn push_with(&mut self, value: S::Item, batched: bool) -> Result<(), S::Item> {
        if self.owned {
            match self.push_owned(value, batched) {
                Ok(pushed) => pushed,
                Err(value) => self.push_slow(value, batched),
            }
        } else {
            self.push_slow(value, batched)
        }
    }
}

impl<S: Upgrade> PushHalf for Biased<S> {
    type Item = S::Item;
    #[inline(always)]
    fn push(&mut self, value: S::Item) -> Result<(), S::Item> {
        self.push_with(value, false)
    }
    #[inline(always)]
    fn push_batched(&mut self, value: S::Item) -> Result<(), S::Item> {
        self.push_with(value, true)
    }
    #[inline]
    fn has_room(&self) -> bool {
        S::room(&self.cell.probe)
    }
    #[inline]
    fn has_room_for_batch(&self) -> bool {
        S::room_for_batch(&self.cell.probe)
    }
    #[inline(always)]
    fn is_abandoned(&self) -> bool {
        S::gone(&self.cell.probe)
    }
}

impl<S: Upgrade> Drop for Biased<S> {
    fn drop(&mut self) {
        let me = self.token.as_ptr();
        let owner = &self.cell.owner;
        let mut waited = 0;
        loop {
            // `Release`: the next sender to take the producer from `free()` sees this one's
            // pushes (pairs with its `Acquire`). `Acquire` when it fails: a taker that
            // looked at this sender's flag stored the word after it looked (`Release`), so
            // reading that store orders the look before the token is freed below.
            // not a mutant: loom does not see a box freed as a write that races with an
            // atomic load in it; Miri does (it found this one, in
            // `blocked_senders_on_threads_never_exceed_the_bound`).
            match owner.compare_exchange(me, free(), Release, Acquire) {
                Ok(_) => break,
                // A taker is looking at this sender's flag: the token must outlive that.
                // mutant(loom_mpsc_shared): bias: a dropped owner does not wait for its taker to look at its flag => Err(current) if current == taking(me) => break,
                Err(current) if current == taking(me) => back_off(&mut waited),
                Err(_) => break,
            }
        }
        // SAFETY: made by `new_token` for this sender alone; no taker looks at it any more
        // (the owner word no longer names it, and a taker looks only while it does).
        drop(unsafe { Box::from_raw(self.token.as_ptr()) });
    }
}

impl<S: Upgrade> fmt::Debug for Biased<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Biased")
            .field("shared", &self.view.is_some())
            .finish_non_exhaustive()
    }
}

/// A new sender's token, not busy.
fn new_token() -> NonNull<Token> {
    let token = Box::new(Token {
        busy: AtomicBool::new(false),
    });
    NonNull::from(Box::leak(token))
}

/// Waits a little for another sender that is a few instructions from done: spins, then
/// gives it the CPU (it may share this one).
fn back_off(waited: &mut u32) {
    if *waited < 64 {
        *waited += 1;
        spin_loop();
    } else {
        thread::yield_now();
    }
}
