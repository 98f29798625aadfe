//! Helpers shared by the benches: pinning threads to cores, and starting a measurement
//! only once both threads are on their cores and waiting.
#![allow(dead_code)]

use std::sync::{Arc, Barrier, OnceLock};
use std::thread::JoinHandle;

/// Criterion's settings for every bench: 5 000 bootstrap resamples instead of the default
/// 100 000. For samples of 10–100 measurements that is plenty for a 95% interval, and
/// Criterion's plots of the bootstrap distributions then take a fraction of a second per
/// benchmark instead of several (measured on `echo/MsgOf` of the transport suite: 42
/// benchmarks in 49 s, against 67 s with 10 000 resamples and 36 s with no plots at all).
/// `--nresamples` on the command line still wins.
pub fn criterion() -> criterion::Criterion {
    criterion::Criterion::default().nresamples(5_000)
}

/// The cores this process may use, read once, before any thread is pinned: asked later,
/// from a pinned thread, the answer would be that thread's single core.
pub fn cores() -> &'static [core_affinity::CoreId] {
    static CORES: OnceLock<Vec<core_affinity::CoreId>> = OnceLock::new();
    CORES.get_or_init(|| core_affinity::get_core_ids().unwrap_or_default())
}

/// Whether the two threads of a benchmark get a core each.
pub fn two_cores() -> bool {
    cores().len() >= 2
}

/// Pins the calling thread to the `index`-th usable core (0 or 1), when there are two.
pub fn pin(index: usize) {
    let cores = cores();
    if cores.len() >= 2 {
        core_affinity::set_for_current(cores[index % cores.len()]);
    }
}

/// How a partner thread is started: pinned to core 1 (the caller pins itself to core 0),
/// then both meet at a barrier so that the clock starts only once both are in place.
pub struct Partner<R> {
    handle: JoinHandle<R>,
}

impl<R: Send + 'static> Partner<R> {
    /// Spawns `work` on core 1 and pins the caller to core 0. `work` receives a barrier
    /// to wait on once it is ready; the caller waits on the same barrier with `ready`.
    pub fn spawn(work: impl FnOnce(&Barrier) -> R + Send + 'static) -> (Self, Arc<Barrier>) {
        cores();
        let barrier = Arc::new(Barrier::new(2));
        let theirs = barrier.clone();
        let handle = std::thread::spawn(move || {
            pin(1);
            work(&theirs)
        });
        pin(0);
        (Partner { handle }, barrier)
    }

    /// Waits for the partner to finish and returns what it returned.
    pub fn join(self) -> R {
        self.handle
            .join()
            .expect("benchmark partner thread panicked")
    }
}

/// Waits between two polls of a busy-poll transport: `spin_loop` when the partner has a
/// core of its own, `yield_now` when both share one (spinning would hold the CPU the
/// partner needs until the scheduler preempts us, milliseconds later).
#[inline]
pub fn relax() {
    if two_cores() {
        std::hint::spin_loop();
    } else {
        std::thread::yield_now();
    }
}
