//! loom models of the service layer's wake-ups and of stop racing with requests: every
//! interleaving (up to the preemption bound) of the real server loop (`Server::run`),
//! the real client half and the real stop, with `sync.rs` swapped to loom.
//!
//! A lost wake-up shows up as a deadlock: loom reports it when every thread is parked.
//! The server sleeps on one doorbell that clients ring after pushing a request (also
//! the first one on a link that it has not taken yet), after popping a reply, and when
//! they go, and that `stop` rings after setting its flag; a client sleeps on its own
//! wait slot, which the server wakes after pushing a reply or making room, and when it
//! closes the link. Each model exercises some of these while the other side may be
//! going to sleep, and keeps every other ring of the same bell out of the way until the
//! one it guards has been needed.
//!
//! Run: `RUSTFLAGS="--cfg loom" cargo test --release --test loom_service`.
//! `.ci/mutants` applies, one at a time, the `// mutant(loom_service)` markers in `src/`
//! (each removes a fence, a wake-up or a re-check these models guard, or weakens an
//! ordering) and checks that some model then fails.
#![cfg(loom)]

use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::sync::Arc;
use loom::thread;
use ringlink::service::{
    CallError, Outcome, RecvError, Server, Service, ServiceConfig, TryRecvError, WaitStrategy,
};

/// Links of `capacity` that park at once: the models are about the parking handshakes
/// (spinning and yielding only add interleavings that end in the same handshake).
fn config(capacity: usize) -> ServiceConfig {
    ServiceConfig::new()
        .with_wait_strategy(WaitStrategy::Park)
        .with_link_capacity(capacity)
}

/// Preemption bound 2 by default (`LOOM_MAX_PREEMPTIONS` overrides it). At 3, loom
/// 0.7 reports deadlocks here that the memory model forbids: its `fence(SeqCst)` lets a
/// relaxed load after the fence miss a store made before the other thread's earlier
/// fence, once the location has a history of several stores, which the doorbell's
/// `parked` flag has (see `loom_false_positive_store_buffering_with_history` below).
fn model(f: impl Fn() + Sync + Send + 'static) {
    common::model(2, f);
}

mod common;

/// Counts its drops in a shared counter, to check that each value is dropped once.
struct Counted(Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

/// Echoes numbers.
struct Number;

impl Service for Number {
    type Request = u8;
    type Response = u8;
    fn handle(&mut self, request: Box<u8>) -> Option<Box<u8>> {
        Some(request)
    }
}

/// Echoes the same box.
struct Echo;

impl Service for Echo {
    type Request = Counted;
    type Response = Counted;

    fn handle(&mut self, request: Box<Counted>) -> Option<Box<Counted>> {
        Some(request)
    }
}

/// A client's request must wake a server that is going to sleep on the doorbell; the
/// reply must wake the client going to sleep on its parker; the stop must wake the
/// server going back to sleep.
#[test]
fn a_request_wakes_a_sleeping_server_and_the_reply_a_sleeping_client() {
    model(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let server = Server::with_config("echo", Echo, config(1));
        let echo = server.service_handle();
        let mut client = echo.connect().unwrap();
        let thread = thread::spawn(move || server.run());
        let reply = client.call(Box::new(Counted(drops.clone()))).unwrap();
        drop(reply);
        echo.stop();
        let report = thread.join().unwrap();
        assert_eq!(report.handled(), 1);
        assert_eq!(report.outcome(), &Outcome::Stopped);
        drop(client);
        assert_eq!(drops.load(Ordering::Relaxed), 1);
    });
}

/// A link made while the server sleeps (with no link at all) must reach it: its first
/// request rings the doorbell, and the server's last look sees the link waiting.
#[test]
fn a_new_link_reaches_a_sleeping_server() {
    model(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let server = Server::with_config("echo", Echo, config(1));
        let echo = server.service_handle();
        let thread = thread::spawn(move || server.run());
        let mut client = echo.connect().unwrap();
        drop(client.call(Box::new(Counted(drops.clone()))).unwrap());
        echo.stop();
        assert_eq!(thread.join().unwrap().handled(), 1);
        drop(client);
        assert_eq!(drops.load(Ordering::Relaxed), 1);
    });
}

/// Stop races with a call: the call is answered (and then the request was handled) or
/// fails (and then it was not); the request is dropped exactly once; nothing hangs.
#[test]
fn stop_racing_with_a_call_loses_nothing() {
    model(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let server = Server::with_config("echo", Echo, config(1));
        let echo = server.service_handle();
        let mut client = echo.connect().unwrap();
        let server = thread::spawn(move || server.run());
        let caller = {
            let drops = drops.clone();
            thread::spawn(move || {
                let answered = match client.call(Box::new(Counted(drops))) {
                    Ok(reply) => {
                        drop(reply);
                        true
                    }
                    Err(CallError::NotSent(request)) => {
                        drop(request);
                        false
                    }
                    Err(CallError::NoReply) => false,
                };
                // Kept until the call is over: its drop rings the doorbell anyway.
                drop(client);
                answered
            })
        };
        echo.stop();
        let report = server.join().unwrap();
        let answered = caller.join().unwrap();
        assert_eq!(report.handled(), u64::from(answered));
        assert_eq!(drops.load(Ordering::Relaxed), 1);
    });
}

/// A reply pushed just before the service stops is still received: the server drops
/// its end of the reply ring after its last push, and a client that sees the end gone
/// looks once more and finds the reply. The client polls with `try_recv`, which (unlike
/// a parked `recv`) runs no fence that would hand it the server's writes anyway.
#[test]
fn a_reply_sent_before_the_stop_is_received() {
    model(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let server = Server::with_config("echo", Echo, config(1));
        let echo = server.service_handle();
        let mut client = echo.connect().unwrap();
        client.send(Box::new(Counted(drops.clone()))).unwrap();
        let thread = thread::spawn(move || server.run());
        echo.stop(); // races with the server taking the request
        let answered = loop {
            match client.try_recv() {
                Ok(reply) => {
                    drop(reply);
                    break true;
                }
                Err(TryRecvError::Disconnected) => break false,
                Err(TryRecvError::Empty) => thread::yield_now(),
            }
        };
        let report = thread.join().unwrap();
        assert_eq!(report.handled(), u64::from(answered));
        drop(client);
        assert_eq!(drops.load(Ordering::Relaxed), 1);
    });
}

/// With links of one slot each way: the client's second request waits for room (the
/// server's pop must wake it), and the server's second reply waits for room (the
/// client's recv must ring the doorbell).
#[test]
fn full_rings_wake_both_ways() {
    model(|| {
        let server = Server::with_config("number", Number, config(1));
        let handle = server.service_handle();
        let mut client = handle.connect().unwrap();
        client.send(Box::new(1)).unwrap();
        let thread = thread::spawn(move || server.run());
        client.send(Box::new(2)).unwrap(); // waits until the server takes the first
        assert_eq!(*client.recv().unwrap(), 1);
        assert_eq!(*client.recv().unwrap(), 2); // the second reply waited for room
        handle.stop();
        assert_eq!(thread.join().unwrap().handled(), 2);
    });
}

/// `try_send` rings the doorbell after its push: a request sent with `try_send` to a
/// server that may be asleep is handled. The client then waits in `recv`, which rings
/// nothing before a reply comes, so a lost ring leaves both sides asleep.
#[test]
fn try_send_wakes_a_sleeping_server() {
    model(|| {
        let server = Server::with_config("number", Number, config(1));
        let handle = server.service_handle();
        let mut client = handle.connect().unwrap();
        let thread = thread::spawn(move || server.run());
        // The ring is empty and the service running: the request goes in.
        assert!(client.try_send(Box::new(1)).is_ok());
        assert_eq!(*client.recv().unwrap(), 1);
        handle.stop();
        assert_eq!(thread.join().unwrap().handled(), 1);
    });
}

/// A `send` that finds the request ring full waits for room, then pushes and rings the
/// doorbell: that request is handled while the server may be going to sleep. Only the
/// second request is answered, so the client's `recv` pops nothing (and rings nothing)
/// that could wake the server in the push's stead.
#[test]
fn a_send_that_waited_for_room_wakes_a_sleeping_server() {
    /// Answers only the request 2.
    struct AnswersTwo;
    impl Service for AnswersTwo {
        type Request = u8;
        type Response = u8;
        fn handle(&mut self, request: Box<u8>) -> Option<Box<u8>> {
            (*request == 2).then_some(request)
        }
    }
    model(|| {
        let server = Server::with_config("two", AnswersTwo, config(1));
        let handle = server.service_handle();
        let mut client = handle.connect().unwrap();
        client.send(Box::new(1)).unwrap(); // fills the ring
        let thread = thread::spawn(move || server.run());
        client.send(Box::new(2)).unwrap(); // waits until the server takes the first
        assert_eq!(*client.recv().unwrap(), 2);
        handle.stop();
        assert_eq!(thread.join().unwrap().handled(), 2);
    });
}

/// A client's drop wakes a server asleep on its link, which then takes the requests
/// left in it. With rings of one slot, the client sends three requests and reads no
/// reply: the first reply fills the reply ring, the second waits in the server, which
/// then takes no request, so the third stays queued and the server sleeps. Only the
/// client's drop (the reply ring abandoned) lets the server drop its waiting reply and
/// take the third request, whose handling panics and so ends the service: no `stop`
/// rings the doorbell in the drop's stead. Without the wake-up the server sleeps on and
/// `join` waits forever. (Waiting instead for the server to drop the values it holds and
/// then calling `stop` makes loom 0.7 report a lost wake-up of the stop, even at
/// preemption bound 2, which the `SeqCst` fences on both sides forbid as far as we can
/// tell: the doorbell's `parked` flag then has a long history, as in
/// `loom_false_positive_store_buffering_with_history` below.)
#[test]
fn a_dropped_client_wakes_a_sleeping_server() {
    /// Echoes; panics on the request 3.
    struct PanicsOnThree;
    impl Service for PanicsOnThree {
        type Request = u8;
        type Response = u8;
        fn handle(&mut self, request: Box<u8>) -> Option<Box<u8>> {
            assert!(*request != 3, "planned panic");
            Some(request)
        }
    }
    silence_planned_panics();
    model(|| {
        let server = Server::with_config("three", PanicsOnThree, config(1));
        let handle = server.service_handle();
        let mut client = handle.connect().unwrap();
        client.send(Box::new(1)).unwrap();
        let thread = thread::spawn(move || server.run());
        client.send(Box::new(2)).unwrap(); // waits until the server takes 1
        client.send(Box::new(3)).unwrap(); // waits until the server takes 2
        drop(client);
        let report = thread.join().unwrap();
        assert_eq!(report.outcome(), &Outcome::Panicked("planned panic".into()));
        assert_eq!(report.handled(), 2, "the panicking request is not counted");
    });
}

/// A panic in the handler stops the service, and its client, waiting for the reply,
/// is woken to get an error.
#[test]
fn a_panic_wakes_the_waiting_client_with_an_error() {
    struct Panics;
    impl Service for Panics {
        type Request = u8;
        type Response = u8;
        fn handle(&mut self, _: Box<u8>) -> Option<Box<u8>> {
            panic!("planned panic");
        }
    }
    silence_planned_panics();
    model(|| {
        let server = Server::with_config("panics", Panics, config(1));
        let handle = server.service_handle();
        let mut client = handle.connect().unwrap();
        let thread = thread::spawn(move || server.run());
        client.send(Box::new(1)).unwrap();
        assert_eq!(client.recv(), Err(RecvError));
        let report = thread.join().unwrap();
        assert_eq!(report.outcome(), &Outcome::Panicked("planned panic".into()));
        assert!(handle.connect().is_err());
    });
}

/// Keeps loom's output readable: the planned panic happens in every interleaving.
/// Other panics (a failing model's) are still printed.
fn silence_planned_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let print = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if info.payload().downcast_ref::<&str>() != Some(&"planned panic") {
                print(info);
            }
        }));
    });
}

/// Why the models run at preemption bound 2: at 3, loom 0.7 finds this outcome, which
/// C++20 (and so Rust) forbids. The server announces itself twice (`parked` true, then
/// false, then true, each announcement followed by a `SeqCst` fence and a look at
/// `stop`); main sets `stop`, fences, and looks at `parked`. Let `Y2` be the server's
/// second fence, `X` main's fence after setting `stop`. If `Y2` precedes `X` in the
/// single total order of `SeqCst` fences, main's load must see the second `true` or a
/// later store (there is none, unless main's own swap, which would then have returned
/// `true`); if `X` precedes `Y2`, the server's load must see `stop`. Either way one side
/// sees the other, yet loom reports neither. Ignored: run it with `--ignored` to see.
#[test]
#[ignore = "documents a loom false positive at preemption bound 3; fails by design"]
fn loom_false_positive_store_buffering_with_history() {
    use loom::sync::atomic::{fence, AtomicBool};
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(3);
    builder.check(|| {
        let stop = Arc::new(AtomicBool::new(false));
        let parked = Arc::new(AtomicBool::new(false));
        let (server_stop, server_parked) = (stop.clone(), parked.clone());
        let server = thread::spawn(move || {
            server_parked.store(true, Ordering::Relaxed);
            fence(Ordering::SeqCst);
            let _ = server_stop.load(Ordering::Relaxed);
            server_parked.store(false, Ordering::Relaxed);
            server_parked.store(true, Ordering::Relaxed);
            fence(Ordering::SeqCst);
            server_stop.load(Ordering::Relaxed)
        });
        fence(Ordering::SeqCst);
        let mut woke = false;
        if parked.load(Ordering::Relaxed) {
            woke = parked.swap(false, Ordering::Relaxed);
        }
        stop.store(true, Ordering::Relaxed);
        fence(Ordering::SeqCst);
        let saw_parked = parked.load(Ordering::Relaxed);
        let saw_stop = server.join().unwrap();
        assert!(
            saw_parked || saw_stop || woke,
            "a lost wake-up the model forbids"
        );
    });
}
