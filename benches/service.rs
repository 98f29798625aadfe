//! The original project's `one_thread/1000` workload: a client service and a server
//! service bounce one `Box` 1000 times per iteration, then the client reports done to
//! main. On ringlink services, beside the same workload written the way the original
//! did it, with `std::sync::mpsc` channels (a thread and a channel per service, a
//! blocking `recv`, stop sent in-band).
//!
//! The client and server threads are started once per benchmark and pinned to cores 0
//! and 1 when there are two; main (the bench thread) only starts each iteration and
//! waits for its "done". Run: `cargo bench --bench service`.

mod common;

use std::hint::black_box;
use std::sync::mpsc as std_mpsc;
use std::thread;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use ringlink::service::{Client, Service, ServiceManager};

use common::support;

/// Round trips per iteration.
const BOUNCES: u64 = 1000;

/// The message bounced back and forth.
struct Payload {
    hops: u64,
}

// ---- ringlink services ----

/// The server: echoes the same box.
struct Echo;

impl Service for Echo {
    type Request = Payload;
    type Response = Payload;

    fn started(&mut self) {
        support::pin(1);
    }

    fn handle(&mut self, mut payload: Box<Payload>) -> Option<Box<Payload>> {
        payload.hops += 1;
        Some(payload)
    }
}

/// Main's order to the client service, answered (in the same box) when done.
struct Run {
    bounces: u64,
    done: u64,
}

/// The client: on each `Run`, bounces its one box with the echo service, then reports.
struct Pinger {
    echo: Client<Payload, Payload>,
    payload: Option<Box<Payload>>,
}

impl Service for Pinger {
    type Request = Run;
    type Response = Run;

    fn started(&mut self) {
        support::pin(0);
    }

    fn handle(&mut self, mut run: Box<Run>) -> Option<Box<Run>> {
        let mut payload = self.payload.take().expect("the box is home");
        let start = payload.hops;
        for _ in 0..run.bounces {
            payload = self.echo.call(payload).expect("the echo service answers");
        }
        run.done = payload.hops - start;
        self.payload = Some(payload);
        Some(run)
    }
}

fn ringlink_services(c: &mut Criterion) {
    let mut manager = ServiceManager::new();
    let echo = manager.start("echo", Echo).expect("start echo");
    let pinger = Pinger {
        echo: echo.connect().expect("connect to echo"),
        payload: Some(Box::new(Payload { hops: 0 })),
    };
    let mut main_link = manager
        .start("pinger", pinger)
        .expect("start pinger")
        .connect()
        .expect("connect to pinger");
    let mut run = Some(Box::new(Run {
        bounces: BOUNCES,
        done: 0,
    }));

    let mut verified = false;
    c.benchmark_group("one_thread")
        .bench_function("1000/ringlink_services", |b| {
            b.iter_custom(|iters| {
                let mut order = run.take().expect("the order is home");
                let start = Instant::now();
                for _ in 0..iters {
                    order = main_link.call(order).expect("the pinger answers");
                }
                let elapsed = start.elapsed();
                if !verified {
                    assert_eq!(order.done, BOUNCES, "bounces counted by the client");
                    verified = true;
                }
                black_box(&order);
                run = Some(order);
                elapsed
            })
        });
    drop(main_link);
    let report = manager.shutdown();
    assert!(report.is_clean(), "{report}");
}

// ---- the original's way: std channels, a thread per service, blocking recv ----

enum Message {
    Ping(Box<Payload>),
    Run(u64),
    Stop,
}

fn std_mpsc_services(c: &mut Criterion) {
    let (to_server, server_inbox) = std_mpsc::channel::<Message>();
    let (to_client, client_inbox) = std_mpsc::channel::<Message>();
    let (to_main, main_inbox) = std_mpsc::channel::<u64>();

    let server = {
        let to_client = to_client.clone();
        thread::Builder::new()
            .name("std-server".into())
            .spawn(move || {
                support::pin(1);
                while let Ok(message) = server_inbox.recv() {
                    match message {
                        Message::Ping(mut payload) => {
                            payload.hops += 1;
                            to_client.send(Message::Ping(payload)).unwrap();
                        }
                        Message::Run(_) => unreachable!("the server does not run"),
                        Message::Stop => break,
                    }
                }
            })
            .expect("start the std server")
    };
    let client = {
        let to_server = to_server.clone();
        thread::Builder::new()
            .name("std-client".into())
            .spawn(move || {
                support::pin(0);
                let mut payload = Some(Box::new(Payload { hops: 0 }));
                while let Ok(message) = client_inbox.recv() {
                    match message {
                        Message::Run(bounces) => {
                            let start = payload.as_ref().map_or(0, |p| p.hops);
                            for _ in 0..bounces {
                                to_server
                                    .send(Message::Ping(payload.take().unwrap()))
                                    .unwrap();
                                match client_inbox.recv().unwrap() {
                                    Message::Ping(back) => payload = Some(back),
                                    _ => unreachable!("only pings while running"),
                                }
                            }
                            let hops = payload.as_ref().map_or(0, |p| p.hops);
                            to_main.send(hops - start).unwrap();
                        }
                        Message::Ping(_) => unreachable!("pings come only while running"),
                        Message::Stop => break,
                    }
                }
            })
            .expect("start the std client")
    };

    let mut verified = false;
    c.benchmark_group("one_thread")
        .bench_function("1000/std_mpsc_services", |b| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                let mut done = 0;
                for _ in 0..iters {
                    to_client.send(Message::Run(BOUNCES)).unwrap();
                    done = main_inbox.recv().unwrap();
                }
                let elapsed = start.elapsed();
                if !verified {
                    assert_eq!(done, BOUNCES, "bounces counted by the client");
                    verified = true;
                }
                elapsed
            })
        });
    // In-band stop, as the original did: behind whatever is queued.
    to_client.send(Message::Stop).unwrap();
    to_server.send(Message::Stop).unwrap();
    client.join().unwrap();
    server.join().unwrap();
}

fn benches(c: &mut Criterion) {
    // Read the usable cores before any thread is pinned (see `support::cores`).
    support::cores();
    if !support::two_cores() {
        eprintln!("one core only: the threads are not pinned, and share it");
    }
    ringlink_services(c);
    std_mpsc_services(c);
}

criterion_group! {
    name = service;
    config = support::criterion()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = benches
}
criterion_main!(service);
