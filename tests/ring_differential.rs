#![cfg(not(loom))]
//! Differential tests: the ring against a model, under random operations.
//!
//! On one thread the ring must behave exactly as a `VecDeque` bounded to the capacity
//! (push, pop, batches, peek, counts), with every value alive exactly while the model
//! holds it. On two threads, with random batch sizes and random points at which either
//! half is dropped, every value arrives once and in order, and the shared drop ledger
//! (tests/common) finds each value made dropped exactly once.
//!
//! Random but replayable: a failure prints its seed; set `RINGLINK_SEED=<seed>` to run
//! the same operations again. `RINGLINK_STRESS=1` (with `--release`) runs millions of
//! operations instead of the quick default; Miri runs a few hundred.

mod common;

use std::collections::VecDeque;
use std::thread;

use common::{Ledger, Tracked};
use ringlink::ring::{Consumer, PopError, Producer, PushError, RingBuffer};

/// The capacities of the one-thread test: none, tiny, powers of two and not, large.
const CAPACITIES: [usize; 7] = [0, 1, 2, 3, 7, 8, 1000];

/// How much work to do: (one-thread steps per capacity, two-thread rounds, values per
/// round at most).
fn scale() -> (usize, u64, usize) {
    if cfg!(miri) {
        (300, 3, 60)
    } else if std::env::var("RINGLINK_STRESS").is_ok_and(|v| v != "0" && !v.is_empty()) {
        (1_000_000, 300, 50_000)
    } else {
        (50_000, 40, 2_000)
    }
}

/// The seed: `RINGLINK_SEED` if set (decimal, or hex with `0x`), else a fresh one.
fn seed() -> u64 {
    match std::env::var("RINGLINK_SEED") {
        Ok(text) => {
            let text = text.trim();
            let parsed = match text.strip_prefix("0x") {
                Some(hex) => u64::from_str_radix(hex, 16),
                None => text.parse(),
            };
            parsed.unwrap_or_else(|_| panic!("RINGLINK_SEED={text} is not a number"))
        }
        // Miri has no clock by default (isolation); its runs use a fixed seed.
        Err(_) if cfg!(miri) => 0x5eed,
        Err(_) => {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64);
            nanos ^ u64::from(std::process::id()).rotate_left(32)
        }
    }
}

/// Prints the seed when the test it guards fails, so that the failure can be replayed.
struct Replay {
    test: &'static str,
    seed: u64,
}

impl Drop for Replay {
    fn drop(&mut self) {
        if thread::panicking() {
            eprintln!(
                "{} failed; replay it with RINGLINK_SEED={} (same RINGLINK_STRESS)",
                self.test, self.seed
            );
        }
    }
}

/// A small pseudo-random generator (SplitMix64): plenty for choosing operations.
#[derive(Clone)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// True with the given chance in percent.
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// The ring on one thread against a bounded `VecDeque`.
struct Differential {
    capacity: usize,
    producer: Producer<Tracked>,
    consumer: Consumer<Tracked>,
    /// The ids the ring should hold, oldest first.
    model: VecDeque<usize>,
    /// Slots the consumer emptied through a forgotten `PopIter` and has not handed back
    /// yet: the producer cannot use them until the consumer next publishes its position.
    unpublished: usize,
    ledger: std::sync::Arc<Ledger>,
    next_id: usize,
}

impl Differential {
    fn make(&mut self) -> Tracked {
        self.next_id += 1;
        self.ledger.make(self.next_id - 1)
    }

    /// How many more values the producer can push, as it sees the ring.
    fn free(&self) -> usize {
        self.capacity - self.model.len() - self.unpublished
    }

    fn push(&mut self) {
        let value = self.make();
        let id = value.id;
        match self.producer.push(value) {
            Ok(()) => {
                assert!(self.free() > 0, "push succeeded into a full ring");
                self.model.push_back(id);
            }
            Err(PushError::Full(value)) => {
                assert_eq!(self.free(), 0, "push refused with room left");
                assert_eq!(value.id, id, "push handed back another value");
            }
        }
    }

    fn push_iter(&mut self, rng: &mut Rng) {
        let offered = rng.below(self.capacity.min(40) + 4);
        let first = self.next_id;
        self.next_id += offered;
        let ledger = self.ledger.clone();
        let mut values = (first..first + offered).map(|id| ledger.make(id));
        let pushed = self.producer.push_iter(&mut values);
        assert_eq!(pushed, offered.min(self.free()), "push_iter of {offered}");
        self.model.extend(first..first + pushed);
        // What did not fit was never taken from the iterator.
        assert_eq!(
            values.next().map(|v| v.id),
            (pushed < offered).then_some(first + pushed)
        );
    }

    fn pop(&mut self) {
        match self.consumer.pop() {
            Ok(value) => {
                assert_eq!(Some(value.id), self.model.pop_front(), "pop");
                // A pop publishes the consumer's position.
                self.unpublished = 0;
            }
            Err(PopError::Empty) => assert!(self.model.is_empty(), "pop found nothing"),
        }
    }

    fn pop_iter(&mut self, rng: &mut Rng, forget: bool) {
        let take = rng.below(self.capacity.min(40) + 3);
        let mut batch = self.consumer.pop_iter();
        assert_eq!(batch.len(), self.model.len(), "pop_iter's length");
        let mut taken = 0;
        for value in batch.by_ref().take(take) {
            assert_eq!(Some(value.id), self.model.pop_front(), "pop_iter");
            taken += 1;
        }
        assert_eq!(batch.len(), self.model.len());
        if forget {
            std::mem::forget(batch);
            self.unpublished += taken;
        } else {
            drop(batch);
            if taken > 0 {
                self.unpublished = 0;
            }
        }
    }

    fn look(&self) {
        assert_eq!(
            self.consumer.peek().map(|v| v.id),
            self.model.front().copied(),
            "peek"
        );
        assert_eq!(self.consumer.is_empty(), self.model.is_empty(), "is_empty");
        assert_eq!(self.consumer.slots(), self.model.len(), "Consumer::slots");
        assert_eq!(self.producer.slots(), self.free(), "Producer::slots");
        assert_eq!(self.producer.is_full(), self.free() == 0, "is_full");
        assert_eq!(self.producer.capacity(), self.capacity);
        assert_eq!(self.consumer.capacity(), self.capacity);
        assert!(!self.producer.is_abandoned() && !self.consumer.is_abandoned());
    }
}

fn one_thread(capacity: usize, steps: usize, rng: &mut Rng) {
    let ledger = Ledger::new();
    let (producer, consumer) = RingBuffer::new(capacity);
    let mut ring = Differential {
        capacity,
        producer,
        consumer,
        model: VecDeque::new(),
        unpublished: 0,
        ledger: ledger.clone(),
        next_id: 0,
    };
    // Phases that lean towards filling or towards draining, so that a large ring is
    // seen full and empty too.
    let mut lean = 0;
    for step in 0..steps {
        if step % 64 == 0 {
            lean = rng.below(3);
        }
        let mut op = rng.below(12);
        if lean == 0 && (4..8).contains(&op) && rng.chance(60) {
            op -= 4; // fill: some pops become pushes
        } else if lean == 1 && op < 4 && rng.chance(60) {
            op += 4; // drain: some pushes become pops
        }
        match op {
            0 | 1 => ring.push(),
            2 | 3 => ring.push_iter(rng),
            4 | 5 => ring.pop(),
            6 => ring.pop_iter(rng, false),
            7 => {
                let forget = rng.chance(10);
                ring.pop_iter(rng, forget)
            }
            _ => ring.look(),
        }
        // Every value is alive exactly while the ring holds it.
        assert_eq!(
            ledger.alive(),
            ring.model.len(),
            "live values at step {step}"
        );
    }
    // End with values queued (unless the ring has no room), so that the drops below have
    // something to account for.
    for _ in 0..3 {
        ring.push_iter(rng);
    }
    ring.look();
    let Differential {
        producer,
        mut consumer,
        model,
        ..
    } = ring;
    if rng.chance(50) {
        // The consumer goes first and drops everything queued, at once.
        drop(consumer);
        assert_eq!(ledger.alive(), 0, "after the consumer's drop");
        drop(producer);
    } else {
        // The producer goes first: everything stays for the consumer.
        drop(producer);
        assert!(consumer.is_abandoned());
        assert_eq!(ledger.alive(), model.len(), "after the producer's drop");
        let mut model = model;
        for _ in 0..rng.below(model.len() + 1) {
            assert_eq!(consumer.pop().ok().map(|v| v.id), model.pop_front());
        }
        drop(consumer);
    }
    ledger.assert_balanced(&format!("one thread, capacity {capacity}"));
}

#[test]
fn one_thread_against_a_vecdeque() {
    let seed = seed();
    let _replay = Replay {
        test: "one_thread_against_a_vecdeque",
        seed,
    };
    let (steps, _, _) = scale();
    for (i, capacity) in CAPACITIES.into_iter().enumerate() {
        let mut rng = Rng::new(seed ^ (i as u64).wrapping_mul(0xa076_1d64_78bd_642f));
        one_thread(capacity, steps, &mut rng);
    }
}

/// One round on two threads: `total` values offered, in random batches, and each half
/// dropped at a random point or at the end.
fn two_threads(rng: &mut Rng, max_values: usize) {
    let capacity = [1, 2, 3, 7, 8, 1000][rng.below(6)];
    let total = rng.below(max_values) + 1;
    let producer_quits_after = rng.chance(25).then(|| rng.below(total + 1));
    let consumer_quits_after = rng.chance(25).then(|| rng.below(total + 1));
    let ledger = Ledger::new();
    let (mut producer, mut consumer) = RingBuffer::new(capacity);

    let pusher = {
        let ledger = ledger.clone();
        let mut rng = Rng::new(rng.next());
        thread::spawn(move || {
            let limit = producer_quits_after.unwrap_or(total);
            let mut sent = 0;
            // A value the ring refused, to push again (or to drop here at the end).
            let mut held: Option<Tracked> = None;
            while sent < limit {
                let progress = if held.is_some() || rng.chance(50) {
                    let value = held.take().unwrap_or_else(|| ledger.make(sent));
                    match producer.push(value) {
                        Ok(()) => 1,
                        Err(PushError::Full(value)) => {
                            assert_eq!(value.id, sent, "push handed back another value");
                            held = Some(value);
                            0
                        }
                    }
                } else {
                    let batch = (rng.below(20) + 1).min(limit - sent);
                    let mut values = (sent..sent + batch).map(|id| ledger.make(id));
                    let pushed = producer.push_iter(&mut values);
                    // The values not taken were never made (`map` is lazy).
                    drop(values);
                    pushed
                };
                sent += progress;
                if progress == 0 {
                    if producer.is_abandoned() {
                        break;
                    }
                    thread::yield_now();
                }
            }
            sent
        })
    };

    let popper = {
        let mut rng = Rng::new(rng.next());
        thread::spawn(move || {
            let mut received = 0;
            loop {
                if consumer_quits_after.is_some_and(|quit| received >= quit) {
                    return (received, false);
                }
                let got = match rng.below(4) {
                    0 | 1 => match consumer.pop() {
                        Ok(value) => {
                            assert_eq!(value.id, received, "pop out of order");
                            1
                        }
                        Err(PopError::Empty) => 0,
                    },
                    2 => {
                        let mut got = 0;
                        let take = rng.below(20) + 1;
                        for value in consumer.pop_iter().take(take) {
                            assert_eq!(value.id, received + got, "pop_iter out of order");
                            got += 1;
                        }
                        got
                    }
                    _ => {
                        if let Some(value) = consumer.peek() {
                            assert_eq!(value.id, received, "peek out of order");
                        }
                        assert!(consumer.slots() <= capacity);
                        0
                    }
                };
                received += got;
                if got == 0 && consumer.is_abandoned() {
                    // Everything pushed before the producer went is visible now: an
                    // empty ring stays empty.
                    match consumer.pop() {
                        Ok(value) => {
                            assert_eq!(value.id, received, "pop out of order");
                            received += 1;
                        }
                        Err(PopError::Empty) => return (received, true),
                    }
                } else if got == 0 {
                    thread::yield_now();
                }
            }
        })
    };

    let sent = pusher.join().unwrap();
    let (received, to_the_end) = popper.join().unwrap();
    assert!(received <= sent, "received {received} of {sent} sent");
    if to_the_end {
        assert_eq!(received, sent, "values lost");
    }
    ledger.assert_balanced(&format!(
        "two threads, capacity {capacity}, {total} values, producer quits after \
         {producer_quits_after:?}, consumer after {consumer_quits_after:?}"
    ));
}

#[test]
fn two_threads_with_random_batches_and_drop_points() {
    let seed = seed();
    let _replay = Replay {
        test: "two_threads_with_random_batches_and_drop_points",
        seed,
    };
    let (_, rounds, max_values) = scale();
    for round in 0..rounds {
        let mut rng = Rng::new(seed.wrapping_add(round.wrapping_mul(0xe703_7ed1_a0b4_28db)));
        two_threads(&mut rng, max_values);
    }
}
