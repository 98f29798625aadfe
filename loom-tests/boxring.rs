#![cfg(loom)]
//! loom models of the ring of boxes (`ringlink::ring::BoxRing`) and of its return ring.
//!
//! Run with `RUSTFLAGS="--cfg loom" cargo test --release --test loom_boxring`.
//!
//! Each box carries a loom `UnsafeCell`, written by the side that fills the box and read
//! by the side that receives it: loom panics ("causality violation") when a read is not
//! ordered after the write, which is what a weakened `Release` or `Acquire` on a slot
//! allows. The models also check the values and their order.
//!
//! Under loom an `AtomicPtr` is larger than a machine word, so a "line" holds fewer slots
//! and the storage of a small ring is a few slots: every model below pushes more boxes
//! than its ring has slots, so slots are nulled, handed back and written again.

use std::sync::atomic::{AtomicUsize as StdAtomicUsize, Ordering as StdOrdering};
use std::sync::Arc as StdArc;

use loom::cell::UnsafeCell;
use loom::thread;
use ringlink::ring::{BoxConsumer, BoxProducer, BoxRing, PopError, PushError};

/// Runs `f` under loom with a preemption bound of 3, unless `LOOM_MAX_PREEMPTIONS` sets
/// one.
fn model<F>(f: F)
where
    F: Fn() + Sync + Send + 'static,
{
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(3);
    }
    builder.check(f);
}

/// A message whose contents loom tracks.
struct Msg(UnsafeCell<usize>);

impl Msg {
    fn boxed(value: usize) -> Box<Msg> {
        let boxed = Box::new(Msg(UnsafeCell::new(0)));
        boxed.write(value);
        boxed
    }

    fn write(&self, value: usize) {
        // SAFETY: only the side that owns the box touches it (loom checks the claim).
        self.0.with_mut(|p| unsafe { *p = value });
    }

    fn read(&self) -> usize {
        // SAFETY: as in `write`.
        self.0.with(|p| unsafe { *p })
    }
}

fn push_until_done(producer: &mut BoxProducer<Msg>, mut boxed: Box<Msg>) {
    loop {
        match producer.push(boxed) {
            Ok(()) => return,
            Err(PushError::Full(back)) => {
                boxed = back;
                thread::yield_now();
            }
        }
    }
}

fn pop_until_done(consumer: &mut BoxConsumer<Msg>) -> Box<Msg> {
    loop {
        match consumer.pop() {
            Ok(boxed) => return boxed,
            Err(PopError::Empty) => thread::yield_now(),
        }
    }
}

/// The number of slots a ring of `capacity` boxes has under loom: the models push more.
fn storage(capacity: usize) -> usize {
    let line = (64 / std::mem::size_of::<loom::sync::atomic::AtomicPtr<Msg>>()).max(1);
    capacity + line
}

/// More boxes than slots through the smallest ring: each slot is published (`Release`
/// store of the pointer), taken (`Acquire` load), nulled a line behind (which hands it back) and
/// written again.
#[test]
fn stream_laps_the_slots() {
    laps_the_slots(1);
}

/// The same with room for three: the producer then finds room by looking two slots ahead
/// and writes the slots before without reading them.
#[test]
fn stream_laps_the_slots_writing_ahead() {
    laps_the_slots(3);
}

fn laps_the_slots(capacity: usize) {
    let boxes = storage(capacity) + 1;
    model(move || {
        let (mut producer, mut consumer) = BoxRing::with_recycling(capacity, 0);
        let pusher = thread::spawn(move || {
            for i in 0..boxes {
                push_until_done(&mut producer, Msg::boxed(i * 10 + 1));
            }
        });
        for i in 0..boxes {
            assert_eq!(pop_until_done(&mut consumer).read(), i * 10 + 1);
        }
        pusher.join().unwrap();
        assert_eq!(consumer.pop().err(), Some(PopError::Empty));
    });
}

/// Boxes go round: the consumer reads each, writes a reply into it and recycles it; the
/// producer takes it back, reads the reply and writes the next message into the same
/// box. The return ring (capacity 1) laps its slots as the forward ring does.
#[test]
fn recycled_boxes_carry_writes_both_ways() {
    let rounds = storage(1) + 1;
    model(move || {
        let (mut producer, mut consumer) = BoxRing::<Msg>::with_recycling(1, 1);
        let pusher = thread::spawn(move || {
            let mut spare = Some(Msg::boxed(0));
            let mut replies = 0;
            for i in 0..rounds {
                let boxed = loop {
                    if let Some(boxed) = spare.take() {
                        break boxed;
                    }
                    if let Some(boxed) = producer.take_recycled() {
                        assert_eq!(boxed.read(), 1000 + replies, "the consumer's reply");
                        replies += 1;
                        break boxed;
                    }
                    thread::yield_now();
                };
                boxed.write(i);
                push_until_done(&mut producer, boxed);
            }
        });
        for i in 0..rounds {
            let boxed = pop_until_done(&mut consumer);
            assert_eq!(boxed.read(), i);
            boxed.write(1000 + i);
            consumer.recycle(boxed);
        }
        pusher.join().unwrap();
    });
}

/// `peek` hands out a reference to a box still in the ring: its contents must be
/// visible, which needs the `Acquire` load in `peek` itself.
#[test]
fn peek_sees_published_contents() {
    model(|| {
        let (mut producer, mut consumer) = BoxRing::with_recycling(2, 0);
        let pusher = thread::spawn(move || {
            for i in 0..3 {
                push_until_done(&mut producer, Msg::boxed(i + 7));
            }
        });
        let mut seen = 0;
        while seen < 3 {
            match consumer.peek() {
                Some(msg) => {
                    assert_eq!(msg.read(), seen + 7);
                    consumer.pop().unwrap();
                    seen += 1;
                }
                None => thread::yield_now(),
            }
        }
        pusher.join().unwrap();
    });
}

/// A consumer that sees the producer gone sees every box it pushed.
#[test]
fn abandonment_publishes_prior_pushes() {
    model(|| {
        let (mut producer, mut consumer) = BoxRing::with_recycling(2, 0);
        let pusher = thread::spawn(move || {
            producer.push(Msg::boxed(5)).unwrap();
            producer.push(Msg::boxed(6)).unwrap();
        });
        while !consumer.is_abandoned() {
            thread::yield_now();
        }
        assert_eq!(consumer.pop().expect("pushed before the drop").read(), 5);
        assert_eq!(consumer.pop().expect("pushed before the drop").read(), 6);
        assert!(consumer.pop().is_err());
        pusher.join().unwrap();
    });
}

/// A producer that sees the consumer gone sees every box it recycled.
#[test]
fn abandonment_publishes_prior_recycles() {
    model(|| {
        let (mut producer, mut consumer) = BoxRing::with_recycling(1, 2);
        let recycler = thread::spawn(move || {
            consumer.recycle(Msg::boxed(3));
        });
        while !producer.is_abandoned() {
            thread::yield_now();
        }
        let boxed = producer.take_recycled().expect("recycled before the drop");
        assert_eq!(boxed.read(), 3);
        assert!(producer.take_recycled().is_none());
        recycler.join().unwrap();
    });
}

/// Counts the drops of the values a model makes.
struct Counted(StdArc<StdAtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, StdOrdering::SeqCst);
    }
}

/// Both halves dropped on two threads while boxes are queued both ways and the producer
/// still pushes: every box is dropped exactly once.
#[test]
fn dropping_both_halves_from_two_threads() {
    model(|| {
        let drops = StdArc::new(StdAtomicUsize::new(0));
        let (mut producer, mut consumer) = BoxRing::<Counted>::with_recycling(1, 1);
        producer.push(Box::new(Counted(drops.clone()))).unwrap();
        let theirs = drops.clone();
        let pusher = thread::spawn(move || {
            let mut made = 0;
            let boxed = producer.take_recycled();
            let boxed = boxed.unwrap_or_else(|| {
                made += 1;
                Box::new(Counted(theirs.clone()))
            });
            if producer.push(boxed).is_err() {
                // Refused: dropped here.
            }
            made
        });
        if let Ok(boxed) = consumer.pop() {
            consumer.recycle(boxed);
        }
        drop(consumer);
        let made = 1 + pusher.join().unwrap();
        assert_eq!(drops.load(StdOrdering::SeqCst), made);
    });
}
