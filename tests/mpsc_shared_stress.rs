// ci: no-miri: minutes of spinning senders under Miri; the clone tests (tests/mpsc_clone.rs) run there, and this file runs under ThreadSanitizer.
//! Stress for channels with several senders (`sync_channel` cloned, `channel()` cloned):
//! many senders on threads, every wait strategy, receivers that stop early; nothing
//! lost, duplicated, reordered per sender or leaked. `.ci/run` also runs this file under
//! ThreadSanitizer (it matches `tests/*stress*.rs`).
#![cfg(not(loom))]

use std::thread;

use ringlink::mpsc::{Builder, Receiver, SendError, WaitStrategy};

mod common;
use common::{Ledger, Tracked, STRATEGIES};

/// The sending side of either kind of channel, cloned per thread.
trait Tx<T>: Clone + Send + 'static {
    fn put(&self, value: T) -> Result<(), SendError<T>>;
}

impl<T: Send + 'static> Tx<T> for ringlink::mpsc::SyncSender<T> {
    fn put(&self, value: T) -> Result<(), SendError<T>> {
        self.send(value)
    }
}

impl<T: Send + 'static> Tx<T> for ringlink::mpsc::Sender<T> {
    fn put(&self, value: T) -> Result<(), SendError<T>> {
        self.send(value)
    }
}

/// `senders` threads each send `per` values `(sender, i)` through its own clone; the
/// original is dropped after the clones are made. The receiver checks each sender's
/// order and that every value arrives.
fn many_senders<S: Tx<(usize, usize)>>(
    tx: S,
    rx: Receiver<(usize, usize)>,
    senders: usize,
    per: usize,
) {
    let threads: Vec<_> = (0..senders)
        .map(|id| {
            let tx = tx.clone();
            thread::spawn(move || {
                for i in 0..per {
                    tx.put((id, i)).unwrap();
                }
            })
        })
        .collect();
    drop(tx);
    let mut next = vec![0; senders];
    for (id, i) in rx.iter() {
        assert_eq!(next[id], i, "sender {id}'s values out of order");
        next[id] += 1;
    }
    assert_eq!(
        next,
        vec![per; senders],
        "every value arrives, then the channel ends"
    );
    for t in threads {
        t.join().unwrap();
    }
}

/// One sender of either kind of channel, as a closure.
type SendFn = Box<dyn Fn(Tracked) -> Result<(), SendError<Tracked>> + Send>;

/// Three clones of `tx`, each as a [`SendFn`].
fn three_clones<S: Tx<Tracked>>(tx: &S) -> Vec<SendFn> {
    (0..3)
        .map(|_| {
            let tx = tx.clone();
            Box::new(move |v| tx.put(v)) as SendFn
        })
        .collect()
}

fn builder(strategy: WaitStrategy) -> Builder {
    Builder::new().with_wait_strategy(strategy)
}

#[test]
fn bounded_channels_with_many_senders() {
    let per = if cfg!(miri) { 20 } else { 5_000 };
    for strategy in STRATEGIES {
        for bound in [0, 1, 2, 64] {
            // Spinning senders that outnumber the CPUs hand over slowly at small bounds.
            let per = if bound < 2 { per / 10 } else { per };
            let (tx, rx) = builder(strategy).sync_channel(bound);
            many_senders(tx, rx, 4, per);
        }
    }
}

#[test]
fn unbounded_channels_with_many_senders() {
    let per = if cfg!(miri) { 50 } else { 20_000 };
    for strategy in STRATEGIES {
        let (tx, rx) = builder(strategy).channel();
        many_senders(tx, rx, 4, per);
    }
}

/// The receiver stops after some values and is dropped while the senders go on: every
/// value is dropped exactly once, whether it was received, still queued, or handed back
/// to its sender in the error.
#[test]
fn a_receiver_dropped_mid_stream_loses_and_leaks_nothing() {
    let per = if cfg!(miri) { 10 } else { 2_000 };
    for strategy in STRATEGIES {
        for bound in [None, Some(0), Some(1), Some(16)] {
            let ledger = Ledger::new();
            let (senders, rx): (Vec<SendFn>, Receiver<Tracked>) = match bound {
                Some(bound) => {
                    let (tx, rx) = builder(strategy).sync_channel(bound);
                    (three_clones(&tx), rx)
                }
                None => {
                    let (tx, rx) = builder(strategy).channel();
                    (three_clones(&tx), rx)
                }
            };
            let threads: Vec<_> = senders
                .into_iter()
                .enumerate()
                .map(|(n, send)| {
                    let ledger = ledger.clone();
                    thread::spawn(move || {
                        let mut refused = 0;
                        for i in 0..per {
                            let id = n * per + i;
                            if let Err(SendError(back)) = send(ledger.make(id)) {
                                assert_eq!(back.id, id, "the error holds the value sent");
                                refused += 1;
                            }
                        }
                        refused
                    })
                })
                .collect();
            for _ in 0..per / 2 {
                drop(rx.recv().unwrap());
            }
            drop(rx);
            let refused: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
            assert!(
                refused > 0 || bound.is_none(),
                "some sends fail once the receiver is gone"
            );
            ledger.assert_balanced(&format!("{strategy:?}, bound {bound:?}"));
        }
    }
}
