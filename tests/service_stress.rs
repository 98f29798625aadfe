//! Races with stop, stress and drop accounting for `ringlink::service`: a request is
//! either handled or the call waiting for it fails; every request and reply is dropped
//! exactly once, whatever the interleaving of calls, stops, panics and departures.
#![cfg(not(loom))]

use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

use ringlink::service::{CallError, Outcome, Server, Service, ServiceConfig, ServiceManager};

mod common;
use common::{Ledger, Tracked, STRATEGIES};

/// Echoes the same box.
struct Echo;

impl Service for Echo {
    type Request = Tracked;
    type Response = Tracked;

    fn handle(&mut self, request: Box<Tracked>) -> Option<Box<Tracked>> {
        Some(request)
    }
}

/// Echoes; panics on the `n`-th request.
struct PanicsAt(usize);

impl Service for PanicsAt {
    type Request = Tracked;
    type Response = Tracked;

    fn handle(&mut self, request: Box<Tracked>) -> Option<Box<Tracked>> {
        self.0 -= 1;
        assert!(self.0 != 0, "planned panic");
        Some(request)
    }
}

/// Clients call in a loop until the service stops, which races with their calls: every
/// successful call is a handled request, every handled request a successful call, and
/// nothing leaks or is dropped twice.
#[test]
fn calls_racing_with_stop_are_handled_or_fail() {
    let rounds = if cfg!(miri) { 2 } else { 120 };
    for round in 0..rounds {
        let strategy = STRATEGIES[round % STRATEGIES.len()];
        let ledger = Ledger::new();
        let cfg = ServiceConfig::new()
            .with_wait_strategy(strategy)
            .with_link_capacity(2);
        let mut manager = ServiceManager::with_config(cfg);
        let echo = manager.start("echo", Echo).unwrap();
        let clients = 2;
        let start = Arc::new(Barrier::new(clients + 1));
        let workers: Vec<_> = (0..clients)
            .map(|_| {
                let mut client = echo.connect().unwrap();
                let ledger = ledger.clone();
                let start = start.clone();
                thread::spawn(move || {
                    start.wait();
                    let mut ok = 0u64;
                    loop {
                        match client.call(ledger.make_next()) {
                            Ok(reply) => {
                                drop(reply);
                                ok += 1;
                            }
                            Err(CallError::NotSent(request)) => {
                                drop(request);
                                return ok;
                            }
                            Err(CallError::NoReply) => return ok,
                        }
                    }
                })
            })
            .collect();
        start.wait();
        // Let the calls run for a moment that varies from round to round.
        for _ in 0..(round % 7) * 50 {
            thread::yield_now();
        }
        let report = manager.shutdown();
        let ok: u64 = workers.into_iter().map(|w| w.join().unwrap()).sum();
        assert!(report.is_clean());
        assert_eq!(report.handled(), ok, "round {round} ({strategy:?})");
        ledger.assert_balanced("");
    }
}

/// Clients send without waiting for replies (so requests queue up), drop some of their
/// replies unread, and leave at random; the service stops in the middle. Everything
/// queued is dropped exactly once.
#[test]
fn queued_requests_and_unread_replies_are_dropped_exactly_once() {
    let rounds = if cfg!(miri) { 2 } else { 100 };
    for round in 0..rounds {
        let strategy = STRATEGIES[round % STRATEGIES.len()];
        let ledger = Ledger::new();
        let cfg = ServiceConfig::new()
            .with_wait_strategy(strategy)
            .with_link_capacity(8);
        let mut manager = ServiceManager::with_config(cfg);
        let echo = manager.start("echo", Echo).unwrap();
        let workers: Vec<_> = (0..3usize)
            .map(|t| {
                let mut client = echo.connect().unwrap();
                let ledger = ledger.clone();
                thread::spawn(move || {
                    for i in 0..(round + t * 13) % 40 {
                        if client.try_send(ledger.make_next()).is_err() {
                            break; // full (replies unread) or disconnected
                        }
                        if i % 3 == 0 {
                            let _ = client.try_recv();
                        }
                    }
                    // The client leaves with replies unread and requests queued.
                })
            })
            .collect();
        if round % 2 == 0 {
            thread::yield_now();
        }
        let report = manager.shutdown();
        for worker in workers {
            worker.join().unwrap();
        }
        assert!(report.is_clean());
        ledger.assert_balanced("");
    }
}

/// A service panics in the middle of many clients' calls: every client's call then
/// fails instead of hanging, the other service goes on, nothing leaks.
#[test]
fn a_panic_amid_calls_disconnects_every_client_and_leaks_nothing() {
    let rounds = if cfg!(miri) { 1 } else { 50 };
    for round in 0..rounds {
        let strategy = STRATEGIES[round % STRATEGIES.len()];
        let ledger = Ledger::new();
        let cfg = ServiceConfig::new()
            .with_wait_strategy(strategy)
            .with_link_capacity(2);
        let mut manager = ServiceManager::with_config(cfg);
        let fragile = manager.start("fragile", PanicsAt(20 + round)).unwrap();
        let steady = manager.start("steady", Echo).unwrap();
        // Every client connects before any worker runs: a worker may trigger the planned
        // panic at once, after which `connect` fails with `Stopped`.
        let clients: Vec<_> = (0..3).map(|_| fragile.connect().unwrap()).collect();
        let workers: Vec<_> = clients
            .into_iter()
            .map(|mut client| {
                let ledger = ledger.clone();
                thread::spawn(move || {
                    let mut ok = 0u64;
                    while let Ok(reply) = client.call(ledger.make_next()) {
                        drop(reply);
                        ok += 1;
                    }
                    ok
                })
            })
            .collect();
        let ok: u64 = workers.into_iter().map(|w| w.join().unwrap()).sum();
        let mut client = steady.connect().unwrap();
        let reply = client.call(ledger.make_next()).unwrap();
        drop(reply);
        drop(client);
        let report = manager.shutdown();
        let fragile = report.service("fragile").unwrap();
        assert_eq!(
            fragile.outcome(),
            &Outcome::Panicked("planned panic".into())
        );
        // The panicking request does not count as handled.
        assert_eq!(fragile.handled(), ok);
        assert_eq!(fragile.handled(), 19 + round as u64);
        assert_eq!(
            report.service("steady").unwrap().outcome(),
            &Outcome::Stopped
        );
        ledger.assert_balanced("");
    }
}

/// Many clients connect, call and leave while the server runs; links come and go
/// without stopping it.
#[test]
fn clients_come_and_go_while_the_server_runs() {
    let (threads, rounds, calls) = if cfg!(miri) { (2, 2, 3) } else { (4, 50, 100) };
    for strategy in STRATEGIES {
        let ledger = Ledger::new();
        let cfg = ServiceConfig::new()
            .with_wait_strategy(strategy)
            .with_link_capacity(4);
        let server = Server::with_config("echo", Echo, cfg);
        let echo = server.service_handle();
        let thread = thread::spawn(move || server.run());
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                let echo = echo.clone();
                let ledger = ledger.clone();
                thread::spawn(move || {
                    for _ in 0..rounds {
                        let mut client = echo.connect().unwrap();
                        for _ in 0..calls {
                            drop(client.call(ledger.make_next()).unwrap());
                        }
                    }
                })
            })
            .collect();
        for worker in workers {
            worker.join().unwrap();
        }
        echo.stop();
        let report = thread.join().unwrap();
        assert_eq!(report.handled(), (threads * rounds * calls) as u64);
        ledger.assert_balanced("");
    }
}

/// Connecting races with stop: a connect either fails, or yields a client whose calls
/// are answered or fail; nothing hangs.
#[test]
fn connects_racing_with_stop_never_hang() {
    let rounds = if cfg!(miri) { 2 } else { 200 };
    for round in 0..rounds {
        let ledger = Ledger::new();
        let strategy = STRATEGIES[round % STRATEGIES.len()];
        let cfg = ServiceConfig::new().with_wait_strategy(strategy);
        let mut manager = ServiceManager::with_config(cfg);
        let echo = manager.start("echo", Echo).unwrap();
        let connector = {
            let ledger = ledger.clone();
            thread::spawn(move || {
                let mut answered = 0;
                while let Ok(mut client) = echo.connect() {
                    match client.call(ledger.make_next()) {
                        Ok(reply) => {
                            drop(reply);
                            answered += 1;
                        }
                        Err(_) => break,
                    }
                }
                answered
            })
        };
        thread::sleep(Duration::from_micros((round % 10) as u64 * 50));
        let report = manager.shutdown();
        let answered = connector.join().unwrap();
        assert_eq!(report.handled(), answered);
        ledger.assert_balanced("");
    }
}
