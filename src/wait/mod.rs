//! How one side of a channel waits for the other: spin, yield, park, or the adaptive
//! default that does each in turn.
//!
//! The only public item is [`WaitStrategy`], chosen per channel with
//! [`crate::mpsc::Builder::with_wait_strategy`]. The rest is the machinery behind it: a
//! wait slot per side, and the wake-up handshake that costs the waker nothing while
//! nobody sleeps.
//!
//! # The handshake
//!
//! A sleeper announces itself in its slot ("I am parking"), then looks again for what it
//! waits for (a value, a free slot, a disconnection); a waker publishes first, then looks
//! at the slot and unparks only when a sleeper has announced itself. Each side's store must be
//! ordered before
//! its load, or both can miss the other's store and the sleeper never wakes. That
//! StoreLoad barrier is split unevenly (see `fence.rs`): the waker, which
//! runs it after every message, pays a compiler fence and a plain load of a cache line
//! that it only ever reads; the sleeper, which runs it only before it parks, pays a
//! `membarrier` system call. loom checks the handshake with both halves as
//! `fence(SeqCst)`, which is what the pair guarantees (`loom-tests/mpsc.rs`).

use core::fmt;
use std::time::{Duration, Instant};

use crossbeam_utils::CachePadded;

use crate::fence::{heavy_fence, light_fence};
use crate::sync::thread::{self, Thread};
use crate::sync::{fence, lock, spin_loop, Arc, AtomicUsize, Mutex, Ordering};

mod placement;

use placement::{choose, current_cpu, process_may_spin, Choice, Facts, Hint};

/// How a blocked `send` or `recv` waits for the other side.
///
/// Every strategy is correct on any number of CPUs; they differ in what waiting costs
/// and in how soon a waiter notices the other side.
///
/// | strategy | while waiting | wakes up after the other side acts | use when |
/// |---|---|---|---|
/// | [`Adaptive`](WaitStrategy::Adaptive) (default) | spins a few µs (yields a few times on one CPU), then sleeps | at once while it spins; after an OS wake-up (tens of µs) once asleep | almost always |
/// | [`Spin`](WaitStrategy::Spin) | keeps a CPU busy | at once | each thread has a CPU of its own and latency is everything |
/// | [`Yield`](WaitStrategy::Yield) | keeps a CPU busy, but lets other threads run | after a trip through the scheduler (a whole time slice when other processes want the CPU) | threads share a CPU and wait only briefly |
/// | [`Park`](WaitStrategy::Park) | sleeps at once, no CPU used | after an OS wake-up | waits are long and CPU time matters more than latency |
///
/// The adaptive strategy never spins when the process may run on one CPU only
/// (`std::thread::available_parallelism() == 1`, which honours `taskset`), nor while the
/// other side is known to share our CPU (two threads pinned to the same core, or placed
/// there by the OS): then spinning only keeps the other side from running, and a yield
/// hands it the CPU. The other side's CPU becomes known when it has to wake us (Linux
/// only; elsewhere the process-wide test decides). Threads pinned to different CPUs do
/// spin for each other, even though each alone can run on one CPU only.
///
/// ```
/// # ringlink::__skip_doctest_under_loom!();
/// use ringlink::mpsc::Builder;
/// use ringlink::wait::WaitStrategy;
///
/// let (tx, rx) = Builder::new()
///     .with_wait_strategy(WaitStrategy::Yield)
///     .sync_channel::<u32>(16);
/// std::thread::spawn(move || tx.send(7).unwrap());
/// assert_eq!(rx.recv(), Ok(7));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum WaitStrategy {
    /// Poll with [`std::hint::spin_loop`] between tries, never giving up the CPU. On a
    /// machine where both sides share one CPU, each hand-over then waits for the
    /// scheduler to preempt the spinner (milliseconds).
    Spin,
    /// Poll with [`std::thread::yield_now`] between tries, never sleeping.
    Yield,
    /// Sleep at once until the other side wakes us. Uses no CPU while waiting; each
    /// wake-up costs a system call on the waker's side and an OS wake-up on ours.
    Park,
    /// Spin for a few microseconds when another CPU can run the other side meanwhile,
    /// or yield a few times when it cannot; then sleep. The default.
    #[default]
    Adaptive,
}

/// How long the adaptive strategy spins before it parks. An active peer answers
/// within about 0.1–5 µs; a sleeping one costs about 25 µs to wake on a KVM guest.
const SPIN_FOR: Duration = Duration::from_micros(10);

/// Polls between two looks at the clock while spinning (a look costs ~25 ns).
const POLLS_PER_CLOCK: u32 = 16;

/// How many times the adaptive strategy yields before it parks, when the other side
/// shares our CPU (or the process has only one): then each yield hands the CPU to the other side, which is the
/// cheapest way to let it answer (an echo round trip of ~3.5 µs measured, against ~8 µs
/// for std's futex wake-ups). With more CPUs the adaptive strategy does not yield at all:
/// after spinning, the other side is not running, and when that is because other
/// processes keep its CPU busy, a yield gives them whole time slices (round trips over
/// 500 µs measured on a loaded machine, against ~25 µs when parking at once).
const YIELDS_ON_ONE_CPU: u32 = 3;

/// How many times [`WaitSlot::linger`] polls at most, and the most spin-loop hints
/// between two of its polls: at most 24 polls and 639 hints, ~6.5 µs on the development
/// VM (a hint took 9.8 ns), in which a receiver taking 100 M values/s frees ~650 slots.
/// Under loom, no polls: a hint is a yield to the model's scheduler, and lingering
/// decides nothing.
#[cfg(not(loom))]
const LINGER_POLLS: u32 = 24;
#[cfg(loom)]
const LINGER_POLLS: u32 = 0;
const LINGER_MAX_PAUSES: u32 = 32;

/// Where one side of a channel sleeps, and how the other side wakes it.
///
/// The side that owns the slot waits on it; the other side wakes it. One side may be
/// several threads (the senders of a cloned channel): each announces itself before it
/// parks, and a waker that finds announcements unparks every thread that made one; each
/// then looks again at what it waits for, and announces itself again before it parks
/// again.
pub(crate) struct WaitSlot {
    /// Read by the waker after every message, so it has a cache line of its own, written
    /// only around a sleep.
    state: CachePadded<State>,
    /// The waiters' count of waits that yielded because `waker_cpu` named their CPU,
    /// since that hint was last forgotten (see [`WaitSlot::spinning_helps`]). Off the
    /// `state` line, which the waker reads.
    yields_on_hint: AtomicUsize,
    /// The threads parked or about to park here, and whether each has announced itself.
    /// A waker that saw `pending` raised locks after the announcement it saw: had its
    /// lock come first, its load would happen before the store it read, which coherence
    /// forbids. It clears every announcement and `pending` in one critical section,
    /// unparking the threads that made them, so no announcement is cleared unseen.
    /// Locked only around a sleep.
    sleepers: Mutex<Vec<Sleeper>>,
}

struct State {
    /// How many of the registered threads have announced that they are about to park
    /// and have not been unparked since. Written only under the `sleepers` lock, with
    /// the announcements themselves; read without it by wakers, who lock only when it
    /// is not 0. All its accesses are `Relaxed`: the fences around the lock-free load
    /// and the sleeper's re-check order them with the channel's data.
    pending: AtomicUsize,
    /// The CPU on which the last thread that had to unpark the owner ran, or [`NO_CPU`]:
    /// the owner's hint, when it next waits, whether the thread it waits for shares its
    /// CPU. Never needed for correctness.
    waker_cpu: AtomicUsize,
}

/// What [`State::waker_cpu`] holds before the first unpark, or where CPUs are unknown.
const NO_CPU: usize = usize::MAX;

impl WaitSlot {
    pub(crate) fn new() -> Self {
        WaitSlot {
            state: CachePadded::new(State {
                pending: AtomicUsize::new(0),
                waker_cpu: AtomicUsize::new(NO_CPU),
            }),
            yields_on_hint: AtomicUsize::new(0),
            // Room made now for the usual sleepers (one receiver or server, or a few
            // senders), so that a thread's first park allocates nothing: a stream that
            // only starts to park after its warm-up stays free of allocations (seen as a
            // flaky `tests/mpsc_alloc.rs`, where the senders first parked while counted).
            sleepers: Mutex::new(Vec::with_capacity(SLEEPERS_RESERVED)),
        }
    }

    /// Wakes the sleeper if it is parked. Call after publishing what it waits for.
    ///
    /// The hot path: a compiler fence and a relaxed load, no system call, no locked
    /// instruction, as long as the other side is not asleep.
    #[inline]
    pub(crate) fn notify(&self) {
        // StoreLoad with the sleeper's `heavy_fence`: either it sees what we published
        // before it parks, or we see its flag here.
        light_fence();
        if self.state.pending.load(Ordering::Relaxed) != 0 {
            self.unpark();
        }
    }

    /// [`notify`](WaitSlot::notify) with a full fence: for rare events (disconnection, the
    /// rendezvous hand-over) whose stores are not followed by a message.
    pub(crate) fn notify_strong(&self) {
        // StoreLoad with the sleeper's `heavy_fence`, as in `notify`.
        // mutant(loom_mpsc): notify_strong fence (drops, rendezvous) removed =>
        // mutant(loom_service): notify_strong fence (stop, link close, client drop) removed =>
        fence(Ordering::SeqCst);
        if self.state.pending.load(Ordering::Relaxed) != 0 {
            self.unpark();
        }
    }

    #[cold]
    #[inline(never)]
    fn unpark(&self) {
        let mut sleepers = lock(&self.sleepers);
        if self.state.pending.load(Ordering::Relaxed) == 0 {
            return; // another waker came first, and unparked them
        }
        // Clearing the announcements spares the next messages an unpark each while the
        // sleepers are still on their way up.
        self.state.pending.store(0, Ordering::Relaxed);
        if let Some(cpu) = current_cpu() {
            self.state.waker_cpu.store(cpu, Ordering::Relaxed);
        }
        for sleeper in sleepers.iter_mut().filter(|s| s.announced) {
            sleeper.announced = false;
            sleeper.thread.unpark();
        }
    }

    /// Waits with `strategy` until `poll` returns `Some`, and returns that; returns `None`
    /// once `deadline` has passed (never before). [`Deadline::Now`] polls once.
    ///
    /// `poll` must look at everything the other side may change before it calls
    /// `notify` on this slot (values, free slots, disconnection); it is called again
    /// after each spin, yield and wake-up.
    #[inline]
    pub(crate) fn wait_until<R>(
        &self,
        strategy: WaitStrategy,
        deadline: Deadline,
        mut poll: impl FnMut() -> Option<R>,
    ) -> Option<R> {
        match deadline {
            Deadline::Now => poll(),
            Deadline::At(instant) => self.wait(strategy, Some(instant), poll),
            Deadline::Never => self.wait(strategy, None, poll),
        }
    }

    /// [`wait_until`](WaitSlot::wait_until) for a deadline that lets us wait: `None` is
    /// forever.
    fn wait<R>(
        &self,
        strategy: WaitStrategy,
        deadline: Option<Instant>,
        mut poll: impl FnMut() -> Option<R>,
    ) -> Option<R> {
        match strategy {
            WaitStrategy::Spin => poll_until(deadline, &mut poll, spin_loop),
            WaitStrategy::Yield => poll_until(deadline, &mut poll, thread::yield_now),
            WaitStrategy::Park => self.park_until(deadline, poll),
            WaitStrategy::Adaptive => {
                let yields = if self.spinning_helps() {
                    // Most waits of an active pair end within a few polls: look at the
                    // clock only after those.
                    for _ in 0..POLLS_PER_CLOCK {
                        if let Some(ready) = poll() {
                            return Some(ready);
                        }
                        spin_loop();
                    }
                    let spin_until = Instant::now() + SPIN_FOR;
                    let spin_until = deadline.map_or(spin_until, |d| d.min(spin_until));
                    if let Some(ready) = poll_until(Some(spin_until), &mut poll, spin_loop) {
                        return Some(ready);
                    }
                    0
                } else {
                    YIELDS_ON_ONE_CPU
                };
                for _ in 0..yields {
                    if let Some(ready) = poll() {
                        return Some(ready);
                    }
                    if deadline.is_some_and(|d| Instant::now() >= d) {
                        return None;
                    }
                    thread::yield_now();
                }
                self.park_until(deadline, poll)
            }
        }
    }

    /// Spins until `ready()`, polling it at most [`LINGER_POLLS`] times with twice as
    /// many spin-loop hints between polls each time (1, 2, 4, ... up to
    /// [`LINGER_MAX_PAUSES`]), where `strategy` spins now (`Spin`, or `Adaptive` with
    /// another CPU for the other side); returns at once otherwise. For a waiter that is
    /// in no hurry (a sender facing a full ring, whose receiver has plenty to take) and
    /// that would disturb the other side by polling often. It decides nothing: the
    /// caller goes on to wait as usual. Returns whether `strategy` spins now.
    pub(crate) fn linger(&self, strategy: WaitStrategy, mut ready: impl FnMut() -> bool) -> bool {
        let spins = match strategy {
            WaitStrategy::Spin => true,
            // Asked without keeping the verdict on the hint: lingering is not one of the
            // waits that the hint counts (the wait that follows is).
            WaitStrategy::Adaptive => self.spinning_helps_now(false),
            WaitStrategy::Yield | WaitStrategy::Park => false,
        };
        if !spins {
            return false;
        }
        let mut pauses = 1;
        for _ in 0..LINGER_POLLS {
            for _ in 0..pauses {
                spin_loop();
            }
            if ready() {
                break;
            }
            pauses = (pauses * 2).min(LINGER_MAX_PAUSES);
        }
        true
    }

    /// Whether the adaptive strategy should spin before it parks, rather than yield:
    /// gathers the facts for [`placement::choose`] and keeps its verdict on the hint.
    fn spinning_helps(&self) -> bool {
        self.spinning_helps_now(true)
    }

    /// [`spinning_helps`](WaitSlot::spinning_helps); the verdict on the hint is kept
    /// only if `keep`.
    fn spinning_helps_now(&self, keep: bool) -> bool {
        let cpu = current_cpu();
        let waker_cpu = self.state.waker_cpu.load(Ordering::Relaxed);
        let yields_on_hint = self.yields_on_hint.load(Ordering::Relaxed);
        let facts = Facts {
            cpu,
            waker_cpu: (waker_cpu != NO_CPU).then_some(waker_cpu),
            yields_on_hint,
        };
        let (choice, hint) = choose(facts, || process_may_spin(cpu));
        // Plain loads and stores: a count that other waiters of the slot race on is
        // still a hint.
        match if keep { hint } else { Hint::Keep } {
            Hint::Keep => {}
            Hint::CountYield => self
                .yields_on_hint
                .store(yields_on_hint + 1, Ordering::Relaxed),
            Hint::Forget => {
                self.yields_on_hint.store(0, Ordering::Relaxed);
                self.state.waker_cpu.store(NO_CPU, Ordering::Relaxed);
            }
        }
        choice == Choice::Spin
    }

    /// The parking phase: register, then announce, re-check, sleep; loop on spurious
    /// wake-ups.
    fn park_until<R>(
        &self,
        deadline: Option<Instant>,
        mut poll: impl FnMut() -> Option<R>,
    ) -> Option<R> {
        // Registered until this returns (or `poll` panics).
        let registered = Registered::new(self);
        loop {
            // Announce before the re-check below: a waker that published before our
            // re-check is seen by it, one that published after sees the announcement.
            // mutant(loom_mpsc): park: no announcement before the re-check =>
            registered.announce();
            heavy_fence();
            // mutant(loom_mpsc): park: re-check after announcing removed => if let Some(ready) = None {
            if let Some(ready) = poll() {
                return Some(ready);
            }
            match deadline {
                None => thread::park(),
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        return None;
                    }
                    thread::park_timeout(deadline - now);
                }
            }
            // Woken, timed out or spurious: look before announcing again, so that a real
            // wake-up costs no second heavy fence.
            if let Some(ready) = poll() {
                return Some(ready);
            }
        }
    }
}

/// How many sleepers a [`WaitSlot`] has room for from the start; more (clones parked
/// together) grow the list once in a while.
const SLEEPERS_RESERVED: usize = 4;

/// A thread that parks, or is about to, on a [`WaitSlot`].
struct Sleeper {
    thread: Thread,
    /// Announced and not unparked since: counted in `pending`.
    announced: bool,
}

/// A thread's registration with a [`WaitSlot`] for one parking phase.
struct Registered<'a> {
    slot: &'a WaitSlot,
    thread: thread::ThreadId,
}

impl<'a> Registered<'a> {
    fn new(slot: &'a WaitSlot) -> Self {
        let thread = thread::current();
        let id = thread.id();
        lock(&slot.sleepers).push(Sleeper {
            thread,
            announced: false,
        });
        Registered { slot, thread: id }
    }

    /// Announces that this thread is about to park (unless it already has and no waker
    /// has unparked it since).
    fn announce(&self) {
        let mut sleepers = lock(&self.slot.sleepers);
        let me = Self::find(&mut sleepers, self.thread);
        if !me.announced {
            me.announced = true;
            let pending = &self.slot.state.pending;
            pending.store(pending.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
        }
    }

    fn find(sleepers: &mut [Sleeper], thread: thread::ThreadId) -> &mut Sleeper {
        match sleepers.iter_mut().find(|s| s.thread.id() == thread) {
            Some(me) => me,
            None => unreachable!("a registered thread is in the list until it leaves"),
        }
    }
}

impl Drop for Registered<'_> {
    fn drop(&mut self) {
        let mut sleepers = lock(&self.slot.sleepers);
        if Self::find(&mut sleepers, self.thread).announced {
            let pending = &self.slot.state.pending;
            pending.store(pending.load(Ordering::Relaxed) - 1, Ordering::Relaxed);
        }
        if let Some(at) = sleepers.iter().position(|s| s.thread.id() == self.thread) {
            sleepers.swap_remove(at);
        }
    }
}

impl fmt::Debug for WaitSlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitSlot")
            .field("pending", &self.state.pending.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// How long an operation may wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Deadline {
    /// Not at all (`try_send`, `try_recv`): look once.
    Now,
    /// Until then.
    At(Instant),
    /// Forever.
    Never,
}

impl Deadline {
    /// Now + `timeout`; forever when that instant cannot be represented (`Duration::MAX`).
    pub(crate) fn after(timeout: Duration) -> Self {
        Instant::now()
            .checked_add(timeout)
            .map_or(Deadline::Never, Deadline::At)
    }
}

/// Wakes a wait slot, with a full fence, when dropped: placed after the ring half whose
/// drop it announces, it wakes the other side even if dropping a value panics.
#[derive(Debug)]
pub(crate) struct WakeOnDrop(Arc<WaitSlot>);

impl WakeOnDrop {
    pub(crate) fn new(slot: Arc<WaitSlot>) -> Self {
        WakeOnDrop(slot)
    }

    /// The slot it wakes.
    #[inline(always)]
    pub(crate) fn slot(&self) -> &WaitSlot {
        &self.0
    }

    /// The slot it wakes, to share.
    pub(crate) fn slot_arc(&self) -> &Arc<WaitSlot> {
        &self.0
    }
}

impl Drop for WakeOnDrop {
    fn drop(&mut self) {
        // mutant(loom_mpsc): a dropped channel half does not wake the other =>
        // mutant(loom_service): a closed link or a dropped client does not wake the other side =>
        self.0.notify_strong();
    }
}

/// Polls, calling `pause` between tries, until `poll` is ready or `deadline` passes.
fn poll_until<R>(
    deadline: Option<Instant>,
    poll: &mut impl FnMut() -> Option<R>,
    mut pause: impl FnMut(),
) -> Option<R> {
    loop {
        for _ in 0..POLLS_PER_CLOCK {
            if let Some(ready) = poll() {
                return Some(ready);
            }
            pause();
        }
        if let Some(deadline) = deadline {
            if Instant::now() >= deadline {
                return poll();
            }
        }
    }
}

/// The adaptive strategy's choice between spinning and yielding. Needs real CPUs: not
/// under loom or Miri, where `current_cpu` knows none.
#[cfg(all(test, not(loom), not(miri), target_os = "linux"))]
mod tests {
    use super::*;

    /// Pins the calling thread to `core` and returns the CPU the OS reports for it, or
    /// `None` where that core cannot be had (fewer CPUs than the test needs).
    fn pin(core: usize) -> Option<usize> {
        let cores = core_affinity::get_core_ids()?;
        let id = *cores.get(core)?;
        core_affinity::set_for_current(id).then(current_cpu)?
    }

    #[test]
    fn adaptive_spins_only_while_the_waker_runs_on_another_cpu() {
        std::thread::spawn(|| {
            let cpu = pin(0).expect("a thread pinned to CPU 0 knows its CPU");
            let slot = WaitSlot::new();
            slot.state.waker_cpu.store(cpu, Ordering::Relaxed);
            assert!(!slot.spinning_helps(), "a waker on our CPU needs our CPU");
            slot.state.waker_cpu.store(cpu + 1, Ordering::Relaxed);
            assert!(
                slot.spinning_helps(),
                "a waker on another CPU can answer a spin"
            );
        })
        .join()
        .unwrap();
    }

    #[test]
    fn a_same_cpu_hint_is_forgotten_after_a_while() {
        std::thread::spawn(|| {
            let cpu = pin(0).expect("a thread pinned to CPU 0 knows its CPU");
            let slot = WaitSlot::new();
            slot.state.waker_cpu.store(cpu, Ordering::Relaxed);
            for wait in 1..placement::YIELD_HINT_WAITS {
                assert!(!slot.spinning_helps(), "wait {wait} yields on the hint");
            }
            slot.spinning_helps();
            assert_eq!(
                slot.state.waker_cpu.load(Ordering::Relaxed),
                NO_CPU,
                "the hint is forgotten after {} waits",
                placement::YIELD_HINT_WAITS
            );
        })
        .join()
        .unwrap();
    }

    #[test]
    fn an_unpark_leaves_the_wakers_cpu() {
        use std::sync::atomic::AtomicBool as Flag;
        let slot = std::sync::Arc::new(WaitSlot::new());
        let rung = std::sync::Arc::new(Flag::new(false));
        let sleeper = {
            let (slot, rung) = (slot.clone(), rung.clone());
            std::thread::spawn(move || {
                slot.wait_until(WaitStrategy::Park, Deadline::Never, || {
                    rung.load(Ordering::Acquire).then_some(())
                });
            })
        };
        // The waker, pinned, rings once the sleeper has announced itself, so that the
        // ring needs an unpark (a fresh thread's park does not return spuriously).
        let waker_cpu = pin(0).expect("a thread pinned to CPU 0 knows its CPU");
        while slot.state.pending.load(Ordering::Relaxed) == 0 {
            std::thread::yield_now();
        }
        rung.store(true, Ordering::Release);
        slot.notify_strong();
        sleeper.join().unwrap();
        assert_eq!(slot.state.waker_cpu.load(Ordering::Relaxed), waker_cpu);
    }

    /// The process-wide guess must not take one pinned thread's view for the whole
    /// process: threads pinned to two CPUs can spin for each other.
    #[test]
    fn threads_pinned_to_two_cpus_can_spin() {
        let on =
            |core| std::thread::spawn(move || pin(core).map(|cpu| process_may_spin(Some(cpu))));
        let first = on(0).join().unwrap();
        let Some(second) = on(1).join().unwrap() else {
            return; // one CPU only: nothing to show
        };
        assert!(first.is_some(), "a thread pinned to CPU 0 knows its CPU");
        assert!(second, "waiters seen on two CPUs");
    }
}
