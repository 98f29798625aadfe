//! What several test files share: the wait strategies to run each test under, and
//! values that count their drops, so that a value dropped twice, or never, fails the test.
#![allow(dead_code)]

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ringlink::wait::WaitStrategy;

/// Every wait strategy, the default first.
pub const STRATEGIES: [WaitStrategy; 4] = [
    WaitStrategy::Adaptive,
    WaitStrategy::Park,
    WaitStrategy::Yield,
    WaitStrategy::Spin,
];

/// Long enough for a wrong implementation to show itself (a send that should block, a
/// wake-up that should not happen); correct ones pass whatever the machine's speed.
pub const GRACE: Duration = Duration::from_millis(if cfg!(miri) { 5 } else { 50 });

/// A value that reports its drop to its ledger.
#[derive(Debug)]
pub struct Tracked {
    pub id: usize,
    ledger: Arc<Ledger>,
    /// Whether its drop panics (after reporting it), unless the thread already panics.
    panics_on_drop: bool,
}

/// What became of the values one test made.
#[derive(Debug, Default)]
pub struct Ledger {
    made: AtomicUsize,
    dropped: AtomicUsize,
    twice: AtomicBool,
    /// Whether each id has been dropped.
    seen: Mutex<Vec<bool>>,
    /// The id [`Ledger::make_next`] gives next.
    next_id: AtomicUsize,
}

impl Ledger {
    pub fn new() -> Arc<Self> {
        Arc::default()
    }

    /// A value with the given id; each id at most once per ledger.
    pub fn make(self: &Arc<Self>, id: usize) -> Tracked {
        self.made.fetch_add(1, Ordering::SeqCst);
        Tracked {
            id,
            ledger: self.clone(),
            panics_on_drop: false,
        }
    }

    /// Like [`Ledger::make`], but the value's drop panics once it has reported the drop
    /// (unless its thread is already panicking, so that it never aborts a test).
    pub fn make_panicking(self: &Arc<Self>, id: usize) -> Tracked {
        let mut value = self.make(id);
        value.panics_on_drop = true;
        value
    }

    /// How many drops have been reported (double drops included).
    pub fn dropped(&self) -> usize {
        self.dropped.load(Ordering::SeqCst)
    }

    /// Whether the value with this id has been dropped.
    pub fn is_dropped(&self, id: usize) -> bool {
        self.seen.lock().unwrap().get(id).copied().unwrap_or(false)
    }

    /// A boxed value with the next unused id (do not mix with [`Ledger::make`]).
    pub fn make_next(self: &Arc<Self>) -> Box<Tracked> {
        let id = self.next_id.fetch_add(1, Ordering::SeqCst);
        Box::new(self.make(id))
    }

    /// How many values are made and not yet dropped.
    pub fn alive(&self) -> usize {
        self.made.load(Ordering::SeqCst) - self.dropped.load(Ordering::SeqCst)
    }

    /// Every value made was dropped, and none twice.
    pub fn assert_balanced(&self, context: &str) {
        assert!(
            !self.twice.load(Ordering::SeqCst),
            "{context}: a value dropped twice"
        );
        assert_eq!(self.alive(), 0, "{context}: values never dropped");
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        let mut seen = self.ledger.seen.lock().unwrap();
        if seen.len() <= self.id {
            seen.resize(self.id + 1, false);
        }
        if std::mem::replace(&mut seen[self.id], true) {
            self.ledger.twice.store(true, Ordering::SeqCst);
        }
        self.ledger.dropped.fetch_add(1, Ordering::SeqCst);
        drop(seen);
        if self.panics_on_drop && !std::thread::panicking() {
            panic!("Tracked {} panics in drop", self.id);
        }
    }
}
