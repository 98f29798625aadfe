//! loom models of the channel's wake-up handshakes: every interleaving (up to the
//! preemption bound) of the same code the channel runs, with `sync.rs` swapped to loom.
//!
//! A lost wake-up shows up as a deadlock: loom reports it when every thread is parked.
//! So each model keeps the half that could mask a lost wake-up alive (a half's `drop`
//! wakes the other side anyway) until the other side has finished waiting.
//!
//! Run: `RUSTFLAGS="--cfg loom" cargo test --release --test loom_mpsc`.
//! `.ci/mutants` applies, one at a time, the `// mutant(loom_mpsc)` markers in `src/`
//! (each removes a fence, a wake-up or a re-check these models guard, or weakens an
//! ordering) and checks that some model then fails.
#![cfg(loom)]

use loom::thread;
use ringlink::mpsc::{
    Builder, Receiver, RecvError, SendError, SyncSender, TryRecvError, TrySendError, WaitStrategy,
};

/// Channels that park at once: the models are about the parking handshake (spinning and
/// yielding only add interleavings that end in the same handshake).
fn channel<T>(bound: usize) -> (SyncSender<T>, Receiver<T>) {
    Builder::new()
        .with_wait_strategy(WaitStrategy::Park)
        .sync_channel(bound)
}

mod common;

/// Preemption bound 3 by default (`LOOM_MAX_PREEMPTIONS` overrides it).
fn model(f: impl Fn() + Sync + Send + 'static) {
    common::model(3, f);
}

/// The receiver parks on an empty channel while the sender pushes: the push's `notify`
/// (light fence, then a look at the flag) and the receiver's announcement (flag, heavy
/// fence, re-check) must not both miss each other.
#[test]
fn receiver_parked_on_empty_is_woken_by_a_send() {
    model(|| {
        let (tx, rx) = channel::<u32>(1);
        let sender = thread::spawn(move || {
            tx.send(1).unwrap();
            tx // kept alive: its drop would wake the receiver anyway
        });
        assert_eq!(rx.recv(), Ok(1));
        drop(sender.join().unwrap());
    });
}

/// The sender parks on a full channel (capacity 1, two values) while the receiver pops.
#[test]
fn sender_parked_on_full_is_woken_by_a_recv() {
    model(|| {
        let (tx, rx) = channel::<u32>(1);
        let sender = thread::spawn(move || {
            tx.send(1).unwrap();
            tx.send(2).unwrap();
            tx
        });
        assert_eq!(rx.recv(), Ok(1));
        assert_eq!(rx.recv(), Ok(2));
        // Kept alive until the sender is done: its drop would wake the sender anyway.
        drop(sender.join().unwrap());
        drop(rx);
    });
}

/// Dropping the sender wakes a receiver parked in `recv`, which first gets what was
/// sent, then `RecvError`.
#[test]
fn dropping_the_sender_wakes_a_parked_receiver() {
    model(|| {
        let (tx, rx) = channel::<u32>(1);
        let sender = thread::spawn(move || {
            tx.send(1).unwrap();
            drop(tx);
        });
        assert_eq!(rx.recv(), Ok(1));
        assert_eq!(rx.recv(), Err(RecvError));
        sender.join().unwrap();
    });
}

/// Dropping the receiver wakes a sender parked on a full channel, which gets its value
/// back (a lost wake-up would deadlock instead).
///
/// The send races with the drop, which drains the buffer: it must not take the slot the
/// drain freed, even when it sees that slot free before it has seen the receiver gone.
/// Nothing else frees the slot, so the send cannot succeed in any interleaving: with
/// std, too, a send succeeds only into a channel that still has its receiver.
#[test]
fn dropping_the_receiver_wakes_a_parked_sender() {
    model(|| {
        let (tx, rx) = channel::<u32>(1);
        tx.send(1).unwrap();
        let sender = thread::spawn(move || tx.send(2));
        drop(rx);
        assert_eq!(sender.join().unwrap(), Err(SendError(2)));
    });
}

/// Two rendezvous hand-overs: `send` returns only after the value is taken, and the
/// second hand-over finds the ring emptied by the first.
#[test]
fn rendezvous_hands_over_each_value() {
    model(|| {
        let (tx, rx) = channel::<u32>(0);
        let sender = thread::spawn(move || {
            tx.send(1).unwrap();
            tx.send(2).unwrap();
            tx
        });
        assert_eq!(rx.recv(), Ok(1));
        assert_eq!(rx.recv(), Ok(2));
        let tx = sender.join().unwrap();
        assert_eq!(
            rx.try_recv(),
            Err(TryRecvError::Empty),
            "nothing left behind"
        );
        drop(tx);
    });
}

/// A rendezvous `try_recv` takes the value of a sender parked in `send` (the sender
/// announced itself; the receiver claims it), and the sender's drop then disconnects.
#[test]
fn rendezvous_receiver_claims_a_waiting_sender() {
    model(|| {
        let (tx, rx) = channel::<u32>(0);
        let sender = thread::spawn(move || {
            tx.send(1).unwrap();
        });
        // `try_recv` succeeds only once the sender waits; `recv` covers the other order.
        let first = match rx.try_recv() {
            Ok(value) => value,
            Err(TryRecvError::Empty) => rx.recv().unwrap(),
            Err(TryRecvError::Disconnected) => panic!("the sender has not sent yet"),
        };
        assert_eq!(first, 1);
        assert_eq!(rx.recv(), Err(RecvError));
        sender.join().unwrap();
    });
}

/// Dropping the receiver wakes a sender waiting in a rendezvous `send` for a receiver.
#[test]
fn rendezvous_receiver_drop_wakes_a_waiting_sender() {
    model(|| {
        let (tx, rx) = channel::<u32>(0);
        let sender = thread::spawn(move || tx.send(1));
        drop(rx);
        assert_eq!(sender.join().unwrap(), Err(SendError(1)));
    });
}

/// The rendezvous hand-over with spinning sides: no fence of the parking handshake then
/// orders the receiver's pop before the sender's next push, only the state word does.
#[test]
fn rendezvous_hands_over_each_value_while_spinning() {
    model(|| {
        let (tx, rx) = Builder::new()
            .with_wait_strategy(WaitStrategy::Spin)
            .sync_channel::<u32>(0);
        let sender = thread::spawn(move || {
            tx.send(1).unwrap();
            tx.send(2).unwrap();
        });
        assert_eq!(rx.recv(), Ok(1));
        assert_eq!(rx.recv(), Ok(2));
        sender.join().unwrap();
    });
}

/// A receiver that polls with `try_recv` (no parking, no fence) gets every value sent
/// before the sender's drop, then `Disconnected`.
#[test]
fn polling_receiver_gets_every_value_before_disconnection() {
    model(|| {
        let (tx, rx) = channel::<u32>(2);
        let sender = thread::spawn(move || {
            tx.send(1).unwrap();
            drop(tx);
        });
        let mut received = Vec::new();
        loop {
            match rx.try_recv() {
                Ok(value) => received.push(value),
                Err(TryRecvError::Empty) => thread::yield_now(),
                Err(TryRecvError::Disconnected) => break,
            }
        }
        assert_eq!(received, [1]);
        sender.join().unwrap();
    });
}

/// A channel of `bound` holding 0, 1, ... `bound - 1`.
fn full_channel(bound: u32) -> (SyncSender<u32>, Receiver<u32>) {
    let (tx, rx) = channel(bound as usize);
    for value in 0..bound {
        tx.try_send(value).unwrap();
    }
    (tx, rx)
}

/// Takes `expected` from `rx` without waiting, and then finds it empty.
fn assert_holds_exactly(rx: &Receiver<u32>, expected: std::ops::Range<u32>) {
    for value in expected {
        assert_eq!(rx.try_recv(), Ok(value));
    }
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
}

/// A blocking send waits for a batch of free slots only while it spins, never while it
/// may sleep (see `Producer::push_live_batched`); `try_send` takes any free slot. A
/// 16-value channel refills in batches of two: with one slot free, both must still go
/// on, and the channel then holds exactly its bound.
#[test]
fn sends_take_a_single_freed_slot() {
    model(|| {
        let (tx, rx) = full_channel(16);
        assert_eq!(tx.try_send(16), Err(TrySendError::Full(16)));
        assert_eq!(rx.recv(), Ok(0));
        tx.try_send(16).unwrap();
        assert_eq!(tx.try_send(17), Err(TrySendError::Full(17)));
        assert_eq!(rx.recv(), Ok(1));
        // With nobody to free a batch, this send would sleep for ever if it waited for
        // one (loom reports the deadlock).
        tx.send(17).unwrap();
        assert_holds_exactly(&rx, 2..18);
    });
}

/// The same while the receiver takes a single value concurrently: the sender's
/// seventeenth send may find the ring full, or one slot free (too few for a batch), or
/// the receiver in the middle of its pop; it parks at most until that one slot is free.
#[test]
fn blocked_send_completes_when_the_receiver_frees_one_slot() {
    model(|| {
        let (tx, rx) = full_channel(16);
        let sender = thread::spawn(move || {
            tx.send(16).unwrap();
            tx // kept alive: its drop would wake the receiver anyway
        });
        assert_eq!(rx.recv(), Ok(0));
        let tx = sender.join().unwrap();
        assert_holds_exactly(&rx, 1..17);
        drop(tx);
    });
}
