//! Where the threads run, and what the adaptive wait makes of it: spin (the thread we
//! wait for may run on another CPU meanwhile) or yield (it needs our CPU).
//!
//! The decision is [`choose`], a pure function of [`Facts`], so that it is tested
//! without pinning threads. Gathering the facts is the rest of this file: the CPU the
//! calling thread runs on, the CPUs on which this process's waiters have been seen, and
//! whether the process may run on more than one CPU.

/// What the adaptive wait knows when it starts waiting (besides the process-wide guess,
/// which [`choose`] asks for only when these do not decide).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Facts {
    /// The CPU the waiting thread runs on, if the OS tells.
    pub(crate) cpu: Option<usize>,
    /// The CPU on which the last thread that had to wake this waiter ran, if any.
    pub(crate) waker_cpu: Option<usize>,
    /// How many waits already yielded because `waker_cpu` named the waiter's CPU.
    pub(crate) yields_on_hint: usize,
}

/// What the adaptive wait does before it parks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Choice {
    /// Spin: the other thread can answer meanwhile.
    Spin,
    /// Yield a few times: the other thread needs our CPU to answer.
    Yield,
}

/// What becomes of the waker's CPU hint after this decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Hint {
    /// Leave it as it is.
    Keep,
    /// Count one more wait that yielded on it.
    CountYield,
    /// Forget it (and the count): it has been trusted long enough.
    Forget,
}

/// How many waits may yield on the strength of a same-CPU hint before it is forgotten. A
/// yield that wrongly guessed "same CPU" can still succeed (the other side, moved to
/// another CPU since, answers during the system call), and then no park would ever
/// correct the guess; forgetting it lets the process-wide guess, and the next unpark,
/// decide again.
pub(crate) const YIELD_HINT_WAITS: usize = 64;

/// The adaptive wait's decision.
///
/// When the waker ran on another CPU, spin. When it ran on ours, a spin could only end
/// by timing out (the two threads take turns on one CPU): yield, until the hint has been
/// trusted [`YIELD_HINT_WAITS`] times, then forget it. Without a usable hint, the
/// process-wide guess decides: `process_may_spin` is called only then (it costs a few
/// loads on a path an active pair takes every few messages).
pub(crate) fn choose(facts: Facts, process_may_spin: impl FnOnce() -> bool) -> (Choice, Hint) {
    let mut hint = Hint::Keep;
    if let (Some(cpu), Some(waker)) = (facts.cpu, facts.waker_cpu) {
        if waker != cpu {
            return (Choice::Spin, Hint::Keep);
        }
        if facts.yields_on_hint + 1 < YIELD_HINT_WAITS {
            return (Choice::Yield, Hint::CountYield);
        }
        hint = Hint::Forget;
    }
    let choice = if process_may_spin() {
        Choice::Spin
    } else {
        Choice::Yield
    };
    (choice, hint)
}

/// The process-wide guess from its inputs: spinning helps when waiters were seen on two
/// CPUs or more (threads pinned to different CPUs each see one CPU only), or when the
/// process may run on more than one CPU (`available_parallelism`, which honours `taskset`
/// and cgroup quotas, so a process confined to one CPU never spins).
#[cfg_attr(loom, allow(dead_code))] // loom never spins
pub(crate) fn may_spin(cpus_seen: u32, parallelism: usize) -> bool {
    cpus_seen > 1 || parallelism > 1
}

#[cfg(not(loom))]
mod gather {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::OnceLock;

    /// The CPU the calling thread runs on, where the OS tells without a system call
    /// (Linux's `sched_getcpu`, which glibc answers from the thread's rseq area or the
    /// vDSO).
    #[cfg(all(target_os = "linux", not(miri)))]
    #[inline]
    pub(crate) fn current_cpu() -> Option<usize> {
        // SAFETY: `sched_getcpu` takes no arguments and touches no memory of ours.
        let cpu = unsafe { libc::sched_getcpu() };
        usize::try_from(cpu).ok()
    }

    /// Elsewhere, where a thread runs is unknown.
    #[cfg(not(all(target_os = "linux", not(miri))))]
    #[inline]
    pub(crate) fn current_cpu() -> Option<usize> {
        None
    }

    /// Records that a waiter ran on `cpu` and returns the process-wide guess
    /// ([`super::may_spin`]) from the CPUs seen so far and the process's parallelism (read
    /// once).
    pub(crate) fn process_may_spin(cpu: Option<usize>) -> bool {
        /// One bit per CPU (modulo 64) on which a waiter of this process has run.
        static SEEN: AtomicU64 = AtomicU64::new(0);
        static PARALLELISM: OnceLock<usize> = OnceLock::new();
        let mut seen = SEEN.load(Ordering::Relaxed);
        if let Some(cpu) = cpu {
            let bit = 1 << (cpu % 64);
            if seen & bit == 0 {
                seen = SEEN.fetch_or(bit, Ordering::Relaxed) | bit;
            }
        }
        let parallelism = *PARALLELISM.get_or_init(|| {
            std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
        });
        super::may_spin(seen.count_ones(), parallelism)
    }
}

#[cfg(loom)]
mod gather {
    /// Where a model's thread runs is unknown.
    pub(crate) fn current_cpu() -> Option<usize> {
        None
    }

    /// Spinning only multiplies the interleavings a model explores.
    pub(crate) fn process_may_spin(_cpu: Option<usize>) -> bool {
        false
    }
}

pub(crate) use gather::{current_cpu, process_may_spin};

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn facts(cpu: Option<usize>, waker_cpu: Option<usize>) -> Facts {
        Facts {
            cpu,
            waker_cpu,
            yields_on_hint: 0,
        }
    }

    /// A process-wide guess that must not be asked for.
    fn unasked() -> bool {
        panic!("the hint decides: the process-wide guess is not needed")
    }

    #[test]
    fn a_waker_on_another_cpu_means_spin_even_when_the_process_says_yield() {
        assert_eq!(
            choose(facts(Some(0), Some(1)), unasked),
            (Choice::Spin, Hint::Keep)
        );
    }

    #[test]
    fn a_waker_on_our_cpu_means_yield_even_when_the_process_says_spin() {
        let same = facts(Some(3), Some(3));
        assert_eq!(choose(same, unasked), (Choice::Yield, Hint::CountYield));
    }

    #[test]
    fn a_same_cpu_hint_is_forgotten_after_its_last_yield() {
        let mut same = facts(Some(2), Some(2));
        for yields in 0..YIELD_HINT_WAITS - 1 {
            same.yields_on_hint = yields;
            let choice = choose(same, unasked);
            assert_eq!(choice, (Choice::Yield, Hint::CountYield), "{yields}");
        }
        same.yields_on_hint = YIELD_HINT_WAITS - 1;
        assert_eq!(choose(same, || true), (Choice::Spin, Hint::Forget));
        assert_eq!(choose(same, || false), (Choice::Yield, Hint::Forget));
    }

    #[test]
    fn without_a_hint_the_process_decides() {
        for cpus in [(None, None), (Some(0), None), (None, Some(1))] {
            let f = facts(cpus.0, cpus.1);
            assert_eq!(choose(f, || false), (Choice::Yield, Hint::Keep), "{cpus:?}");
            assert_eq!(choose(f, || true), (Choice::Spin, Hint::Keep), "{cpus:?}");
        }
    }

    #[test]
    fn the_process_may_spin_with_two_cpus_seen_or_more_than_one_allowed() {
        assert!(!may_spin(0, 1));
        assert!(!may_spin(1, 1), "one pinned waiter in a one-CPU process");
        assert!(
            may_spin(2, 1),
            "waiters pinned to two CPUs spin for each other"
        );
        assert!(may_spin(1, 2), "a process allowed two CPUs");
        assert!(may_spin(0, 8));
    }
}
