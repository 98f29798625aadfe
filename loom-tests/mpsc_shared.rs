//! loom models of a channel with several senders: the upgrade of the first clone racing
//! with sends, receives and drops; senders parked together on a full channel; the
//! rendezvous senders' turns; disconnection by the last sender.
//!
//! Run: `RUSTFLAGS="--cfg loom" cargo test --release --test loom_mpsc_shared`. The
//! `// mutant(loom_mpsc)` markers and the ordering mutants of `src/ring/shared.rs` are
//! checked against these models too (the harness runs every `loom_mpsc*` target of a
//! marker's name: see `.ci/mutants`).
#![cfg(loom)]

use std::sync::Arc as StdArc;

use loom::cell::UnsafeCell;
use loom::sync::Arc;
use loom::thread;
use ringlink::mpsc::{
    Builder, Receiver, RecvError, SendError, SyncSender, TrySendError, WaitStrategy,
};

mod common;

/// Preemption bound 2 by default: these models run three threads (`LOOM_MAX_PREEMPTIONS`
/// overrides it).
fn model(f: impl Fn() + Sync + Send + 'static) {
    common::model(2, f);
}

fn channel<T>(bound: usize) -> (SyncSender<T>, Receiver<T>) {
    Builder::new()
        .with_wait_strategy(WaitStrategy::Park)
        .sync_channel(bound)
}

/// The first clone upgrades the ring while the receiver pops: a value sent before the
/// clone comes before every value sent after it, through either sender, and each
/// sender's values keep their order. Capacity 1 and four values, so the shared pushes
/// wrap around the ring and wait for the receiver to free the slot.
#[test]
fn values_sent_before_the_first_clone_come_first() {
    model(|| {
        let (tx, rx) = channel::<u32>(1);
        tx.send(1).unwrap();
        let tx2 = tx.clone();
        let second = thread::spawn(move || {
            tx2.send(20).unwrap();
            tx2.send(21).unwrap();
        });
        let first = thread::spawn(move || {
            tx.send(10).unwrap();
        });
        let got: Vec<u32> = rx.iter().collect();
        second.join().unwrap();
        first.join().unwrap();
        assert_eq!(
            got[0], 1,
            "the value from before the clone comes first: {got:?}"
        );
        let of_second: Vec<u32> = got.iter().copied().filter(|v| *v >= 20).collect();
        assert_eq!(
            of_second,
            [20, 21],
            "one sender's values keep their order: {got:?}"
        );
        assert_eq!(got.len(), 4, "nothing lost or duplicated: {got:?}");
    });
}

/// Two senders sleep together on a full channel (capacity 1): each pop must wake the
/// sleepers (all of them; one wins the slot, the other sleeps again), or one of them
/// sleeps forever. Both senders are kept alive until the receiver is done, so that no
/// drop's wake-up masks a lost one.
#[test]
fn senders_parked_together_on_a_full_channel_are_woken() {
    model(|| {
        let (tx, rx) = channel::<u32>(1);
        tx.send(0).unwrap();
        let tx2 = tx.clone();
        let a = thread::spawn(move || {
            tx.send(1).unwrap();
            tx
        });
        let b = thread::spawn(move || {
            tx2.send(2).unwrap();
            tx2
        });
        let mut got = [rx.recv().unwrap(), rx.recv().unwrap(), rx.recv().unwrap()];
        let keep = (a.join().unwrap(), b.join().unwrap());
        got.sort_unstable();
        assert_eq!(got, [0, 1, 2]);
        drop(keep);
    });
}

/// Dropping the receiver wakes every sender blocked on the full channel, and each gets
/// its own value back. Nothing but the receiver's drop frees the one slot, so no send
/// may succeed: a send that sees the slot freed by the drop's drain before it sees the
/// receiver gone must not take it (with std, too, a send succeeds only into a channel
/// that still has its receiver).
#[test]
fn dropping_the_receiver_wakes_every_blocked_sender() {
    model(|| {
        let (tx, rx) = channel::<u32>(1);
        tx.send(0).unwrap();
        let tx2 = tx.clone();
        let a = thread::spawn(move || tx.send(1));
        let b = thread::spawn(move || tx2.send(2));
        drop(rx);
        assert_eq!(a.join().unwrap(), Err(SendError(1)));
        assert_eq!(b.join().unwrap(), Err(SendError(2)));
    });
}

/// The channel disconnects when the last sender goes, not the first, and the receiver
/// gets every value sent before: a receiver parked on the empty channel must be woken by
/// the last drop and then find both values.
#[test]
fn the_last_sender_disconnects_after_every_value() {
    model(|| {
        let (tx, rx) = channel::<u32>(2);
        let tx2 = tx.clone();
        let a = thread::spawn(move || tx.send(1).unwrap());
        let b = thread::spawn(move || tx2.send(2).unwrap());
        let mut got = [rx.recv().unwrap(), rx.recv().unwrap()];
        got.sort_unstable();
        assert_eq!(got, [1, 2]);
        assert_eq!(rx.recv(), Err(RecvError));
        a.join().unwrap();
        b.join().unwrap();
    });
}

/// A rendezvous channel with two senders: they take turns, each value is handed over
/// once, and the turn's end wakes the sender that waits for it.
#[test]
fn rendezvous_senders_take_turns() {
    model(|| {
        let (tx, rx) = channel::<u32>(0);
        let tx2 = tx.clone();
        let a = thread::spawn(move || {
            tx.send(1).unwrap();
            tx
        });
        let b = thread::spawn(move || {
            tx2.send(2).unwrap();
            tx2
        });
        let mut got = [rx.recv().unwrap(), rx.recv().unwrap()];
        let keep = (a.join().unwrap(), b.join().unwrap());
        got.sort_unstable();
        assert_eq!(got, [1, 2]);
        drop(keep);
    });
}

/// A rendezvous `try_send` from one sender while another waits in `send`: it fails with
/// `Full` or hands its value over, and nothing is lost.
#[test]
fn rendezvous_try_send_beside_a_waiting_sender() {
    model(|| {
        let (tx, rx) = channel::<u32>(0);
        let tx2 = tx.clone();
        let a = thread::spawn(move || {
            tx.send(1).unwrap();
            tx
        });
        let tried = tx2.try_send(2);
        let first = rx.recv().unwrap();
        let keep = a.join().unwrap();
        match tried {
            Ok(()) => {
                let second = rx.recv().unwrap();
                let mut got = [first, second];
                got.sort_unstable();
                assert_eq!(got, [1, 2]);
            }
            Err(TrySendError::Full(2)) => assert_eq!(first, 1),
            Err(other) => panic!("unexpected {other:?}"),
        }
        drop((keep, tx2));
    });
}

/// Zero-sized values through shared senders: the claim of a position is their
/// publication, so it must carry what the sender did before (here, a write that the
/// receiver reads after `recv`; loom reports the race otherwise).
#[test]
fn a_zero_sized_send_through_a_clone_publishes_what_came_before() {
    model(|| {
        let (tx, rx) = channel::<()>(1);
        let tx2 = tx.clone();
        let data = Arc::new(UnsafeCell::new(0u32));
        let writer = {
            let data = data.clone();
            thread::spawn(move || {
                data.with_mut(|p| unsafe { *p = 7 });
                tx2.send(()).unwrap();
            })
        };
        rx.recv().unwrap();
        assert_eq!(data.with(|p| unsafe { *p }), 7);
        writer.join().unwrap();
        drop(tx);
    });
}

/// A clone made on one thread while the receiver is parked on the empty channel: the
/// clone's send must wake it.
#[test]
fn a_clone_wakes_a_parked_receiver() {
    model(|| {
        let (tx, rx) = channel::<u32>(1);
        let keep = StdArc::new(());
        let sender = thread::spawn(move || {
            let tx2 = tx.clone();
            tx2.send(5).unwrap();
            (tx, tx2)
        });
        assert_eq!(rx.recv(), Ok(5));
        drop(sender.join().unwrap());
        drop(keep);
    });
}

/// A send that happens after another, through another sender, comes after it: the
/// second sender must take the producer from the first (`mpsc::bias`), and either takes
/// it over (the owner has pushed since it got it) or turns it into the shared queue (it
/// has not). Both outcomes are reached here, and the one that takes over uses the
/// producer the owner just pushed through, so a taker that has not seen that push (a
/// missing `Release`/`Acquire` on the owner's busy flag, a missing fence) races with it
/// on the producer's state.
#[test]
fn a_send_after_another_through_another_sender_comes_after_it() {
    use loom::sync::atomic::{AtomicBool, Ordering};
    model(|| {
        let (tx, rx) = channel::<u32>(4);
        let tx2 = tx.clone();
        let sent = Arc::new(AtomicBool::new(false));
        let first = {
            let sent = sent.clone();
            thread::spawn(move || {
                tx.send(1).unwrap();
                sent.store(true, Ordering::Release);
                tx
            })
        };
        let second = thread::spawn(move || {
            let after = sent.load(Ordering::Acquire);
            tx2.send(if after { 2 } else { 3 }).unwrap();
            tx2
        });
        let senders = (first.join().unwrap(), second.join().unwrap());
        let got: Vec<u32> = rx.try_iter().collect();
        assert_eq!(got.len(), 2, "nothing lost or duplicated: {got:?}");
        if got.contains(&2) {
            assert_eq!(got, [1, 2], "a send after another comes after it");
        }
        drop(senders);
    });
}

/// Two senders push two values each at the same time, taking the producer from each
/// other: each sender's values keep their order, and none is lost or duplicated.
#[test]
fn senders_that_take_the_producer_from_each_other_lose_nothing() {
    model(|| {
        let (tx, rx) = channel::<u32>(4);
        tx.send(0).unwrap();
        let tx2 = tx.clone();
        let first = thread::spawn(move || {
            tx.send(10).unwrap();
            tx.send(11).unwrap();
            tx
        });
        let second = thread::spawn(move || {
            tx2.send(20).unwrap();
            tx2.send(21).unwrap();
            tx2
        });
        let mut got = vec![rx.recv().unwrap()];
        let senders = (first.join().unwrap(), second.join().unwrap());
        got.extend(rx.try_iter());
        assert_eq!(got.len(), 5, "nothing lost or duplicated: {got:?}");
        assert_eq!(got[0], 0);
        for (low, high) in [(10, 11), (20, 21)] {
            let mine: Vec<u32> = got
                .iter()
                .copied()
                .filter(|v| (low..=high).contains(v))
                .collect();
            assert_eq!(
                mine,
                [low, high],
                "one sender's values keep their order: {got:?}"
            );
        }
        drop(senders);
    });
}

/// The sender that owns the producer sends, then is dropped while another takes the
/// producer from it: the taker gets the producer (from the owner, or freed by its drop,
/// and then it must see the owner's push), the owner's token outlives the taker's look at
/// it, and the receiver gets both values.
#[test]
fn dropping_the_owner_while_another_sender_takes_the_producer() {
    model(|| {
        let (tx, rx) = channel::<u32>(2);
        let tx2 = tx.clone();
        let dropper = thread::spawn(move || {
            tx.send(1).unwrap();
            drop(tx);
        });
        let sender = thread::spawn(move || {
            tx2.send(2).unwrap();
        });
        dropper.join().unwrap();
        sender.join().unwrap();
        let mut got: Vec<u32> = rx.iter().collect();
        got.sort();
        assert_eq!(got, [1, 2]);
    });
}

/// The owner is dropped first; then two senders want the producer at once: one takes it
/// from `free()`, and the other may take it from that one before its first push. The
/// first must not touch the producer outside its pushes (a taker waits only while it is
/// busy), and both values arrive.
#[test]
fn two_senders_take_a_producer_freed_by_its_owners_drop() {
    model(|| {
        let (tx, rx) = channel::<u32>(2);
        let tx2 = tx.clone();
        let tx3 = tx.clone();
        drop(tx);
        let first = thread::spawn(move || tx2.send(1).unwrap());
        let second = thread::spawn(move || tx3.send(2).unwrap());
        first.join().unwrap();
        second.join().unwrap();
        let mut got: Vec<u32> = rx.iter().collect();
        got.sort();
        assert_eq!(got, [1, 2]);
    });
}
