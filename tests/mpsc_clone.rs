#![cfg(not(loom))]
//! Cloned senders (`SyncSender` and `Sender`) behave as std's: the channel disconnects
//! when the last sender goes, each sender keeps FIFO, order follows causality across
//! senders, `sync_channel(n)` bounds all clones together to exactly `n`, a rendezvous
//! stays one, and no value is lost, duplicated or leaked whatever is cloned or dropped
//! while values are in flight or halves are blocked. Also: every half is `Send`,
//! `UnwindSafe` and `RefUnwindSafe`.
//!
//! std's `std::sync::mpsc` is the reference: every test here passes on it too (switch
//! the `chan` module below to std to check).

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc as token;
use std::sync::Arc;
use std::thread;

mod common;
use common::{Ledger, Tracked, GRACE};

/// The channel under test, and how to make it with each wait strategy ("variant").
/// (To check a test against std, the reference: `pub use std::sync::mpsc::*;`,
/// `VARIANTS = 1`, and the functions calling std's constructors.)
mod chan {
    use super::common::STRATEGIES;
    pub use ringlink::mpsc::*;

    /// How many ways to make a channel there are: one per wait strategy.
    pub const VARIANTS: usize = STRATEGIES.len();

    pub fn sync_channel_variant<T>(variant: usize, bound: usize) -> (SyncSender<T>, Receiver<T>) {
        Builder::new()
            .with_wait_strategy(STRATEGIES[variant])
            .sync_channel(bound)
    }

    pub fn channel_variant<T>(variant: usize) -> (Sender<T>, Receiver<T>) {
        Builder::new()
            .with_wait_strategy(STRATEGIES[variant])
            .channel()
    }
}

/// The variants each test runs under (Miri: two, to keep it short).
fn variants() -> std::ops::Range<usize> {
    0..if cfg!(miri) {
        chan::VARIANTS.min(2)
    } else {
        chan::VARIANTS
    }
}

/// The variant for the `index`th channel of a test that takes turns instead of running
/// every channel under every variant (the heavy ones: spinning senders on two CPUs).
fn variant_in_turn(index: usize) -> usize {
    index % variants().len()
}

/// Which constructor a channel comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Unbounded,
    Bounded(usize),
}

/// Every kind: unbounded, rendezvous, tiny, odd, and a power of two.
const KINDS: [Kind; 5] = [
    Kind::Unbounded,
    Kind::Bounded(0),
    Kind::Bounded(1),
    Kind::Bounded(3),
    Kind::Bounded(64),
];

/// Either sender, so that one test body serves both.
enum Tx<T> {
    Bounded(chan::SyncSender<T>),
    Unbounded(chan::Sender<T>),
}

impl<T> Clone for Tx<T> {
    fn clone(&self) -> Self {
        match self {
            Tx::Bounded(tx) => Tx::Bounded(tx.clone()),
            Tx::Unbounded(tx) => Tx::Unbounded(tx.clone()),
        }
    }
}

impl<T> Tx<T> {
    fn send(&self, value: T) -> Result<(), chan::SendError<T>> {
        match self {
            Tx::Bounded(tx) => tx.send(value),
            Tx::Unbounded(tx) => tx.send(value),
        }
    }
}

fn make<T>(kind: Kind, variant: usize) -> (Tx<T>, chan::Receiver<T>) {
    match kind {
        Kind::Unbounded => {
            let (tx, rx) = chan::channel_variant(variant);
            (Tx::Unbounded(tx), rx)
        }
        Kind::Bounded(bound) => {
            let (tx, rx) = chan::sync_channel_variant(variant, bound);
            (Tx::Bounded(tx), rx)
        }
    }
}

/// splitmix64, seeded per test; the seed is printed so that a failure can be replayed
/// with `RINGLINK_SEED`.
struct Rng(u64);

impl Rng {
    fn new(test: &str) -> Self {
        let seed = match std::env::var("RINGLINK_SEED") {
            Ok(text) => text
                .parse()
                .unwrap_or_else(|_| panic!("RINGLINK_SEED must be a u64, got {text:?}")),
            Err(_) => RandomState::new().build_hasher().finish(),
        };
        eprintln!("{test}: RINGLINK_SEED={seed}");
        Rng(seed)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) % n
    }
}

/// Asserts that `got` is exactly `0..total`, in order; otherwise says where it broke.
fn assert_in_order(got: &[u64], total: u64, context: &str) {
    assert!(
        got.iter().copied().eq(0..total),
        "{context}: order broken at {:?} of {}",
        got.iter().zip(0..).find(|(v, i)| **v != *i),
        got.len()
    );
}

/// A value tagged with its sender and its place in that sender's stream.
fn tag(sender: u64, seq: u64) -> u64 {
    (sender << 32) | seq
}

fn untag(value: u64) -> (usize, u64) {
    ((value >> 32) as usize, value & 0xFFFF_FFFF)
}

// ---------------------------------------------------------------------------------
// Disconnection

/// Catches: a sender's drop that disconnects while other senders live (a flag instead
/// of a count, or a count the clone of a clone does not raise), and a last drop that
/// loses the values still buffered.
#[test]
fn the_channel_disconnects_only_when_the_last_sender_is_dropped() {
    for variant in variants() {
        for kind in [Kind::Unbounded, Kind::Bounded(4)] {
            let context = format!("{kind:?}, variant {variant}");
            let (tx, rx) = make::<u64>(kind, variant);
            let a = tx.clone();
            let b = a.clone(); // a clone of a clone counts too
            drop(tx);
            assert_eq!(rx.try_recv(), Err(chan::TryRecvError::Empty), "{context}");
            a.send(1).unwrap();
            drop(a);
            assert_eq!(rx.try_recv(), Ok(1), "{context}");
            assert_eq!(rx.try_recv(), Err(chan::TryRecvError::Empty), "{context}");
            assert_eq!(
                rx.recv_timeout(std::time::Duration::ZERO),
                Err(chan::RecvTimeoutError::Timeout),
                "{context}"
            );
            b.send(2).unwrap();
            let c = b.clone();
            drop(b);
            c.send(3).unwrap();
            assert_eq!(rx.try_recv(), Ok(2), "{context}");
            drop(c);
            // The last sender is gone: what it sent still arrives, then the end.
            assert_eq!(rx.recv(), Ok(3), "{context}");
            assert_eq!(rx.recv(), Err(chan::RecvError), "{context}");
            assert_eq!(
                rx.try_recv(),
                Err(chan::TryRecvError::Disconnected),
                "{context}"
            );
        }
    }
}

/// The receiver is blocked in `recv` while the senders are dropped one by one, each after
/// sending one value. Catches: a non-last drop that wakes the parked receiver with
/// `Disconnected` (it would miss the later values), and a last drop that does not wake
/// it (the test hangs).
#[test]
fn a_blocked_receiver_sees_the_end_only_after_the_last_sender() {
    let mut rng = Rng::new("a_blocked_receiver_sees_the_end_only_after_the_last_sender");
    for variant in variants() {
        for kind in KINDS {
            let senders = 2 + rng.below(4) as usize;
            let (tx, rx) = make::<u64>(kind, variant);
            let receiver = thread::spawn(move || {
                let mut got = Vec::new();
                while let Ok(value) = rx.recv() {
                    got.push(value);
                }
                got
            });
            let mut all: Vec<Tx<u64>> = (1..senders).map(|_| tx.clone()).collect();
            all.push(tx);
            // Dropped in a random order, each after one send.
            let mut expected = Vec::new();
            let mut value = 0;
            while !all.is_empty() {
                thread::sleep(GRACE / 5); // let the receiver park
                let tx = all.swap_remove(rng.below(all.len() as u64) as usize);
                tx.send(value).unwrap();
                expected.push(value);
                value += 1;
                thread::sleep(GRACE / 5);
                drop(tx);
            }
            assert_eq!(
                receiver.join().unwrap(),
                expected,
                "{kind:?}, variant {variant}, {senders} senders"
            );
        }
    }
}

// ---------------------------------------------------------------------------------
// Order

/// Catches: senders that share state without a per-sender order (a lost or reordered
/// value shows as a gap), a bound counted per sender, and a disconnect before every
/// sender is done.
#[test]
fn each_sender_keeps_fifo_with_2_to_8_senders_on_threads() {
    let per_sender: u64 = if cfg!(miri) { 16 } else { 4_000 };
    let counts: &[usize] = if cfg!(miri) {
        &[2, 5]
    } else {
        &[2, 3, 4, 5, 6, 7, 8]
    };
    for turn in variants() {
        for (index, kind) in KINDS.into_iter().enumerate() {
            for &senders in counts {
                let variant = variant_in_turn(turn + index + senders);
                // A hand-over per value on bounds 0 and 1: fewer values there.
                let per_sender = match kind {
                    Kind::Bounded(0 | 1) => per_sender / 8,
                    _ => per_sender,
                };
                let (tx, rx) = make::<u64>(kind, variant);
                let threads: Vec<_> = (0..senders as u64)
                    .map(|id| {
                        let tx = tx.clone();
                        thread::spawn(move || {
                            for seq in 0..per_sender {
                                tx.send(tag(id, seq)).unwrap();
                            }
                        })
                    })
                    .collect();
                drop(tx);
                let mut next = vec![0u64; senders];
                for value in rx.iter() {
                    let (id, seq) = untag(value);
                    assert_eq!(
                        seq, next[id],
                        "{kind:?}, variant {variant}, {senders} senders: sender {id} out of order"
                    );
                    next[id] += 1;
                }
                assert_eq!(next, vec![per_sender; senders], "{kind:?}: values lost");
                for thread in threads {
                    thread.join().unwrap();
                }
            }
        }
    }
}

/// One thread sends 0, 1, 2, ... through a random one of several clones (the first
/// values through the original, before any clone exists), while the receiver drains:
/// the receiver must see exactly 0, 1, 2, ... Catches: per-sender queues the receiver
/// polls in turn (same-thread order across clones lost), and an upgrade whose new path
/// overtakes values still in the pre-clone ring.
#[test]
fn one_thread_sending_through_several_clones_keeps_its_order() {
    let mut rng = Rng::new("one_thread_sending_through_several_clones_keeps_its_order");
    let total: u64 = if cfg!(miri) { 60 } else { 20_000 };
    for variant in variants() {
        for kind in KINDS {
            let (tx, rx) = make::<u64>(kind, variant);
            let before_clone = match kind {
                // Let the pre-clone values fill the buffer, or not.
                Kind::Bounded(bound) => rng.below(bound as u64 + 2),
                Kind::Unbounded => rng.below(200),
            }
            .min(total);
            let receiver = thread::spawn(move || rx.iter().collect::<Vec<u64>>());
            let mut value = 0;
            while value < before_clone {
                tx.send(value).unwrap();
                value += 1;
            }
            let clones = 1 + rng.below(4) as usize;
            let mut all: Vec<Tx<u64>> = (0..clones).map(|_| tx.clone()).collect();
            all.push(tx);
            while value < total {
                all[rng.below(all.len() as u64) as usize]
                    .send(value)
                    .unwrap();
                value += 1;
            }
            drop(all);
            let got = receiver.join().unwrap();
            assert_eq!(got.len() as u64, total, "{kind:?}, variant {variant}");
            assert_in_order(
                &got,
                total,
                &format!("{kind:?}, variant {variant}, cloned after {before_clone}"),
            );
        }
    }
}

/// Threads in a ring, each with its own clone, pass a token (through a separate std
/// channel); the holder sends the next number through its clone, then passes the token
/// on. The sends are ordered by the hand-offs, so the receiver must see 0, 1, 2, ...
/// Catches: a multi-producer path ordered per sender only, or by anything but the
/// moment of the send (e.g. a slot claimed lazily, or a per-thread buffer).
#[test]
fn order_follows_hand_offs_between_threads() {
    let mut rng = Rng::new("order_follows_hand_offs_between_threads");
    let total: u64 = if cfg!(miri) { 30 } else { 3_000 };
    for variant in variants() {
        for kind in KINDS {
            let threads = 2 + rng.below(4) as usize;
            let (tx, rx) = make::<u64>(kind, variant);
            let receiver = thread::spawn(move || rx.iter().collect::<Vec<u64>>());
            let (token_txs, token_rxs): (Vec<_>, Vec<_>) =
                (0..threads).map(|_| token::channel::<u64>()).unzip();
            let mut handles = Vec::new();
            for (index, token_rx) in token_rxs.into_iter().enumerate() {
                let tx = tx.clone();
                let next = token_txs[(index + 1) % threads].clone();
                handles.push(thread::spawn(move || {
                    for value in token_rx.iter() {
                        if value == total {
                            // Tell the next one to stop too (it may be gone already).
                            let _ = next.send(total);
                            return;
                        }
                        tx.send(value).unwrap();
                        if next.send(value + 1).is_err() {
                            return;
                        }
                    }
                }));
            }
            drop(tx);
            token_txs[0].send(0).unwrap();
            drop(token_txs);
            for handle in handles {
                handle.join().unwrap();
            }
            let got = receiver.join().unwrap();
            assert_in_order(
                &got,
                total,
                &format!("{kind:?}, variant {variant}, {threads} threads"),
            );
        }
    }
}

/// A chain of threads: each gets a clone of its predecessor's sender, sends a few
/// values, and drops its sender once its successor holds the clone (the predecessor's
/// own is dropped while the successor may already send). The receiver must see every
/// value in order and the end only after the last thread's drop. Catches: a sender count
/// that a clone-then-drop sequence lowers too far (an early `Disconnected`) or not at all
/// (the receiver never sees the end: hang), and order lost across the hand-offs.
#[test]
fn a_chain_of_clones_each_outliving_its_parent_keeps_order_and_the_channel() {
    let links: u64 = if cfg!(miri) { 6 } else { 40 };
    let per_link: u64 = if cfg!(miri) { 3 } else { 20 };
    for variant in variants() {
        for kind in KINDS {
            let (tx, rx) = make::<u64>(kind, variant);
            let receiver = thread::spawn(move || rx.iter().collect::<Vec<u64>>());
            fn link(tx: Tx<u64>, index: u64, links: u64, per_link: u64) {
                for i in 0..per_link {
                    tx.send(index * per_link + i).unwrap();
                }
                if index + 1 < links {
                    let next = tx.clone();
                    let successor = thread::spawn(move || link(next, index + 1, links, per_link));
                    drop(tx);
                    successor.join().unwrap();
                }
            }
            link(tx, 0, links, per_link);
            let got = receiver.join().unwrap();
            assert_in_order(
                &got,
                links * per_link,
                &format!("{kind:?}, variant {variant}"),
            );
        }
    }
}

/// A thread sends through one clone and is joined; then the main thread sends through
/// another, and again, alternating: the join orders each pair of sends.
#[test]
fn a_join_orders_the_sends_of_two_clones() {
    let rounds: u64 = if cfg!(miri) { 4 } else { 50 };
    for variant in variants() {
        for kind in KINDS {
            let (tx, rx) = make::<u64>(kind, variant);
            let receiver = thread::spawn(move || rx.iter().collect::<Vec<u64>>());
            let mut value = 0;
            for _ in 0..rounds {
                let theirs = tx.clone();
                thread::spawn(move || {
                    theirs.send(value).unwrap();
                    theirs.send(value + 1).unwrap();
                })
                .join()
                .unwrap();
                tx.send(value + 2).unwrap();
                value += 3;
            }
            drop(tx);
            let got = receiver.join().unwrap();
            assert!(
                got.iter().copied().eq(0..value),
                "{kind:?}, variant {variant}: {got:?}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------
// The bound

/// `sync_channel(n)` with no receiver activity: the original may fill part of the buffer
/// before the clones exist, then every sender `try_send`s in turn until `Full`. Exactly
/// `n` succeed in all, every sender then sees `Full`, one `recv` frees exactly one place
/// (for any sender), and the values come out in the order they went in. Catches: a bound
/// per sender (k·n), an upgrade that starts a fresh buffer beside the old one (p + n),
/// an off-by-one in claiming places (n ± 1), and a freed place only its last user sees.
#[test]
fn the_bound_counts_the_values_of_all_clones_together() {
    let mut rng = Rng::new("the_bound_counts_the_values_of_all_clones_together");
    let bounds: &[usize] = if cfg!(miri) {
        &[1, 3, 8]
    } else {
        &[1, 2, 3, 5, 8, 33, 64]
    };
    for variant in variants() {
        for &bound in bounds {
            for clones in [1, 2, 4] {
                let context = format!("bound {bound}, {clones} clones, variant {variant}");
                let (tx, rx) = chan::sync_channel_variant::<u64>(variant, bound);
                let mut value = 0;
                let before_clone = rng.below(bound as u64 + 1);
                while value < before_clone {
                    tx.try_send(value).unwrap();
                    value += 1;
                }
                let mut all: Vec<chan::SyncSender<u64>> = (0..clones).map(|_| tx.clone()).collect();
                all.push(tx);
                let start = rng.below(all.len() as u64) as usize;
                let mut turn = start;
                loop {
                    match all[turn % all.len()].try_send(value) {
                        Ok(()) => value += 1,
                        Err(chan::TrySendError::Full(v)) => {
                            assert_eq!(v, value, "{context}: Full hands back the value");
                            break;
                        }
                        Err(e) => panic!("{context}: {e:?}"),
                    }
                    turn += 1;
                    assert!(
                        value <= bound as u64,
                        "{context}: more than the bound taken"
                    );
                }
                assert_eq!(value, bound as u64, "{context}: the total bound");
                for (index, tx) in all.iter().enumerate() {
                    assert_eq!(
                        tx.try_send(1000),
                        Err(chan::TrySendError::Full(1000)),
                        "{context}: sender {index} sends into a full buffer"
                    );
                }
                // One place freed: exactly one more value fits, whichever sender sends it.
                assert_eq!(rx.recv(), Ok(0), "{context}");
                let first = rng.below(all.len() as u64) as usize;
                assert_eq!(all[first].try_send(value), Ok(()), "{context}: freed place");
                for (index, tx) in all.iter().enumerate() {
                    assert_eq!(
                        tx.try_send(1000),
                        Err(chan::TrySendError::Full(1000)),
                        "{context}: sender {index} after one place was refilled"
                    );
                }
                drop(all);
                let got: Vec<u64> = rx.iter().collect();
                assert!(
                    got.iter().copied().eq(1..=bound as u64),
                    "{context}: {got:?}"
                );
            }
        }
    }
}

/// Same with the senders on threads and blocking `send`s: each of several threads sends
/// until the receiver has taken its share; between the receiver's steps the test waits
/// for the senders to stall and counts, with `try_send`, how many places are free: none,
/// ever. Catches a bound enforced per sender or racily (two senders claiming the last
/// place).
#[test]
fn blocked_senders_on_threads_never_exceed_the_bound() {
    let per_sender: u64 = if cfg!(miri) { 3 } else { 20 };
    for variant in variants() {
        for bound in [1, 2, 5] {
            for senders in [2, 4] {
                let context = format!("bound {bound}, {senders} senders, variant {variant}");
                let (tx, rx) = chan::sync_channel_variant::<u64>(variant, bound);
                // Counts the sends that returned.
                let returned = Arc::new(AtomicUsize::new(0));
                let threads: Vec<_> = (0..senders as u64)
                    .map(|id| {
                        let tx = tx.clone();
                        let returned = returned.clone();
                        thread::spawn(move || {
                            for seq in 0..per_sender {
                                tx.send(tag(id, seq)).unwrap();
                                returned.fetch_add(1, Ordering::SeqCst);
                            }
                        })
                    })
                    .collect();
                drop(tx);
                let total = per_sender as usize * senders;
                let mut next = vec![0u64; senders];
                for received in 0..total {
                    if received % 7 == 0 {
                        thread::sleep(GRACE / 5); // let senders overfill, if they can
                    }
                    // A send that returned has its value buffered or received.
                    let sent = returned.load(Ordering::SeqCst);
                    assert!(
                        sent <= received + bound,
                        "{context}: {sent} sends returned after {received} values received"
                    );
                    let (id, seq) = untag(rx.recv().unwrap());
                    assert_eq!(seq, next[id], "{context}: sender {id}");
                    next[id] += 1;
                }
                assert_eq!(rx.recv(), Err(chan::RecvError), "{context}");
                for thread in threads {
                    thread.join().unwrap();
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------
// Rendezvous

/// `sync_channel(0)` with several senders blocked at once: each `send` returns only
/// after its value was taken (a counter of returned sends never exceeds the values
/// received), and each value is taken exactly once. Catches: a rendezvous that becomes
/// a buffer of one (or one per sender) after the clone, and a hand-over that lets two
/// senders' values share one receive (one lost or duplicated).
#[test]
fn a_rendezvous_stays_a_rendezvous_with_many_senders() {
    let per_sender: u64 = if cfg!(miri) { 2 } else { 10 };
    for variant in variants() {
        for senders in [2, 3, 6] {
            let context = format!("{senders} senders, variant {variant}");
            let (tx, rx) = chan::sync_channel_variant::<u64>(variant, 0);
            let returned = Arc::new(AtomicUsize::new(0));
            let threads: Vec<_> = (0..senders as u64)
                .map(|id| {
                    let tx = tx.clone();
                    let returned = returned.clone();
                    thread::spawn(move || {
                        for seq in 0..per_sender {
                            tx.send(tag(id, seq)).unwrap();
                            returned.fetch_add(1, Ordering::SeqCst);
                        }
                    })
                })
                .collect();
            drop(tx);
            let total = per_sender as usize * senders;
            let mut got = Vec::new();
            for received in 0..total {
                if received % 3 == 0 {
                    thread::sleep(GRACE / 5); // every sender blocked by now
                }
                assert!(
                    returned.load(Ordering::SeqCst) <= received,
                    "{context}: a send returned before its value was taken"
                );
                got.push(rx.recv().unwrap());
                assert!(returned.load(Ordering::SeqCst) <= received + 1, "{context}");
            }
            assert_eq!(rx.recv(), Err(chan::RecvError), "{context}");
            for thread in threads {
                thread.join().unwrap();
            }
            got.sort_unstable();
            let expected: Vec<u64> = (0..senders as u64)
                .flat_map(|id| (0..per_sender).map(move |seq| tag(id, seq)))
                .collect();
            assert_eq!(got, expected, "{context}: each value exactly once");
        }
    }
}

/// `try_send` on a rendezvous fails from every clone while no receiver waits, and
/// succeeds (handing the value straight over) once one waits. Catches a clone whose
/// `try_send` parks its value in a buffer.
#[test]
fn try_send_on_a_rendezvous_needs_a_waiting_receiver_whatever_the_clone() {
    for variant in variants() {
        let (tx, rx) = chan::sync_channel_variant::<u64>(variant, 0);
        let all = [tx.clone(), tx.clone(), tx];
        for (index, tx) in all.iter().enumerate() {
            assert_eq!(
                tx.try_send(7),
                Err(chan::TrySendError::Full(7)),
                "variant {variant}: clone {index} with no receiver waiting"
            );
        }
        let mut rx = Some(rx);
        for (index, tx) in all.iter().enumerate() {
            let theirs = rx.take().unwrap();
            let receiver = thread::spawn(move || {
                let got = theirs.recv();
                (theirs, got)
            });
            let value = 10 + index as u64;
            // Succeeds once the receiver waits; until then it must say Full.
            loop {
                match tx.try_send(value) {
                    Ok(()) => break,
                    Err(chan::TrySendError::Full(v)) => assert_eq!(v, value),
                    Err(e) => panic!("variant {variant}: {e:?}"),
                }
                thread::yield_now();
            }
            let (back, got) = receiver.join().unwrap();
            assert_eq!(got, Ok(value), "variant {variant}, clone {index}");
            for tx in &all {
                assert_eq!(tx.try_send(1), Err(chan::TrySendError::Full(1)));
            }
            rx = Some(back);
        }
    }
}

// ---------------------------------------------------------------------------------
// Cloning and dropping while values are in flight or halves are blocked

/// A sender streams values; after a random number of them (still buffered or in
/// flight), it clones itself for new threads, which stream their own values, and goes
/// on. Every value the original sent before cloning must come before any value of a
/// clone (the clones exist only after those sends), each sender keeps FIFO, nothing is
/// lost. Catches an upgrade that strands or reorders the values in the pre-clone ring.
#[test]
fn cloning_while_values_are_in_flight_keeps_them_first() {
    let mut rng = Rng::new("cloning_while_values_are_in_flight_keeps_them_first");
    let per_sender: u64 = if cfg!(miri) { 20 } else { 3_000 };
    let rounds = if cfg!(miri) { 2 } else { 12 };
    for kind in KINDS {
        for round in 0..rounds {
            let variant = variant_in_turn(round);
            let before_clone = match kind {
                Kind::Bounded(bound) => rng.below(2 * bound as u64 + 3),
                Kind::Unbounded => rng.below(per_sender),
            };
            let clones = 1 + rng.below(4);
            let (tx, rx) = make::<u64>(kind, variant);
            let producer = thread::spawn(move || {
                for seq in 0..before_clone {
                    tx.send(tag(0, seq)).unwrap();
                }
                let threads: Vec<_> = (1..=clones)
                    .map(|id| {
                        let tx = tx.clone();
                        thread::spawn(move || {
                            for seq in 0..per_sender {
                                tx.send(tag(id, seq)).unwrap();
                            }
                        })
                    })
                    .collect();
                for seq in before_clone..per_sender.max(before_clone) {
                    tx.send(tag(0, seq)).unwrap();
                }
                drop(tx);
                for thread in threads {
                    thread.join().unwrap();
                }
            });
            let context = format!("{kind:?}, variant {variant}, cloned after {before_clone}");
            let mut next = vec![0u64; clones as usize + 1];
            let mut a_clone_was_seen = false;
            for value in rx.iter() {
                let (id, seq) = untag(value);
                assert_eq!(seq, next[id], "{context}: sender {id}");
                next[id] += 1;
                if id == 0 && seq < before_clone {
                    assert!(!a_clone_was_seen, "{context}: a clone overtook value {seq}");
                } else if id != 0 {
                    a_clone_was_seen = true;
                }
            }
            producer.join().unwrap();
            assert_eq!(next[0], per_sender.max(before_clone), "{context}");
            assert!(next[1..].iter().all(|&n| n == per_sender), "{context}");
        }
    }
}

/// The receiver blocks (and parks) in `recv` on an empty channel; then the main thread
/// clones the sender, drops the original, and sends through the clone, and later a
/// clone of the clone sends from another thread. Catches: an upgrade that leaves the
/// parked receiver asleep (hang) or wakes it with `Disconnected` (the original's drop
/// taken for the last), and a receiver that after the upgrade still waits on the old
/// path.
#[test]
fn cloning_while_the_receiver_is_blocked_wakes_it_with_the_value() {
    for variant in variants() {
        for kind in KINDS {
            let context = format!("{kind:?}, variant {variant}");
            let (tx, rx) = make::<u64>(kind, variant);
            let receiver = thread::spawn(move || {
                let first = rx.recv();
                let second = rx.recv();
                let end = rx.recv();
                (first, second, end)
            });
            thread::sleep(GRACE); // the receiver parks
            let clone = tx.clone();
            drop(tx);
            thread::sleep(GRACE / 5);
            clone.send(1).unwrap();
            let theirs = clone.clone();
            let other = thread::spawn(move || {
                thread::sleep(GRACE / 5);
                theirs.send(2).unwrap();
            });
            other.join().unwrap();
            drop(clone);
            assert_eq!(
                receiver.join().unwrap(),
                (Ok(1), Ok(2), Err(chan::RecvError)),
                "{context}"
            );
        }
    }
}

/// The original sends a few values (left buffered), hands clones to threads and is
/// dropped at once; the clones keep sending `Tracked` values. The receiver gets the
/// original's values first, then every clone's, in order, then the end; every value is
/// dropped exactly once. Catches: the original's drop disconnecting the channel or
/// freeing the ring that still holds its values.
#[test]
fn dropping_the_original_while_clones_keep_sending() {
    let per_sender = if cfg!(miri) { 10 } else { 2_000 };
    for variant in variants() {
        for kind in KINDS {
            let context = format!("{kind:?}, variant {variant}");
            let ledger = Ledger::new();
            let (tx, rx) = make::<Tracked>(kind, variant);
            let early = match kind {
                Kind::Bounded(bound) => bound.min(3),
                Kind::Unbounded => 3,
            };
            for seq in 0..early {
                tx.send(ledger.make(seq)).unwrap();
            }
            let clones = 3;
            let threads: Vec<_> = (1..=clones)
                .map(|id| {
                    let tx = tx.clone();
                    let ledger = ledger.clone();
                    thread::spawn(move || {
                        for seq in 0..per_sender {
                            tx.send(ledger.make(id * per_sender + seq)).unwrap();
                        }
                    })
                })
                .collect();
            drop(tx);
            let mut next = vec![0usize; clones + 1];
            next[0] = 0;
            for value in rx.iter() {
                let (id, seq) = (value.id / per_sender, value.id % per_sender);
                assert_eq!(seq, next[id], "{context}: sender {id}");
                if id == 0 {
                    assert!(
                        next[1..].iter().all(|&n| n == 0),
                        "{context}: a clone overtook the original's value {seq}"
                    );
                }
                next[id] += 1;
            }
            assert_eq!(next[0], early, "{context}: the original's values");
            assert!(next[1..].iter().all(|&n| n == per_sender), "{context}");
            for thread in threads {
                thread.join().unwrap();
            }
            drop(rx);
            ledger.assert_balanced(&context);
        }
    }
}

/// Several senders (clones) block in `send` on a full channel (rendezvous, or a full
/// buffer); then the receiver is dropped. Every one must wake with `Err(SendError(v))`
/// holding its own value; the buffered values are dropped exactly once, nothing else.
/// Catches: a drop that wakes one sleeper of many (hang), a sender handed another's
/// value, a blocked value silently dropped or reported sent, and leaks of the buffer.
#[test]
fn dropping_the_receiver_wakes_every_blocked_sender_with_its_own_value() {
    for variant in variants() {
        for bound in [0, 1, 3] {
            for senders in [2, 4] {
                let context = format!("bound {bound}, {senders} senders, variant {variant}");
                let ledger = Ledger::new();
                let (tx, rx) = chan::sync_channel_variant::<Tracked>(variant, bound);
                for id in 0..bound {
                    tx.try_send(ledger.make(id)).unwrap();
                }
                let threads: Vec<_> = (0..senders)
                    .map(|index| {
                        let tx = tx.clone();
                        let value = ledger.make(100 + index);
                        thread::spawn(move || match tx.send(value) {
                            Ok(()) => None,
                            Err(chan::SendError(back)) => Some(back.id),
                        })
                    })
                    .collect();
                thread::sleep(GRACE); // every sender blocked
                assert_eq!(ledger.dropped(), 0, "{context}: nothing dropped yet");
                drop(rx);
                for (index, thread) in threads.into_iter().enumerate() {
                    assert_eq!(
                        thread.join().unwrap(),
                        Some(100 + index),
                        "{context}: sender {index} gets its own value back"
                    );
                }
                // A send after the receiver is gone hands its value back too.
                match tx.send(ledger.make(99)) {
                    Err(chan::SendError(back)) => assert_eq!(back.id, 99, "{context}"),
                    Ok(()) => panic!("{context}: sent to a dropped receiver"),
                }
                drop(tx);
                ledger.assert_balanced(&context);
                for id in 0..bound {
                    assert!(ledger.is_dropped(id), "{context}: buffered value {id}");
                }
            }
        }
    }
}

/// Senders (clones made on the fly, some dropped early) stream `Tracked` values while
/// the receiver takes a random number of them and drops. Each sender stops at its first
/// `Err` (which must hold the value it sent). What the receiver got is, per sender, a
/// prefix of what was sent with no gap; every value is dropped exactly once. Catches:
/// a value both delivered and handed back, a value dropped by the channel while the
/// receiver lives (a gap), and leaks at the end.
#[test]
fn nothing_is_lost_duplicated_or_leaked_when_the_receiver_leaves_mid_stream() {
    let mut rng =
        Rng::new("nothing_is_lost_duplicated_or_leaked_when_the_receiver_leaves_mid_stream");
    let rounds = if cfg!(miri) { 2 } else { 40 };
    for kind in KINDS {
        for round in 0..rounds {
            let variant = variant_in_turn(round);
            {
                let context = format!("{kind:?}, variant {variant}, round {round}");
                let ledger = Ledger::new();
                let (tx, rx) = make::<Tracked>(kind, variant);
                let senders = 2 + rng.below(4) as usize;
                let limit = if cfg!(miri) { 15 } else { 500 };
                let take = rng.below(senders as u64 * limit as u64) as usize;
                let threads: Vec<_> = (0..senders)
                    .map(|id| {
                        let tx = tx.clone();
                        let ledger = ledger.clone();
                        thread::spawn(move || {
                            let mut sent = 0;
                            while sent < limit {
                                let value = ledger.make(id * limit + sent);
                                match tx.send(value) {
                                    Ok(()) => sent += 1,
                                    Err(chan::SendError(back)) => {
                                        assert_eq!(back.id, id * limit + sent);
                                        break;
                                    }
                                }
                            }
                            sent
                        })
                    })
                    .collect();
                drop(tx);
                let mut next = vec![0usize; senders];
                for _ in 0..take {
                    match rx.recv() {
                        Ok(value) => {
                            let (id, seq) = (value.id / limit, value.id % limit);
                            assert_eq!(seq, next[id], "{context}: sender {id}");
                            next[id] += 1;
                        }
                        Err(_) => break,
                    }
                }
                drop(rx);
                for (id, thread) in threads.into_iter().enumerate() {
                    let sent = thread.join().unwrap();
                    assert!(next[id] <= sent, "{context}: sender {id} received unsent");
                }
                ledger.assert_balanced(&context);
            }
        }
    }
}

// ---------------------------------------------------------------------------------
// Auto traits

fn unwind_safe<T: std::panic::UnwindSafe + std::panic::RefUnwindSafe>() {}
fn send<T: Send>() {}

/// Compile-time: every half is `Send` (for `T: Send`), `UnwindSafe` and
/// `RefUnwindSafe`, as std's are; at run time `catch_unwind(|| tx.send(1))` works as in
/// the issue, and a channel whose user panicked inside `catch_unwind` goes on working.
#[test]
fn the_halves_are_send_and_unwind_safe() {
    send::<chan::Sender<String>>();
    send::<chan::SyncSender<String>>();
    send::<chan::Receiver<String>>();
    unwind_safe::<chan::Sender<String>>();
    unwind_safe::<chan::SyncSender<String>>();
    unwind_safe::<chan::Receiver<String>>();
    // A `T` that is itself not unwind-safe does not matter, as with std.
    unwind_safe::<chan::Sender<std::cell::Cell<u8>>>();
    unwind_safe::<chan::Receiver<std::cell::Cell<u8>>>();
    // The ring halves too (std has no counterpart).
    use ringlink::ring::{BoxConsumer, BoxProducer, Consumer, Producer};
    send::<Producer<String>>();
    send::<Consumer<String>>();
    send::<BoxProducer<String>>();
    send::<BoxConsumer<String>>();
    unwind_safe::<Producer<String>>();
    unwind_safe::<Consumer<String>>();
    unwind_safe::<BoxProducer<String>>();
    unwind_safe::<BoxConsumer<String>>();
    unwind_safe::<Producer<std::cell::Cell<u8>>>();
    unwind_safe::<BoxConsumer<std::cell::Cell<u8>>>();

    for variant in variants() {
        let (tx, rx) = chan::channel_variant::<u64>(variant);
        let (stx, srx) = chan::sync_channel_variant::<u64>(variant, 2);
        assert!(std::panic::catch_unwind(|| tx.send(1)).unwrap().is_ok());
        assert!(std::panic::catch_unwind(|| stx.send(1)).unwrap().is_ok());
        let panicked = std::panic::catch_unwind(|| {
            tx.send(2).unwrap();
            stx.send(2).unwrap();
            let _ = rx.recv();
            panic!("the user's code panics");
        });
        assert!(panicked.is_err());
        assert_eq!(std::panic::catch_unwind(|| rx.try_recv()).unwrap(), Ok(2));
        assert_eq!(srx.try_iter().collect::<Vec<_>>(), vec![1, 2]);
        let clone = tx.clone();
        drop(tx);
        clone.send(3).unwrap();
        drop(clone);
        assert_eq!(rx.iter().collect::<Vec<_>>(), vec![3]);
    }
}
