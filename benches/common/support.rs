//! Criterion's settings for every bench, the CPUs this process may use, pinning, and the
//! partner thread that starts a measurement only once both threads are on their CPUs.

use std::sync::{Arc, Barrier, OnceLock};
use std::thread::JoinHandle;

use core_affinity::CoreId;

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
pub fn cores() -> &'static [CoreId] {
    static CORES: OnceLock<Vec<CoreId>> = OnceLock::new();
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
        pin_to(Some(cores[index % cores.len()]));
    }
}

/// Pins the calling thread to `core` (`None`: leaves it where it is).
pub fn pin_to(core: Option<CoreId>) {
    if let Some(core) = core {
        core_affinity::set_for_current(core);
    }
}

/// Where the two threads of a measurement run: the caller's and the partner's CPU
/// (`None`: not pinned).
#[derive(Clone, Copy, Debug)]
pub struct Cpus {
    pub caller: Option<CoreId>,
    pub partner: Option<CoreId>,
}

impl Cpus {
    /// The benches' placement: the caller on the first usable core, the partner on the
    /// second; neither is pinned when there are fewer than two.
    pub fn pair() -> Cpus {
        match cores() {
            [first, second, ..] => Cpus {
                caller: Some(*first),
                partner: Some(*second),
            },
            _ => Cpus {
                caller: None,
                partner: None,
            },
        }
    }

    /// Both threads on `core`.
    pub fn shared(core: Option<CoreId>) -> Cpus {
        Cpus {
            caller: core,
            partner: core,
        }
    }
}

/// The partner thread of a measurement.
pub struct Partner<R> {
    handle: JoinHandle<R>,
}

impl<R: Send + 'static> Partner<R> {
    /// Spawns `work` on `cpus.partner` and pins the caller to `cpus.caller`; returns once
    /// both are pinned and have met at a barrier, so that no clock starts while a thread
    /// is still migrating to its CPU (that costs milliseconds).
    pub fn start(cpus: Cpus, work: impl FnOnce() -> R + Send + 'static) -> Partner<R> {
        cores();
        let barrier = Arc::new(Barrier::new(2));
        let theirs = barrier.clone();
        let handle = std::thread::spawn(move || {
            pin_to(cpus.partner);
            theirs.wait();
            work()
        });
        pin_to(cpus.caller);
        barrier.wait();
        Partner { handle }
    }

    /// Waits for the partner to finish and returns what it returned.
    pub fn join(self) -> R {
        self.handle
            .join()
            .expect("benchmark partner thread panicked")
    }
}

/// Fails the measurement when the partner thread went away early.
pub fn partner_gone() -> ! {
    panic!("the benchmark partner thread ended early")
}
