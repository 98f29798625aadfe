//! The channel step by step against `std::sync::mpsc`: the same random operations on
//! both, which must give the same outcomes (values, errors, values handed back) and
//! leave the same number of live values after every step. Three runs: `sync_channel`
//! with its one sender, `sync_channel` with senders cloned and dropped along the way,
//! and `channel()` with clones.
//!
//! Seeded: the seed is printed (shown when a test fails) and `RINGLINK_SEED=<n>` replays
//! it. `RINGLINK_STRESS=<n>` multiplies the number of channels (default 1: a few seconds
//! in debug; `--release` with `RINGLINK_STRESS=100` runs millions of operations).
//!
//! One thread drives both channels, so a blocking operation is only made when it cannot
//! block: `send` when the buffer has room (a `channel()` always has) or the receiver is
//! gone, `recv` when a value waits or every sender is gone. A rendezvous channel (bound
//! 0) has no partner waiting, so there both must say `Full`/`Empty` (or time out) until
//! an end is dropped. std has no `SyncSender::send_timeout`: ours with a zero timeout
//! must answer as std's `try_send` does (`Timeout` where std says `Full`).
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

/// The most senders a channel has at once.
const MAX_SENDERS: usize = 6;

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
fn seed(test: &str) -> u64 {
    let seed = match std::env::var("RINGLINK_SEED") {
        Ok(text) => text
            .parse()
            .unwrap_or_else(|_| panic!("RINGLINK_SEED must be a u64, got {text:?}")),
        // std's per-process random hash keys (Miri gives them too, from its own seed).
        Err(_) => RandomState::new().build_hasher().finish(),
    };
    eprintln!("mpsc_differential::{test}: RINGLINK_SEED={seed}");
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

/// Which constructor both channels come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flavor {
    /// `sync_channel(bound)`.
    Bounded(usize),
    /// `channel()`.
    Unbounded,
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
    /// A receive failed because every sender is gone and the buffer is empty.
    RecvDisconnected,
}

/// The operations, each run on both channels; a sender's operations name it by its
/// place among the live senders.
#[derive(Debug, Clone, Copy)]
enum Op {
    Send(usize),
    TrySend(usize),
    SendTimeoutZero(usize),
    Recv,
    TryRecv,
    RecvTimeoutZero,
    /// Drops the values received so far and held by the test.
    DropHeld,
    /// Clones a sender; the clone joins the end of the list.
    Clone(usize),
    DropSender(usize),
    DropReceiver,
}

/// A sender of either kind, std's.
enum StdTx {
    Bounded(std_mpsc::SyncSender<Tracked>),
    Unbounded(std_mpsc::Sender<Tracked>),
}

/// A sender of either kind, the one under test.
enum RlTx {
    Bounded(rl_mpsc::SyncSender<Tracked>),
    Unbounded(rl_mpsc::Sender<Tracked>),
}

impl StdTx {
    fn clone_sender(&self) -> Self {
        match self {
            StdTx::Bounded(tx) => StdTx::Bounded(tx.clone()),
            StdTx::Unbounded(tx) => StdTx::Unbounded(tx.clone()),
        }
    }

    /// Runs a send operation; `Err((true, v))`: full, `Err((false, v))`: disconnected.
    fn run(&self, op: Op, value: Tracked) -> Result<(), (bool, Tracked)> {
        match (self, op) {
            (StdTx::Bounded(tx), Op::Send(_)) => tx.send(value).map_err(|e| (false, e.0)),
            // std's counterpart of a send that may not wait is `try_send`.
            (StdTx::Bounded(tx), Op::TrySend(_) | Op::SendTimeoutZero(_)) => {
                tx.try_send(value).map_err(|e| match e {
                    std_mpsc::TrySendError::Full(v) => (true, v),
                    std_mpsc::TrySendError::Disconnected(v) => (false, v),
                })
            }
            (StdTx::Unbounded(tx), Op::Send(_)) => tx.send(value).map_err(|e| (false, e.0)),
            _ => unreachable!("{op:?} on this sender"),
        }
    }
}

impl RlTx {
    fn clone_sender(&self) -> Self {
        match self {
            RlTx::Bounded(tx) => RlTx::Bounded(tx.clone()),
            RlTx::Unbounded(tx) => RlTx::Unbounded(tx.clone()),
        }
    }

    fn run(&self, op: Op, value: Tracked) -> Result<(), (bool, Tracked)> {
        match (self, op) {
            (RlTx::Bounded(tx), Op::Send(_)) => tx.send(value).map_err(|e| (false, e.0)),
            (RlTx::Bounded(tx), Op::TrySend(_)) => tx.try_send(value).map_err(|e| match e {
                rl_mpsc::TrySendError::Full(v) => (true, v),
                rl_mpsc::TrySendError::Disconnected(v) => (false, v),
            }),
            (RlTx::Bounded(tx), Op::SendTimeoutZero(_)) => {
                tx.send_timeout(value, Duration::ZERO).map_err(|e| match e {
                    rl_mpsc::SendTimeoutError::Timeout(v) => (true, v),
                    rl_mpsc::SendTimeoutError::Disconnected(v) => (false, v),
                })
            }
            (RlTx::Unbounded(tx), Op::Send(_)) => tx.send(value).map_err(|e| (false, e.0)),
            _ => unreachable!("{op:?} on this sender"),
        }
    }
}

/// One channel of each kind, driven in step.
struct Pair {
    flavor: Flavor,
    /// Whether senders may be cloned.
    clones: bool,
    /// The live senders, std's and ours side by side.
    senders: Vec<(StdTx, RlTx)>,
    std_rx: Option<std_mpsc::Receiver<Tracked>>,
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
    fn new(flavor: Flavor, clones: bool, rng: &mut Rng) -> Self {
        let strategy = STRATEGIES[rng.below(STRATEGIES.len() as u64) as usize];
        let builder = Builder::new().with_wait_strategy(strategy);
        let (std_tx, std_rx, rl_tx, rl_rx) = match flavor {
            Flavor::Bounded(bound) => {
                let (std_tx, std_rx) = std_mpsc::sync_channel(bound);
                let (rl_tx, rl_rx) = builder.sync_channel(bound);
                (StdTx::Bounded(std_tx), std_rx, RlTx::Bounded(rl_tx), rl_rx)
            }
            Flavor::Unbounded => {
                let (std_tx, std_rx) = std_mpsc::channel();
                let (rl_tx, rl_rx) = builder.channel();
                (
                    StdTx::Unbounded(std_tx),
                    std_rx,
                    RlTx::Unbounded(rl_tx),
                    rl_rx,
                )
            }
        };
        Pair {
            flavor,
            clones,
            senders: vec![(std_tx, rl_tx)],
            std_rx: Some(std_rx),
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
        self.senders.is_empty() && self.std_rx.is_none()
    }

    /// A random operation that cannot block a single thread.
    fn choose(&self, rng: &mut Rng) -> Op {
        let senders = self.senders.len();
        loop {
            let who = if senders == 0 {
                0
            } else {
                rng.below(senders as u64) as usize
            };
            let op = match rng.below(100) {
                0..=17 => Op::TrySend(who),
                18..=29 => Op::SendTimeoutZero(who),
                30..=39 => Op::Send(who),
                40..=57 => Op::TryRecv,
                58..=69 => Op::RecvTimeoutZero,
                70..=79 => Op::Recv,
                80..=89 => Op::DropHeld,
                90..=93 => Op::Clone(who),
                94..=96 => Op::DropSender(who),
                _ => Op::DropReceiver,
            };
            let has_tx = senders > 0;
            let has_rx = self.std_rx.is_some();
            let possible = match (op, self.flavor) {
                (Op::TrySend(_) | Op::SendTimeoutZero(_), Flavor::Bounded(_)) => has_tx,
                // A `Sender` has only `send`.
                (Op::TrySend(_) | Op::SendTimeoutZero(_), Flavor::Unbounded) => false,
                // Blocks only while the buffer is full and the receiver is there.
                (Op::Send(_), Flavor::Bounded(bound)) => has_tx && (!has_rx || self.queued < bound),
                (Op::Send(_), Flavor::Unbounded) => has_tx,
                (Op::TryRecv | Op::RecvTimeoutZero, _) => has_rx,
                // Blocks only while the buffer is empty and a sender is there.
                (Op::Recv, _) => has_rx && (!has_tx || self.queued > 0),
                (Op::DropHeld, _) => true,
                (Op::Clone(_), _) => self.clones && has_tx && senders < MAX_SENDERS,
                // Without clones the one sender is dropped as before: rarely.
                (Op::DropSender(_), _) => has_tx,
                (Op::DropReceiver, _) => has_rx,
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
            Op::Send(who) | Op::TrySend(who) | Op::SendTimeoutZero(who) => {
                self.next_id += 1;
                let (std_tx, rl_tx) = &self.senders[who];
                let std_out = sent(std_tx.run(op, self.std_ledger.make(id)));
                let rl_out = sent(rl_tx.run(op, self.rl_ledger.make(id)));
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
            Op::Clone(who) => {
                let (std_tx, rl_tx) = &self.senders[who];
                let pair = (std_tx.clone_sender(), rl_tx.clone_sender());
                self.senders.push(pair);
                (None, None)
            }
            Op::DropSender(who) => {
                drop(self.senders.remove(who));
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

/// Drives channels of the given flavors through random steps, comparing each step.
fn agree_with_std(test: &str, flavors: &[Flavor], clones: bool) {
    let seed = seed(test);
    let mut rng = Rng(seed);
    let steps_per_channel = if cfg!(miri) { 24 } else { 64 };
    let mut operations = 0u64;
    for &flavor in flavors {
        for channel in 0..channels_per_bound() {
            let mut pair = Pair::new(flavor, clones, &mut rng);
            let mut history = Vec::new();
            let mut step = 0;
            // Until both ends are gone; the ends are dropped at the end at the latest,
            // the senders first.
            while !pair.is_done() {
                let op = if step < steps_per_channel {
                    pair.choose(&mut rng)
                } else if !pair.senders.is_empty() {
                    Op::DropSender(rng.below(pair.senders.len() as u64) as usize)
                } else {
                    Op::DropReceiver
                };
                let (std_out, rl_out) = pair.step(op);
                history.push((op, std_out.as_ref().map(|o| format!("{o:?}"))));
                let context = || {
                    format!(
                        "RINGLINK_SEED={seed}, {flavor:?}, channel {channel}, step {step}; \
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
                "ringlink, RINGLINK_SEED={seed}, {flavor:?}, channel {channel}"
            ));
        }
    }
    eprintln!("mpsc_differential::{test}: {operations} steps agreed");
}

fn bounded_flavors() -> Vec<Flavor> {
    BOUNDS.iter().map(|&bound| Flavor::Bounded(bound)).collect()
}

#[test]
fn the_channel_answers_every_step_as_std_does() {
    agree_with_std(
        "the_channel_answers_every_step_as_std_does",
        &bounded_flavors(),
        false,
    );
}

/// Clones made and dropped at random between the other steps: every clone is another
/// sender of the same channel (its sends count against the one bound, the channel
/// disconnects only when the last one goes).
#[test]
fn a_sync_channel_with_clones_answers_every_step_as_std_does() {
    agree_with_std(
        "a_sync_channel_with_clones_answers_every_step_as_std_does",
        &bounded_flavors(),
        true,
    );
}

#[test]
fn a_channel_with_clones_answers_every_step_as_std_does() {
    agree_with_std(
        "a_channel_with_clones_answers_every_step_as_std_does",
        &[Flavor::Unbounded; BOUNDS.len()],
        true,
    );
}
