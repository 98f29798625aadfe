//! The hand-over of a rendezvous channel (`bound == 0`).
//!
//! Nothing may wait in the buffer, so a value moves only when both sides are there. The
//! state word (an `AtomicUsize` the halves share) says who is waiting for whom; the value itself goes
//! through the channel's ring (capacity 1) once a sender has been paired with a
//! receiver.
//!
//! ```text
//!            receiver enters recv             sender enters send
//!   IDLE ───────────────────────▶ RECEIVER_WAITING      IDLE ────────────────▶ SENDER_WAITING
//!    ▲  ◀─── receiver times out ───┘  │                  ▲ ◀── sender times out ──┘  │
//!    │                      sender claims (CAS)          │              receiver claims (CAS)
//!    │                                ▼                  │                           ▼
//!    └──────── receiver popped the value ◀──────────── CLAIMED ──▶ sender pushes the value
//! ```
//!
//! Invariants:
//! - Only the receiver moves the state to `RECEIVER_WAITING` or back to `IDLE`; only the
//!   sender moves it to `SENDER_WAITING`. Either claims the other by compare-exchange,
//!   and withdraws its own announcement by compare-exchange: so a claim and a
//!   withdrawal never both succeed, and a side whose withdrawal fails has been claimed
//!   and must complete the hand-over (nothing is lost or stranded).
//! - "The sender" is one thread at a time: the one sender, or, once the channel has been
//!   cloned, the sender holding the `turn` (taken by compare-exchange, given back after
//!   its hand-over or withdrawal, so the state is `IDLE` or `RECEIVER_WAITING` between
//!   turns).
//! - Once `CLAIMED`, the sender pushes exactly one value, and the receiver pops it and
//!   then stores `IDLE`. The ring is empty whenever the state is not `CLAIMED`.
//! - A side that claims or is claimed cannot be dropped before the hand-over completes
//!   (it is inside `send`/`recv`), so disconnection is only ever seen in `IDLE` or in
//!   the other side's own announcement.
//! - Each state change that the other side may be sleeping on is followed by
//!   `Waits::wake_strong` (a `notify_strong` of the other side's wait slot).

use crate::end::{PushHalf, RecvEnd, SendEnd, Waits};
use crate::error::{RecvError, RecvTimeoutError, SendTimeoutError};
use crate::ring::Consumer;
use crate::sync::Ordering::{Acquire, Relaxed, Release};
use crate::sync::{AtomicBool, AtomicUsize};
use crate::wait::Deadline;

/// What the halves of a rendezvous channel share besides the ring.
#[derive(Debug)]
pub(super) struct Rendezvous {
    /// Who waits for whom (the states below).
    state: AtomicUsize,
    /// Held by the sender that plays "the sender" of the state machine, once the channel
    /// has several (see [`send_shared`]); unused while it has one.
    turn: AtomicBool,
}

impl Rendezvous {
    pub(super) fn new() -> Self {
        Rendezvous {
            state: AtomicUsize::new(IDLE),
            turn: AtomicBool::new(false),
        }
    }
}

/// Nobody waits; the ring is empty.
const IDLE: usize = 0;
/// The receiver waits in `recv` for a sender to claim it.
const RECEIVER_WAITING: usize = 1;
/// The sender waits in `send` (holding its value) for a receiver to claim it.
const SENDER_WAITING: usize = 2;
/// A sender and a receiver are paired; the value is on its way through the ring.
const CLAIMED: usize = 3;

/// `send`, `try_send` (`Deadline::Now`; `Timeout` then means full) and `send_timeout`,
/// for the one sender of a channel.
///
/// Never inlined: the halves' `send` and `recv` branch here from their fast path, which
/// must stay small enough to be inlined into the caller's loop.
#[cold]
#[inline(never)]
pub(super) fn send<P: PushHalf>(
    rendezvous: &Rendezvous,
    end: &mut SendEnd<P>,
    value: P::Item,
    deadline: Deadline,
) -> Result<(), SendTimeoutError<P::Item>> {
    send_one(&rendezvous.state, end, value, deadline)
}

/// [`send`] for one of several senders: the senders take turns (the `turn` flag, a lock
/// that waits on the senders' shared wait slot, with the send's deadline), so that the
/// state machine still sees one sender at a time.
#[cold]
#[inline(never)]
pub(super) fn send_shared<P: PushHalf>(
    rendezvous: &Rendezvous,
    end: &mut SendEnd<P>,
    value: P::Item,
    deadline: Deadline,
) -> Result<(), SendTimeoutError<P::Item>> {
    let (producer, waits) = end.parts();
    let turn = &rendezvous.turn;
    let taken = waits.wait_until(deadline, || {
        if producer.is_abandoned() {
            Some(false)
        } else {
            // `Acquire`: what the last turn did to the state happens before this one
            // looks at it (pairs with the `Release` store that ended it).
            // mutant(loom_mpsc_shared): rendezvous turn taken: Acquire -> Relaxed => turn.compare_exchange(false, true, Relaxed, Relaxed)
            turn.compare_exchange(false, true, Acquire, Relaxed)
                .is_ok()
                .then_some(true)
        }
    });
    match taken {
        Some(true) => {}
        Some(false) => return Err(SendTimeoutError::Disconnected(value)),
        None => return Err(SendTimeoutError::Timeout(value)),
    }
    let sent = send_one(&rendezvous.state, end, value, deadline);
    // Ends the turn (pairs with the next taker's `Acquire`), then wakes the senders
    // waiting for it: they sleep where this one does.
    // mutant(loom_mpsc_shared): rendezvous turn given back: Release -> Relaxed => turn.store(false, Relaxed);
    turn.store(false, Release);
    // mutant(loom_mpsc_shared): rendezvous: the end of a turn wakes no waiting sender =>
    end.parts().1.wake_peers();
    sent
}

fn send_one<P: PushHalf>(
    state: &AtomicUsize,
    end: &mut SendEnd<P>,
    value: P::Item,
    deadline: Deadline,
) -> Result<(), SendTimeoutError<P::Item>> {
    let (producer, waits) = end.parts();
    loop {
        if producer.is_abandoned() {
            return Err(SendTimeoutError::Disconnected(value));
        }
        match state.load(Relaxed) {
            RECEIVER_WAITING => {
                // `Acquire`: the receiver's last pop, released by its `IDLE` store (and
                // carried by its later compare-exchanges, all in that release sequence),
                // happens before the push in `hand_over`, which so finds the slot free.
                if state
                    // mutant(loom_mpsc): rendezvous claim of a waiting receiver: Acquire -> Relaxed => .compare_exchange(RECEIVER_WAITING, CLAIMED, Relaxed, Relaxed)
                    .compare_exchange(RECEIVER_WAITING, CLAIMED, Acquire, Relaxed)
                    .is_ok()
                {
                    hand_over(state, producer, waits, value);
                    return Ok(());
                }
                // The receiver withdrew (timed out): look again.
            }
            IDLE => {
                if deadline == Deadline::Now {
                    return Err(SendTimeoutError::Timeout(value));
                }
                // `Acquire`, as for the claim above: every later push of this send comes
                // after the receiver's last pop.
                if state
                    // mutant(loom_mpsc): rendezvous sender announcement: Acquire -> Relaxed => .compare_exchange(IDLE, SENDER_WAITING, Relaxed, Relaxed)
                    .compare_exchange(IDLE, SENDER_WAITING, Acquire, Relaxed)
                    .is_err()
                {
                    continue; // a receiver announced itself first: claim it
                }
                let claimed = wait_to_be_claimed(state, producer, waits, deadline);
                // Withdraw, unless a receiver claimed us meanwhile: it now waits for the
                // value, which must then go to it whatever the clock says.
                if claimed != Some(true)
                    && state
                        .compare_exchange(SENDER_WAITING, IDLE, Relaxed, Relaxed)
                        .is_ok()
                {
                    return Err(match claimed {
                        None => SendTimeoutError::Timeout(value),
                        _ => SendTimeoutError::Disconnected(value),
                    });
                }
                hand_over(state, producer, waits, value);
                return Ok(());
            }
            other => unreachable!("rendezvous: sender found state {other}"),
        }
    }
}

/// Waits in `SENDER_WAITING`: `Some(true)` once claimed, `Some(false)` if the receiver
/// is gone, `None` at the deadline.
fn wait_to_be_claimed<P: PushHalf>(
    state: &AtomicUsize,
    producer: &P,
    waits: &Waits,
    deadline: Deadline,
) -> Option<bool> {
    waits.wait_until(deadline, || {
        if state.load(Relaxed) == CLAIMED {
            Some(true)
        } else if producer.is_abandoned() {
            Some(false)
        } else {
            None
        }
    })
}

/// The sender's side of a claimed hand-over: push the value, wake the receiver, wait
/// until it has taken the value.
fn hand_over<P: PushHalf>(state: &AtomicUsize, producer: &mut P, waits: &Waits, value: P::Item) {
    if producer.push(value).is_err() {
        unreachable!("rendezvous: the ring holds a value outside a hand-over");
    }
    waits.wake_strong();
    // The claimed receiver is inside `recv`, committed to pop this value and then store
    // `IDLE`; it cannot be dropped before, so this wait ends.
    waits.wait_until(Deadline::Never, || {
        (state.load(Relaxed) != CLAIMED).then_some(())
    });
}

/// `recv`, `try_recv` (`Deadline::Now`; `Timeout` then means empty) and `recv_timeout`.
/// Never inlined, as `send`.
#[cold]
#[inline(never)]
pub(super) fn recv<T>(
    rendezvous: &Rendezvous,
    end: &mut RecvEnd<Consumer<T>>,
    deadline: Deadline,
) -> Result<T, RecvTimeoutError> {
    let state = &rendezvous.state;
    // The receiver's transitions need no ordering but `finish`'s: the value itself comes
    // through the ring (`Release` push, `Acquire` pop).
    loop {
        match state.load(Relaxed) {
            SENDER_WAITING => {
                if state
                    .compare_exchange(SENDER_WAITING, CLAIMED, Relaxed, Relaxed)
                    .is_ok()
                {
                    end.parts().1.wake_strong();
                    return take(state, end);
                }
                // The sender withdrew (timed out): look again.
            }
            IDLE => {
                // Nothing can be in the ring outside a hand-over, so a gone sender means
                // nothing more will come.
                if end.is_disconnected() {
                    return Err(RecvTimeoutError::Disconnected);
                }
                if deadline == Deadline::Now {
                    return Err(RecvTimeoutError::Timeout);
                }
                if state
                    .compare_exchange(IDLE, RECEIVER_WAITING, Relaxed, Relaxed)
                    .is_err()
                {
                    continue; // a sender announced itself first: claim it
                }
                let outcome = wait_for_value(end, deadline);
                return match outcome {
                    Some(outcome) => finish(state, end, outcome),
                    // Withdraw, unless a sender claimed us meanwhile: then its value is on
                    // its way and must be taken, whatever the clock says.
                    None => {
                        match state.compare_exchange(RECEIVER_WAITING, IDLE, Relaxed, Relaxed) {
                            Ok(_) => Err(RecvTimeoutError::Timeout),
                            Err(_) => take(state, end),
                        }
                    }
                };
            }
            other => unreachable!("rendezvous: receiver found state {other}"),
        }
    }
}

/// The receiver's side of a claimed hand-over: wait for the value, untimed.
fn take<T>(state: &AtomicUsize, end: &mut RecvEnd<Consumer<T>>) -> Result<T, RecvTimeoutError> {
    // The claimed sender is inside `send`, committed to push; the poll also ends the
    // wait should the sender be gone after all, rather than hang.
    let outcome = wait_for_value(end, Deadline::Never);
    finish(state, end, outcome.unwrap_or(Err(RecvError)))
}

/// Waits until a value comes, or the sender is gone, or `deadline` passes.
fn wait_for_value<T>(
    end: &mut RecvEnd<Consumer<T>>,
    deadline: Deadline,
) -> Option<Result<T, RecvError>> {
    let (consumer, waits) = end.parts();
    waits.wait_until(deadline, || crate::end::poll(consumer, &|| false))
}

/// Ends a hand-over (or a wait ended by disconnection): back to `IDLE`, and wake a sender
/// that waits for the value to be taken.
fn finish<T>(
    state: &AtomicUsize,
    end: &mut RecvEnd<Consumer<T>>,
    outcome: Result<T, RecvError>,
) -> Result<T, RecvTimeoutError> {
    // `Release`: carries the pop to the sender's next push (see `send`).
    // mutant(loom_mpsc): rendezvous finish: IDLE store Release -> Relaxed => state.store(IDLE, Relaxed);
    state.store(IDLE, Release);
    end.parts().1.wake_strong();
    outcome.map_err(|RecvError| RecvTimeoutError::Disconnected)
}
