//! The channel step by step against `std::sync::mpsc::sync_channel`: the same random
//! operations on both, which must give the same outcomes (values, errors, values handed
//! back) and leave the same number of live values after every step.
//!
//! Seeded: the seed is printed (shown when a test fails) and `RINGLINK_SEED=<n>` replays
//! it. `RINGLINK_STRESS=<n>` multiplies the number of channels (default 1: a few seconds
//! in debug; `--release` with `RINGLINK_STRESS=100` runs millions of operations).
//!
//! One thread drives both channels, so a blocking operation is only made when it cannot
//! block: `send` when the buffer has room or the receiver is gone, `recv` when a value
//! waits or the sender is gone. A rendezvous channel (bound 0) has no partner waiting,
//! so there both must say `Full`/`Empty` (or time out) until an end is dropped. std has
//! no `SyncSender::send_timeout`: ours with a zero timeout must answer as std's
//! `try_send` does (`Timeout` where std says `Full`).
#![cfg(not(loom))]

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::mpsc as std_mpsc;
use std::sync::Arc;
use std::time::Duration;

use ringlink::mpsc::{self as rl_mpsc, Builder};

mod common;
use common::{Ledger, Tracked, STRATEGIES};

/// The bounds the channels are made with: rendezvous, tiny, and a power of two.
const BOUNDS: [usize; 5] = [0, 1, 2, 3, 8];

/// splitmix64: small, fast, and good enough to choose operations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// `RINGLINK_SEED` if set, else a fresh seed; printed either way.
fn seed() -> u64 {
    let seed = match std::env::var("RINGLINK_SEED") {
        Ok(text) => text
            .parse()
            .unwrap_or_else(|_| panic!("RINGLINK_SEED must be a u64, got {text:?}")),
        // std's per-process random hash keys (Miri gives them too, from its own seed).
        Err(_) => RandomState::new().build_hasher().finish(),
    };
    eprintln!("mpsc_differential: RINGLINK_SEED={seed}");
    seed
}

/// How many channels each bound gets.
fn channels_per_bound() -> usize {
    let stress: usize = std::env::var("RINGLINK_STRESS")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(1);
    if cfg!(miri) {
        3 * stress
    } else {
        300 * stress
    }
}

/// What one operation gave, with the ids of the values it handed back or received.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Sent,
    /// A send failed because the buffer was full (`Full`, or `Timeout` for a timed send).
    Full(usize),
    /// A send failed because the receiver is gone.
    SendDisconnected(usize),
    Received(usize),
    /// A receive found nothing (`Empty`, or `Timeout` for a timed receive).
    Empty,
    /// A receive failed because the sender is gone and the buffer is empty.
    RecvDisconnected,
}

/// The operations, each run on both channels.
#[derive(Debug, Clone, Copy)]
enum Op {
    Send,
    TrySend,
    SendTimeoutZero,
    Recv,
    TryRecv,
    RecvTimeoutZero,
    /// Drops the values received so far and held by the test.
    DropHeld,
    DropSender,
    DropReceiver,
}

/// One channel of each kind, driven in step.
struct Pair {
    bound: usize,
    std_tx: Option<std_mpsc::SyncSender<Tracked>>,
    std_rx: Option<std_mpsc::Receiver<Tracked>>,
    rl_tx: Option<rl_mpsc::SyncSender<Tracked>>,
    rl_rx: Option<rl_mpsc::Receiver<Tracked>>,
    std_ledger: Arc<Ledger>,
    rl_ledger: Arc<Ledger>,
    /// Received values kept alive for a while, so that live counts include them.
    std_held: Vec<Tracked>,
    rl_held: Vec<Tracked>,
    /// Values in the buffer, as the agreed outcomes say.
    queued: usize,
    next_id: usize,
}

impl Pair {
    fn new(bound: usize, rng: &mut Rng) -> Self {
        let strategy = STRATEGIES[rng.below(STRATEGIES.len() as u64) as usize];
        let (std_tx, std_rx) = std_mpsc::sync_channel(bound);
        let (rl_tx, rl_rx) = Builder::new()
            .with_wait_strategy(strategy)
            .sync_channel(bound);
        Pair {
            bound,
            std_tx: Some(std_tx),
            std_rx: Some(std_rx),
            rl_tx: Some(rl_tx),
            rl_rx: Some(rl_rx),
            std_ledger: Ledger::new(),
            rl_ledger: Ledger::new(),
            std_held: Vec::new(),
            rl_held: Vec::new(),
            queued: 0,
            next_id: 0,
        }
    }

    fn is_done(&self) -> bool {
        self.std_tx.is_none() && self.std_rx.is_none()
    }

    /// A random operation that cannot block a single thread.
    fn choose(&self, rng: &mut Rng) -> Op {
        loop {
            let op = match rng.below(100) {
                0..=17 => Op::TrySend,
                18..=29 => Op::SendTimeoutZero,
                30..=39 => Op::Send,
                40..=57 => Op::TryRecv,
                58..=69 => Op::RecvTimeoutZero,
                70..=79 => Op::Recv,
                80..=93 => Op::DropHeld,
                94..=96 => Op::DropSender,
                _ => Op::DropReceiver,
            };
            let has_tx = self.std_tx.is_some();
            let has_rx = self.std_rx.is_some();
            let possible = match op {
                Op::TrySend | Op::SendTimeoutZero => has_tx,
                // Blocks only while the buffer is full and the receiver is there.
                Op::Send => has_tx && (!has_rx || self.queued < self.bound),
                Op::TryRecv | Op::RecvTimeoutZero => has_rx,
                // Blocks only while the buffer is empty and the sender is there.
                Op::Recv => has_rx && (!has_tx || self.queued > 0),
                Op::DropHeld => true,
                Op::DropSender => has_tx,
                Op::DropReceiver => has_rx,
            };
            if possible {
                return op;
            }
        }
    }

    /// Runs `op` on both channels; returns both outcomes.
    fn step(&mut self, op: Op) -> (Option<Outcome>, Option<Outcome>) {
        let id = self.next_id;
        match op {
            Op::Send | Op::TrySend | Op::SendTimeoutZero => {
                self.next_id += 1;
                let std_value = self.std_ledger.make(id);
                let rl_value = self.rl_ledger.make(id);
                let std_tx = self.std_tx.as_ref().unwrap();
                let rl_tx = self.rl_tx.as_ref().unwrap();
                let (std_out, rl_out) =
                    match op {
                        Op::Send => (
                            sent(std_tx.send(std_value).map_err(|e| (false, e.0))),
                            sent(rl_tx.send(rl_value).map_err(|e| (false, e.0))),
                        ),
                        Op::TrySend => (
                            sent(std_tx.try_send(std_value).map_err(|e| match e {
                                std_mpsc::TrySendError::Full(v) => (true, v),
                                std_mpsc::TrySendError::Disconnected(v) => (false, v),
                            })),
                            sent(rl_tx.try_send(rl_value).map_err(|e| match e {
                                rl_mpsc::TrySendError::Full(v) => (true, v),
                                rl_mpsc::TrySendError::Disconnected(v) => (false, v),
                            })),
                        ),
                        _ => (
                            // std's counterpart of a send that may not wait.
                            sent(std_tx.try_send(std_value).map_err(|e| match e {
                                std_mpsc::TrySendError::Full(v) => (true, v),
                                std_mpsc::TrySendError::Disconnected(v) => (false, v),
                            })),
                            sent(rl_tx.send_timeout(rl_value, Duration::ZERO).map_err(
                                |e| match e {
                                    rl_mpsc::SendTimeoutError::Timeout(v) => (true, v),
                                    rl_mpsc::SendTimeoutError::Disconnected(v) => (false, v),
                                },
                            )),
                        ),
                    };
                if std_out == Outcome::Sent {
                    self.queued += 1;
                }
                (Some(std_out), Some(rl_out))
            }
            Op::Recv | Op::TryRecv | Op::RecvTimeoutZero => {
                let std_rx = self.std_rx.as_ref().unwrap();
                let rl_rx = self.rl_rx.as_ref().unwrap();
                let (std_got, rl_got) = match op {
                    Op::Recv => (
                        std_rx.recv().map_err(|_| false),
                        rl_rx.recv().map_err(|_| false),
                    ),
                    Op::TryRecv => (
                        std_rx
                            .try_recv()
                            .map_err(|e| e == std_mpsc::TryRecvError::Empty),
                        rl_rx
                            .try_recv()
                            .map_err(|e| e == rl_mpsc::TryRecvError::Empty),
                    ),
                    _ => (
                        std_rx
                            .recv_timeout(Duration::ZERO)
                            .map_err(|e| e == std_mpsc::RecvTimeoutError::Timeout),
                        rl_rx
                            .recv_timeout(Duration::ZERO)
                            .map_err(|e| e == rl_mpsc::RecvTimeoutError::Timeout),
                    ),
                };
                let std_out = received(std_got, &mut self.std_held);
                let rl_out = received(rl_got, &mut self.rl_held);
                if matches!(std_out, Outcome::Received(_)) {
                    self.queued -= 1;
                }
                (Some(std_out), Some(rl_out))
            }
            Op::DropHeld => {
                self.std_held.clear();
                self.rl_held.clear();
                (None, None)
            }
            Op::DropSender => {
                self.std_tx = None;
                self.rl_tx = None;
                (None, None)
            }
            Op::DropReceiver => {
                // Both drop the values still buffered at once.
                self.std_rx = None;
                self.rl_rx = None;
                self.queued = 0;
                (None, None)
            }
        }
    }
}

/// The outcome of a send; the value handed back (with whether the buffer was full) is
/// dropped here.
fn sent(result: Result<(), (bool, Tracked)>) -> Outcome {
    match result {
        Ok(()) => Outcome::Sent,
        Err((true, value)) => Outcome::Full(value.id),
        Err((false, value)) => Outcome::SendDisconnected(value.id),
    }
}

/// The outcome of a receive (`Err(true)`: nothing yet; `Err(false)`: disconnected); a
/// value received is kept in `held`.
fn received(result: Result<Tracked, bool>, held: &mut Vec<Tracked>) -> Outcome {
    match result {
        Ok(value) => {
            let id = value.id;
            held.push(value);
            Outcome::Received(id)
        }
        Err(true) => Outcome::Empty,
        Err(false) => Outcome::RecvDisconnected,
    }
}

#[test]
fn the_channel_answers_every_step_as_std_does() {
    let seed = seed();
    let mut rng = Rng(seed);
    let steps_per_channel = if cfg!(miri) { 24 } else { 64 };
    let mut operations = 0u64;
    for bound in BOUNDS {
        for channel in 0..channels_per_bound() {
            let mut pair = Pair::new(bound, &mut rng);
            let mut history = Vec::new();
            let mut step = 0;
            // Until both ends are gone; the ends are dropped at the end at the latest.
            while !pair.is_done() {
                let op = if step < steps_per_channel {
                    pair.choose(&mut rng)
                } else if pair.std_tx.is_some() {
                    Op::DropSender
                } else {
                    Op::DropReceiver
                };
                let (std_out, rl_out) = pair.step(op);
                history.push((op, std_out.as_ref().map(|o| format!("{o:?}"))));
                let context = || {
                    format!(
                        "RINGLINK_SEED={seed}, bound {bound}, channel {channel}, step {step}; \
                         steps so far (op, std's outcome): {history:?}"
                    )
                };
                assert_eq!(rl_out, std_out, "{}", context());
                assert_eq!(
                    pair.rl_ledger.alive(),
                    pair.std_ledger.alive(),
                    "live values differ; {}",
                    context()
                );
                step += 1;
                operations += 1;
            }
            let Pair {
                std_ledger,
                rl_ledger,
                std_held,
                rl_held,
                ..
            } = pair;
            drop((std_held, rl_held));
            std_ledger.assert_balanced(&format!("std, RINGLINK_SEED={seed}"));
            rl_ledger.assert_balanced(&format!(
                "ringlink, RINGLINK_SEED={seed}, bound {bound}, channel {channel}"
            ));
        }
    }
    eprintln!("mpsc_differential: {operations} steps agreed");
}
