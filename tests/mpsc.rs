//! Behaviour of `ringlink::mpsc`: each semantic the channel promises (std's, plus the
//! single-producer difference) is a test here. Stress and drop accounting are in
//! `mpsc_stress.rs`.
#![cfg(not(loom))]

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc as std_mpsc, Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use ringlink::mpsc::{
    sync_channel, Builder, IntoIter, Iter, Receiver, RecvError, RecvTimeoutError, SendError,
    SendTimeoutError, SyncSender, TryIter, TryRecvError, TrySendError, WaitStrategy,
};

mod common;
use common::{Ledger, Tracked, GRACE, STRATEGIES};

fn channel<T>(strategy: WaitStrategy, bound: usize) -> (SyncSender<T>, Receiver<T>) {
    Builder::new()
        .with_wait_strategy(strategy)
        .sync_channel(bound)
}

// ---------------------------------------------------------------------------------
// Capacity

/// A full channel takes the one slot that a `recv` frees, whatever its bound and wait
/// strategy, cloned or not: `try_send` at once, and a blocking `send` (which refills a
/// large ring in batches of an eighth of it while it spins) without waiting for another
/// `recv`; the bound stays exact. Catches a `try_send` that reports `Full` with a slot
/// free, and a `send` that sleeps until a batch is free, which never comes here (the
/// send runs on a helper thread, watched for a minute: a hang fails the test).
#[test]
fn a_full_channel_takes_the_one_slot_a_recv_frees() {
    let bounds: &[usize] = if cfg!(miri) { &[9, 64] } else { &[9, 64, 1024] };
    for strategy in STRATEGIES {
        for &bound in bounds {
            for cloned in [false, true] {
                let case = format!("{strategy:?}, bound {bound}, cloned {cloned}");
                let (tx, rx) = channel::<usize>(strategy, bound);
                let clone = cloned.then(|| tx.clone());
                for value in 0..bound {
                    tx.try_send(value).unwrap();
                }
                assert_eq!(tx.try_send(bound), Err(TrySendError::Full(bound)), "{case}");
                assert_eq!(rx.recv(), Ok(0), "{case}");
                assert_eq!(tx.try_send(bound), Ok(()), "{case}");
                assert_eq!(
                    tx.try_send(bound + 1),
                    Err(TrySendError::Full(bound + 1)),
                    "{case}"
                );
                assert_eq!(rx.recv(), Ok(1), "{case}");
                let (done, sent) = std_mpsc::channel();
                let sender = thread::spawn(move || {
                    tx.send(bound + 1).unwrap();
                    done.send(()).unwrap();
                    tx
                });
                assert_eq!(
                    sent.recv_timeout(Duration::from_secs(60)),
                    Ok(()),
                    "{case}: the send did not take the free slot"
                );
                let tx = sender.join().unwrap();
                assert_eq!(
                    tx.try_send(bound + 2),
                    Err(TrySendError::Full(bound + 2)),
                    "{case}"
                );
                drop((tx, clone));
                let received: Vec<usize> = rx.iter().collect();
                assert_eq!(received, (2..bound + 2).collect::<Vec<_>>(), "{case}");
            }
        }
    }
}

#[test]
fn bound_is_exact() {
    for bound in [1, 2, 3, 7, 16, 100, 1000] {
        let (tx, rx) = sync_channel(bound);
        for i in 0..bound {
            assert_eq!(
                tx.try_send(i),
                Ok(()),
                "bound {bound}: send {i} needs no receiver"
            );
        }
        assert_eq!(tx.try_send(bound), Err(TrySendError::Full(bound)));
        assert_eq!(
            tx.send_timeout(bound, Duration::from_millis(1)),
            Err(SendTimeoutError::Timeout(bound))
        );
        assert_eq!(rx.recv(), Ok(0));
        assert_eq!(
            tx.try_send(bound),
            Ok(()),
            "one recv frees exactly one slot"
        );
        assert_eq!(tx.try_send(bound + 1), Err(TrySendError::Full(bound + 1)));
        let got: Vec<usize> = rx.try_iter().collect();
        assert_eq!(got, (1..=bound).collect::<Vec<_>>());
    }
}

#[test]
fn blocking_sends_up_to_bound_need_no_receiver() {
    let (tx, rx) = sync_channel(3);
    for i in 0..3 {
        tx.send(i).unwrap(); // would hang if the bound were smaller
    }
    drop(tx);
    assert_eq!(rx.iter().collect::<Vec<_>>(), [0, 1, 2]);
}

#[test]
fn values_arrive_in_order_with_every_strategy() {
    // Modest: busy strategies crawl when the machine has fewer free CPUs than threads.
    let count = if cfg!(miri) { 50 } else { 5_000 };
    for strategy in STRATEGIES {
        for bound in [0, 1, 3, 64] {
            let count = if bound == 0 { count / 10 } else { count };
            let (tx, rx) = channel(strategy, bound);
            let producer = thread::spawn(move || {
                for i in 0..count {
                    tx.send(i).unwrap();
                }
            });
            for i in 0..count {
                assert_eq!(rx.recv(), Ok(i), "{strategy:?}, bound {bound}");
            }
            producer.join().unwrap();
            assert_eq!(rx.recv(), Err(RecvError));
        }
    }
}

#[test]
fn receiver_blocked_on_empty_wakes_for_each_value() {
    for strategy in STRATEGIES {
        let (tx, rx) = channel(strategy, 4);
        let (ack_tx, ack_rx) = std_mpsc::channel();
        let consumer = thread::spawn(move || {
            for _ in 0..3 {
                ack_tx.send(rx.recv().unwrap()).unwrap();
            }
        });
        for i in 0..3 {
            thread::sleep(GRACE / 5); // let the receiver block (and park) first
            tx.send(i).unwrap();
            assert_eq!(ack_rx.recv().unwrap(), i, "{strategy:?}");
        }
        consumer.join().unwrap();
    }
}

#[test]
fn sender_blocked_on_full_wakes_when_a_slot_frees() {
    for strategy in STRATEGIES {
        let (tx, rx) = channel(strategy, 1);
        let sent = Arc::new(AtomicUsize::new(0));
        let sent2 = sent.clone();
        let producer = thread::spawn(move || {
            for i in 0..3 {
                tx.send(i).unwrap();
                sent2.fetch_add(1, Ordering::SeqCst);
            }
        });
        while sent.load(Ordering::SeqCst) == 0 {
            thread::yield_now(); // the first send needs no receiver
        }
        thread::sleep(GRACE);
        assert_eq!(
            sent.load(Ordering::SeqCst),
            1,
            "{strategy:?}: second send blocks"
        );
        for i in 0..3 {
            assert_eq!(rx.recv(), Ok(i));
        }
        producer.join().unwrap();
    }
}

// ---------------------------------------------------------------------------------
// Rendezvous (bound 0)

#[test]
fn rendezvous_send_returns_only_once_the_value_is_taken() {
    for strategy in STRATEGIES {
        let (tx, rx) = channel(strategy, 0);
        let returned = Arc::new(AtomicBool::new(false));
        let returned2 = returned.clone();
        let sender = thread::spawn(move || {
            tx.send(7).unwrap();
            returned2.store(true, Ordering::SeqCst);
            tx
        });
        thread::sleep(GRACE);
        assert!(
            !returned.load(Ordering::SeqCst),
            "{strategy:?}: send returned with nobody receiving"
        );
        assert_eq!(rx.recv(), Ok(7));
        let tx = sender.join().unwrap();
        assert!(returned.load(Ordering::SeqCst));
        // The value left the channel: nothing more to receive.
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
        drop(tx);
        assert_eq!(rx.recv(), Err(RecvError));
    }
}

#[test]
fn rendezvous_try_send_needs_a_receiver_waiting_in_recv() {
    for strategy in STRATEGIES {
        let (tx, rx) = channel(strategy, 0);
        assert_eq!(
            tx.try_send(1),
            Err(TrySendError::Full(1)),
            "nobody receives"
        );
        let receiver = thread::spawn(move || (rx.recv(), rx));
        // Only once the receiver waits in `recv` can `try_send` succeed.
        let mut value = 2;
        loop {
            match tx.try_send(value) {
                Ok(()) => break,
                Err(TrySendError::Full(back)) => value = back,
                Err(TrySendError::Disconnected(_)) => panic!("receiver is alive"),
            }
            thread::yield_now();
        }
        let (got, rx) = receiver.join().unwrap();
        assert_eq!(got, Ok(2), "{strategy:?}");
        assert_eq!(
            tx.try_send(3),
            Err(TrySendError::Full(3)),
            "receiver left recv"
        );
        drop(rx);
        assert_eq!(tx.try_send(4), Err(TrySendError::Disconnected(4)));
        assert_eq!(tx.send(5), Err(SendError(5)));
    }
}

#[test]
fn rendezvous_try_recv_takes_from_a_blocked_sender() {
    for strategy in STRATEGIES {
        let (tx, rx) = channel(strategy, 0);
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
        let sender = thread::spawn(move || {
            tx.send(9).unwrap();
            tx
        });
        let got = loop {
            match rx.try_recv() {
                Ok(value) => break value,
                Err(TryRecvError::Empty) => thread::yield_now(),
                Err(TryRecvError::Disconnected) => panic!("sender is alive"),
            }
        };
        assert_eq!(got, 9, "{strategy:?}");
        let tx = sender.join().unwrap();
        drop(tx);
        assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    }
}

#[test]
fn rendezvous_timeouts_lose_nothing() {
    // Both sides give up after short timeouts, racing: every value is either handed back
    // to the sender in an error or received, exactly once, never both.
    let rounds = if cfg!(miri) { 20 } else { 3_000 };
    let (tx, rx) = sync_channel::<usize>(0);
    let sender = thread::spawn(move || {
        let mut delivered = Vec::new();
        for i in 0..rounds {
            match tx.send_timeout(i, Duration::from_micros((i % 7) as u64 * 5)) {
                Ok(()) => delivered.push(i),
                Err(SendTimeoutError::Timeout(back)) => assert_eq!(back, i),
                Err(SendTimeoutError::Disconnected(_)) => panic!("receiver is alive"),
            }
        }
        delivered
    });
    let mut received = Vec::new();
    loop {
        match rx.recv_timeout(Duration::from_micros(3)) {
            Ok(value) => received.push(value),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
    }
    let delivered = sender.join().unwrap();
    assert_eq!(received, delivered);
}

#[test]
fn rendezvous_send_timeout_times_out_without_a_receiver() {
    let (tx, _rx) = sync_channel(0);
    let timeout = Duration::from_millis(20);
    let start = Instant::now();
    assert_eq!(
        tx.send_timeout("x", timeout),
        Err(SendTimeoutError::Timeout("x"))
    );
    assert!(start.elapsed() >= timeout, "timed out early");
}

// ---------------------------------------------------------------------------------
// Disconnection

#[test]
fn dropping_the_sender_delivers_what_was_sent_then_disconnects() {
    for strategy in STRATEGIES {
        let (tx, rx) = channel(strategy, 4);
        tx.send(1).unwrap();
        tx.send(2).unwrap();
        tx.send(3).unwrap();
        drop(tx);
        assert_eq!(rx.recv(), Ok(1));
        assert_eq!(rx.try_recv(), Ok(2));
        assert_eq!(rx.recv_timeout(Duration::from_millis(1)), Ok(3));
        assert_eq!(rx.recv(), Err(RecvError));
        assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
        assert_eq!(
            rx.recv_timeout(Duration::from_millis(1)),
            Err(RecvTimeoutError::Disconnected)
        );
        assert_eq!(
            rx.recv_deadline(Instant::now()),
            Err(RecvTimeoutError::Disconnected)
        );
    }
}

#[test]
fn a_blocked_recv_wakes_when_the_sender_goes() {
    for strategy in STRATEGIES {
        for bound in [0, 1, 8] {
            let (tx, rx) = channel::<u8>(strategy, bound);
            let blocked = thread::spawn(move || rx.recv());
            thread::sleep(GRACE / 5);
            drop(tx);
            assert_eq!(
                blocked.join().unwrap(),
                Err(RecvError),
                "{strategy:?} {bound}"
            );

            let (tx, rx) = channel::<u8>(strategy, bound);
            let blocked = thread::spawn(move || rx.recv_timeout(Duration::MAX));
            thread::sleep(GRACE / 5);
            drop(tx);
            assert_eq!(blocked.join().unwrap(), Err(RecvTimeoutError::Disconnected));
        }
    }
}

#[test]
fn dropping_the_receiver_drops_queued_values_at_once() {
    let ledger = Ledger::new();
    let (tx, rx) = sync_channel(8);
    for i in 0..5 {
        tx.send(ledger.make(i)).unwrap();
    }
    assert_eq!(ledger.alive(), 5);
    drop(rx);
    assert_eq!(ledger.alive(), 0, "queued values outlived the receiver");
    // The sender is still alive, and every send now hands its value back.
    match tx.send(ledger.make(5)) {
        Err(SendError(value)) => assert_eq!(value.id, 5),
        Ok(()) => panic!("sent to a dropped receiver"),
    }
    assert!(matches!(
        tx.try_send(ledger.make(6)),
        Err(TrySendError::Disconnected(Tracked { id: 6, .. }))
    ));
    assert!(matches!(
        tx.send_timeout(ledger.make(7), Duration::from_millis(1)),
        Err(SendTimeoutError::Disconnected(Tracked { id: 7, .. }))
    ));
    assert_eq!(ledger.alive(), 0);
    drop(tx);
    ledger.assert_balanced("after the receiver's drop");
}

/// A send blocked on a full channel (or a rendezvous) wakes with its value when the
/// receiver goes. The sleep only makes it likely that the send blocked first: a send
/// that starts while the receiver's drop drains the buffer must fail too, since only
/// that drain makes room (std's send, too, succeeds only while the receiver lives).
/// Catches a lost wake-up (hang) and a send that takes the slot the drain freed.
#[test]
fn a_blocked_send_wakes_when_the_receiver_goes() {
    for strategy in STRATEGIES {
        for bound in [0, 1, 4] {
            let (tx, rx) = channel(strategy, bound);
            for i in 0..bound {
                tx.send(i).unwrap();
            }
            let blocked = thread::spawn(move || tx.send(99));
            thread::sleep(GRACE / 5);
            drop(rx);
            let sent = blocked.join().unwrap();
            assert_eq!(sent, Err(SendError(99)), "{strategy:?} {bound}");

            let (tx, rx) = channel(strategy, bound);
            for i in 0..bound {
                tx.send(i).unwrap();
            }
            let blocked = thread::spawn(move || tx.send_timeout(98, Duration::MAX));
            thread::sleep(GRACE / 5);
            drop(rx);
            let sent = blocked.join().unwrap();
            assert_eq!(
                sent,
                Err(SendTimeoutError::Disconnected(98)),
                "{strategy:?} {bound}"
            );
        }
    }
}

#[test]
fn a_panic_on_the_sending_thread_disconnects() {
    let (tx, rx) = sync_channel::<u32>(2);
    let blocked = thread::spawn(move || rx.recv());
    let panicking = thread::spawn(move || {
        tx.send(1).unwrap();
        panic!("sender thread dies holding the sender");
    });
    assert!(panicking.join().is_err());
    assert_eq!(blocked.join().unwrap(), Ok(1));

    let (tx, rx) = sync_channel::<u32>(2);
    let panicking = thread::spawn(move || {
        let _tx = tx;
        panic!("sender thread dies holding the sender");
    });
    assert!(panicking.join().is_err());
    assert_eq!(rx.recv(), Err(RecvError));
}

#[test]
fn a_panic_on_the_receiving_thread_disconnects() {
    let (tx, rx) = sync_channel::<u32>(1);
    tx.send(1).unwrap();
    let sending = thread::spawn(move || tx.send(2)); // blocks: the buffer is full
    let panicking = thread::spawn(move || {
        let _rx = rx;
        thread::sleep(GRACE / 5);
        panic!("receiver thread dies holding the receiver");
    });
    assert!(panicking.join().is_err());
    // Blocked or not yet started when the receiver went, it must fail: nothing but the
    // receiver's drop empties the buffer.
    assert_eq!(sending.join().unwrap(), Err(SendError(2)));
}

// ---------------------------------------------------------------------------------
// Timeouts

#[test]
fn recv_timeout_never_returns_early() {
    for strategy in STRATEGIES {
        let (_tx, rx) = channel::<u8>(strategy, 1);
        for micros in [0, 1, 10, 100, 1_000, 10_000] {
            let timeout = Duration::from_micros(micros);
            let start = Instant::now();
            assert_eq!(rx.recv_timeout(timeout), Err(RecvTimeoutError::Timeout));
            assert!(
                start.elapsed() >= timeout,
                "{strategy:?}: {timeout:?} ended early"
            );

            let deadline = Instant::now() + timeout;
            assert_eq!(rx.recv_deadline(deadline), Err(RecvTimeoutError::Timeout));
            assert!(
                Instant::now() >= deadline,
                "{strategy:?}: deadline ended early"
            );
        }
    }
}

#[test]
fn send_timeout_never_returns_early() {
    for strategy in STRATEGIES {
        let (tx, _rx) = channel(strategy, 1);
        tx.send(0u8).unwrap();
        for micros in [0, 1, 10, 100, 1_000, 10_000] {
            let timeout = Duration::from_micros(micros);
            let start = Instant::now();
            assert_eq!(
                tx.send_timeout(1, timeout),
                Err(SendTimeoutError::Timeout(1))
            );
            assert!(
                start.elapsed() >= timeout,
                "{strategy:?}: {timeout:?} ended early"
            );
        }
    }
}

#[test]
fn huge_timeouts_and_far_deadlines_mean_forever() {
    let far = Instant::now()
        .checked_add(Duration::from_secs(100 * 365 * 24 * 3600))
        .expect("a century fits in an Instant");
    for bound in [0, 1] {
        let (tx, rx) = sync_channel(bound);
        let sender = thread::spawn(move || {
            thread::sleep(GRACE / 5);
            tx.send(1).unwrap();
            thread::sleep(GRACE / 5);
            tx.send(2).unwrap();
            thread::sleep(GRACE / 5);
            tx.send_timeout(3, Duration::MAX).unwrap();
            tx.send_timeout(4, Duration::MAX).unwrap();
        });
        assert_eq!(rx.recv_timeout(Duration::MAX), Ok(1));
        assert_eq!(rx.recv_deadline(far), Ok(2));
        assert_eq!(rx.recv_timeout(Duration::new(u64::MAX, 999_999_999)), Ok(3));
        thread::sleep(GRACE / 5); // the last send may block on a full buffer meanwhile
        assert_eq!(rx.recv_timeout(Duration::MAX), Ok(4));
        sender.join().unwrap();
        assert_eq!(
            rx.recv_timeout(Duration::MAX),
            Err(RecvTimeoutError::Disconnected)
        );
    }
}

#[test]
fn a_value_sent_before_the_deadline_is_received() {
    let (tx, rx) = sync_channel(1);
    let sender = thread::spawn(move || {
        thread::sleep(GRACE / 5);
        tx.send(5).unwrap();
    });
    assert_eq!(rx.recv_timeout(Duration::from_secs(60)), Ok(5));
    sender.join().unwrap();
}

// ---------------------------------------------------------------------------------
// Waiting

#[test]
fn spurious_unparks_do_not_end_a_wait() {
    for strategy in [WaitStrategy::Park, WaitStrategy::Adaptive] {
        let (tx, rx) = channel(strategy, 1);
        let blocked = thread::spawn(move || rx.recv());
        for _ in 0..if cfg!(miri) { 5 } else { 200 } {
            blocked.thread().unpark();
            thread::yield_now();
        }
        assert!(
            !blocked.is_finished(),
            "{strategy:?}: recv ended with nothing sent"
        );
        tx.send(3).unwrap();
        assert_eq!(blocked.join().unwrap(), Ok(3));
    }
}

#[test]
fn halves_may_move_between_threads_between_waits() {
    let (tx, rx) = Builder::new()
        .with_wait_strategy(WaitStrategy::Park)
        .sync_channel(1);
    // The receiver sleeps on one thread, then on another: each must be woken.
    let rx = thread::spawn(move || {
        assert_eq!(rx.recv(), Ok(1));
        rx
    });
    thread::sleep(GRACE / 5);
    tx.send(1).unwrap();
    let rx = rx.join().unwrap();
    let rx = thread::spawn(move || {
        assert_eq!(rx.recv(), Ok(2));
        rx
    });
    thread::sleep(GRACE / 5);
    tx.send(2).unwrap();
    let rx = rx.join().unwrap();
    // The same for the sender.
    tx.send(3).unwrap();
    let tx = thread::spawn(move || {
        tx.send(4).unwrap();
        tx
    });
    thread::sleep(GRACE / 5);
    assert_eq!(rx.recv(), Ok(3));
    let tx = tx.join().unwrap();
    let tx = thread::spawn(move || {
        tx.send(5).unwrap();
        tx
    });
    thread::sleep(GRACE / 5);
    assert_eq!(rx.recv(), Ok(4));
    assert_eq!(rx.recv(), Ok(5));
    drop(tx.join().unwrap());
    assert_eq!(rx.recv(), Err(RecvError));
}

/// The thread id of the calling thread, from `/proc/thread-self` (`<pid>/task/<tid>`).
#[cfg(target_os = "linux")]
fn current_tid() -> String {
    let link = std::fs::read_link("/proc/thread-self").expect("/proc is mounted");
    link.file_name().unwrap().to_string_lossy().into_owned()
}

/// The scheduler state letter of a thread of this process ('R', 'S', ...).
#[cfg(target_os = "linux")]
fn thread_state(tid: &str) -> char {
    let stat = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")).unwrap();
    // The command name, in parentheses, may hold spaces: the state follows its ')'.
    let after = &stat[stat.rfind(')').unwrap() + 1..];
    after.trim_start().chars().next().unwrap()
}

/// Nanoseconds the thread has run on a CPU (first field of schedstat).
#[cfg(target_os = "linux")]
fn thread_cpu_ns(tid: &str) -> u64 {
    let schedstat = std::fs::read_to_string(format!("/proc/self/task/{tid}/schedstat")).unwrap();
    schedstat
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
#[cfg(target_os = "linux")]
#[cfg_attr(miri, ignore = "reads /proc")]
fn an_idle_receiver_uses_no_cpu_once_parked() {
    for strategy in [WaitStrategy::Adaptive, WaitStrategy::Park] {
        let (tx, rx) = channel::<u8>(strategy, 4);
        let (tid_tx, tid_rx) = std_mpsc::channel();
        let receiver = thread::spawn(move || {
            tid_tx.send(current_tid()).unwrap();
            rx.recv()
        });
        let tid = tid_rx.recv().unwrap();
        // Wait until the thread sleeps: a spinning or yielding receiver never does.
        let mut polls = 0;
        while thread_state(&tid) != 'S' {
            polls += 1;
            assert!(
                polls < 10_000,
                "{strategy:?}: the receiver never went to sleep"
            );
            thread::sleep(Duration::from_millis(1));
        }
        let before = thread_cpu_ns(&tid);
        for _ in 0..10 {
            thread::sleep(Duration::from_millis(20));
            assert_eq!(
                thread_state(&tid),
                'S',
                "{strategy:?}: woke up with nothing sent"
            );
        }
        let used = thread_cpu_ns(&tid) - before;
        // A receiver that polled would have used most of the 200 ms.
        assert!(
            used < 1_000_000,
            "{strategy:?}: parked receiver ran {used} ns"
        );
        tx.send(1).unwrap();
        assert_eq!(receiver.join().unwrap(), Ok(1));
    }
}

/// Runs the channel with every thread of a child process confined to one CPU.
///
/// `available_parallelism` then says 1 (it honours the affinity mask), so the adaptive
/// strategy must not spin; correctness must not depend on the number of CPUs either way.
#[test]
#[cfg(target_os = "linux")]
#[cfg_attr(miri, ignore = "spawns a process")]
fn works_on_one_cpu() {
    if std::env::var_os("RINGLINK_ONE_CPU_CHILD").is_some() {
        return one_cpu_child();
    }
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "works_on_one_cpu",
            "--exact",
            "--test-threads=1",
            "--nocapture",
        ])
        .env("RINGLINK_ONE_CPU_CHILD", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("one cpu child: ok"),
        "child failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[cfg(target_os = "linux")]
fn one_cpu_child() {
    let cores = core_affinity::get_core_ids().unwrap();
    // Pin before any thread or channel exists: spawned threads inherit the mask.
    assert!(core_affinity::set_for_current(cores[0]));
    assert_eq!(thread::available_parallelism().unwrap().get(), 1);
    for strategy in STRATEGIES {
        // Busy-polling on one CPU costs a scheduler tick per hand-over: keep spin short.
        let rounds = if strategy == WaitStrategy::Spin {
            5
        } else {
            2_000
        };
        for bound in [0, 1, 16] {
            let (request_tx, request_rx) = channel::<u32>(strategy, bound);
            let (reply_tx, reply_rx) = channel::<u32>(strategy, bound);
            let echo = thread::spawn(move || {
                for request in request_rx {
                    reply_tx.send(request + 1).unwrap();
                }
            });
            for i in 0..rounds {
                request_tx.send(i).unwrap();
                assert_eq!(reply_rx.recv(), Ok(i + 1));
            }
            drop(request_tx);
            echo.join().unwrap();
        }
    }
    println!("one cpu child: ok");
}

// ---------------------------------------------------------------------------------
// Iterators

#[test]
fn iter_waits_for_each_value_and_ends_on_disconnection() {
    let (tx, rx) = sync_channel(2);
    let producer = thread::spawn(move || (0..10).for_each(|i| tx.send(i).unwrap()));
    let iter: Iter<'_, i32> = rx.iter();
    assert_eq!(iter.collect::<Vec<_>>(), (0..10).collect::<Vec<_>>());
    producer.join().unwrap();
    assert_eq!(rx.iter().next(), None, "stays ended");
}

#[test]
fn try_iter_takes_what_is_ready_without_waiting() {
    let (tx, rx) = sync_channel(4);
    let mut ready: TryIter<'_, i32> = rx.try_iter();
    assert_eq!(ready.next(), None, "empty, sender alive: no wait");
    tx.send(1).unwrap();
    tx.send(2).unwrap();
    assert_eq!(rx.try_iter().collect::<Vec<_>>(), [1, 2]);
    tx.send(3).unwrap();
    drop(tx);
    assert_eq!(rx.try_iter().collect::<Vec<_>>(), [3]);
}

#[test]
fn receiver_and_its_reference_are_into_iterators() {
    let (tx, rx) = sync_channel(4);
    tx.send(1).unwrap();
    tx.send(2).unwrap();
    let mut by_ref = Vec::new();
    for value in &rx {
        by_ref.push(value);
        if value == 2 {
            break;
        }
    }
    assert_eq!(by_ref, [1, 2]);
    tx.send(3).unwrap();
    drop(tx);
    let owned: IntoIter<i32> = rx.into_iter();
    assert_eq!(owned.collect::<Vec<_>>(), [3]);
}

// ---------------------------------------------------------------------------------
// Error types: std's, one for one

fn assert_error_traits<E: std::error::Error + Send + Sync + 'static>() {}
fn assert_copy_eq<E: Copy + Clone + PartialEq + Eq + std::fmt::Debug>() {}

#[test]
fn error_types_have_std_derives() {
    /// Neither `Debug` nor `Clone`: the errors' `Debug` must not need `T: Debug`.
    struct Opaque;
    assert_copy_eq::<SendError<u8>>();
    assert_copy_eq::<TrySendError<u8>>();
    assert_copy_eq::<SendTimeoutError<u8>>();
    assert_copy_eq::<RecvError>();
    assert_copy_eq::<TryRecvError>();
    assert_copy_eq::<RecvTimeoutError>();
    assert_error_traits::<SendError<u8>>();
    assert_error_traits::<TrySendError<u8>>();
    assert_error_traits::<SendTimeoutError<u8>>();
    assert_error_traits::<RecvError>();
    assert_error_traits::<TryRecvError>();
    assert_error_traits::<RecvTimeoutError>();
    let _ = format!("{:?}", SendError(Opaque));
    let _ = format!("{:?}", TrySendError::Full(Opaque));
    let _ = format!("{:?}", SendTimeoutError::Timeout(Opaque));
    // `unwrap` needs the error to be `Debug`, whatever `T` is.
    fn unwrappable<E: std::fmt::Debug>(_: &Result<(), E>) {}
    unwrappable::<SendError<Opaque>>(&Ok(()));
    unwrappable::<TrySendError<Opaque>>(&Ok(()));
    unwrappable::<SendTimeoutError<Opaque>>(&Ok(()));
}

#[test]
fn error_messages_match_std() {
    fn same(ours: impl std::fmt::Display, std: impl std::fmt::Display) {
        assert_eq!(ours.to_string(), std.to_string());
    }
    same(SendError(1), std_mpsc::SendError(1));
    same(RecvError, std_mpsc::RecvError);
    same(TryRecvError::Empty, std_mpsc::TryRecvError::Empty);
    same(
        TryRecvError::Disconnected,
        std_mpsc::TryRecvError::Disconnected,
    );
    same(
        RecvTimeoutError::Timeout,
        std_mpsc::RecvTimeoutError::Timeout,
    );
    same(
        RecvTimeoutError::Disconnected,
        std_mpsc::RecvTimeoutError::Disconnected,
    );
    same(TrySendError::Full(1), std_mpsc::TrySendError::Full(1));
    same(
        TrySendError::Disconnected(1),
        std_mpsc::TrySendError::Disconnected(1),
    );
    // std's `SendTimeoutError` is unstable; these are its messages.
    assert_eq!(
        SendTimeoutError::Timeout(1).to_string(),
        "timed out waiting on send operation"
    );
    assert_eq!(
        SendTimeoutError::Disconnected(1).to_string(),
        "sending on a disconnected channel"
    );
}

#[test]
fn error_conversions_match_std() {
    assert_eq!(
        TrySendError::from(SendError(4)),
        TrySendError::Disconnected(4)
    );
    assert_eq!(
        SendTimeoutError::from(SendError(4)),
        SendTimeoutError::Disconnected(4)
    );
    assert_eq!(TryRecvError::from(RecvError), TryRecvError::Disconnected);
    assert_eq!(
        RecvTimeoutError::from(RecvError),
        RecvTimeoutError::Disconnected
    );
    // As with std, `?` converts them, and into `Box<dyn Error>`.
    fn relay(rx: &Receiver<u8>) -> Result<u8, TryRecvError> {
        Ok(rx.recv()?)
    }
    fn boxed(rx: &Receiver<u8>) -> Result<u8, Box<dyn std::error::Error>> {
        Ok(rx.recv()?)
    }
    let (tx, rx) = sync_channel::<u8>(1);
    drop(tx);
    assert_eq!(relay(&rx), Err(TryRecvError::Disconnected));
    assert_eq!(
        boxed(&rx).unwrap_err().to_string(),
        "receiving on a closed channel"
    );
    assert_eq!(SendError(3).into_inner(), 3);
    assert_eq!(TrySendError::Disconnected(3).into_inner(), 3);
    assert_eq!(SendTimeoutError::Disconnected(3).into_inner(), 3);
}

// ---------------------------------------------------------------------------------
// Types

fn assert_send<S: Send>() {}

#[test]
fn halves_are_send_and_need_no_send_to_be_made() {
    assert_send::<SyncSender<u8>>();
    assert_send::<Receiver<u8>>();
    // Like std, making a channel does not require `T: Send` (it just cannot cross).
    let (tx, rx) = sync_channel::<std::rc::Rc<u8>>(1);
    tx.send(std::rc::Rc::new(1)).unwrap();
    assert_eq!(*rx.recv().unwrap(), 1);
    let _ = format!("{tx:?} {rx:?} {:?}", Builder::new());
}

#[test]
fn a_builder_is_reusable_and_defaults_to_adaptive() {
    assert_eq!(Builder::new(), Builder::default());
    assert_eq!(WaitStrategy::default(), WaitStrategy::Adaptive);
    let builder = Builder::new().with_wait_strategy(WaitStrategy::Yield);
    let (tx1, rx1) = builder.sync_channel(1);
    let (tx2, rx2) = builder.sync_channel(1);
    tx1.send(1).unwrap();
    tx2.send(2).unwrap();
    assert_eq!((rx1.recv(), rx2.recv()), (Ok(1), Ok(2)));
}

#[test]
fn senders_and_receivers_meet_across_a_barrier() {
    // Both sides start at once, repeatedly, on fresh channels: the first wait of each
    // side races with the other's first operation.
    let rounds = if cfg!(miri) { 3 } else { 200 };
    for round in 0..rounds {
        let strategy = STRATEGIES[round % STRATEGIES.len()];
        let bound = round % 3;
        let (tx, rx) = channel(strategy, bound);
        let barrier = Arc::new(Barrier::new(2));
        let barrier2 = barrier.clone();
        let producer = thread::spawn(move || {
            barrier2.wait();
            for i in 0..5 {
                tx.send(i).unwrap();
            }
        });
        barrier.wait();
        assert_eq!(rx.iter().collect::<Vec<_>>(), [0, 1, 2, 3, 4]);
        producer.join().unwrap();
    }
}
