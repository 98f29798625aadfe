//! Behaviour of `ringlink::service`: each promise of the manager, the server loop and
//! the client half is a test here. Races with stop, stress and drop accounting are in
//! `service_stress.rs`; the zero-allocation claim in `service_alloc.rs`.
#![cfg(not(loom))]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc as std_mpsc, Arc, Mutex};
use std::thread;
use std::time::Duration;

use ringlink::service::{
    CallError, Client, ConnectError, Outcome, RecvError, RecvTimeoutError, SendError, Server,
    Service, ServiceConfig, ServiceHandle, ServiceManager, StartError, TryRecvError, TrySendError,
    WaitStrategy,
};

mod common;
use common::{GRACE, STRATEGIES};

fn config(strategy: WaitStrategy) -> ServiceConfig {
    ServiceConfig::new().with_wait_strategy(strategy)
}

/// Answers each request with the same box.
struct Echo;

impl Service for Echo {
    type Request = u64;
    type Response = u64;

    fn handle(&mut self, request: Box<u64>) -> Option<Box<u64>> {
        Some(request)
    }
}

/// Answers nothing.
struct Silent;

impl Service for Silent {
    type Request = u64;
    type Response = u64;

    fn handle(&mut self, _: Box<u64>) -> Option<Box<u64>> {
        None
    }
}

/// Echoes, but panics on the request 13.
struct Fragile;

impl Service for Fragile {
    type Request = u64;
    type Response = u64;

    fn handle(&mut self, request: Box<u64>) -> Option<Box<u64>> {
        assert!(*request != 13, "unlucky request {}", *request);
        Some(request)
    }
}

/// Says on `taken` when it takes a request, then waits until `gate` lets it go on
/// (or is dropped), then echoes.
struct Gated {
    taken: std_mpsc::Sender<u64>,
    gate: std_mpsc::Receiver<()>,
}

impl Service for Gated {
    type Request = u64;
    type Response = u64;

    fn handle(&mut self, request: Box<u64>) -> Option<Box<u64>> {
        let _ = self.taken.send(*request);
        let _ = self.gate.recv();
        Some(request)
    }
}

fn gated() -> (Gated, std_mpsc::Receiver<u64>, std_mpsc::Sender<()>) {
    let (taken_tx, taken) = std_mpsc::channel();
    let (gate, gate_rx) = std_mpsc::channel();
    (
        Gated {
            taken: taken_tx,
            gate: gate_rx,
        },
        taken,
        gate,
    )
}

#[test]
fn client_is_send_and_handles_are_send_and_sync() {
    fn is_send<T: Send>() {}
    fn is_send_sync<T: Send + Sync>() {}
    is_send::<Client<u64, String>>();
    is_send::<Client<str, [u8]>>();
    is_send_sync::<ServiceHandle<u64, String>>();
    is_send::<ServiceManager>();
    is_send::<Server<Echo>>();
}

#[test]
fn a_call_returns_the_very_same_box() {
    for strategy in STRATEGIES {
        let mut manager = ServiceManager::with_config(config(strategy));
        let echo = manager.start("echo", Echo).unwrap();
        let mut client = echo.connect().unwrap();
        for i in 0..100 {
            let request = Box::new(i);
            let address = &*request as *const u64;
            let reply = client.call(request).unwrap();
            assert_eq!(*reply, i);
            assert_eq!(&*reply as *const u64, address, "{strategy:?}");
        }
        let report = manager.shutdown();
        assert!(report.is_clean(), "{report}");
        assert_eq!(report.service("echo").unwrap().handled(), 100);
    }
}

#[test]
fn unsized_requests_and_responses() {
    struct Reverse;
    impl Service for Reverse {
        type Request = [u8];
        type Response = str;
        fn handle(&mut self, mut bytes: Box<[u8]>) -> Option<Box<str>> {
            bytes.reverse();
            String::from_utf8(bytes.into_vec())
                .ok()
                .map(String::into_boxed_str)
        }
    }
    let mut manager = ServiceManager::new();
    manager.start("reverse", Reverse).unwrap();
    let mut client = manager.connect::<[u8], str>("reverse").unwrap();
    assert_eq!(&*client.call(Box::from(&b"gnir"[..])).unwrap(), "ring");
}

#[test]
fn replies_come_back_in_order() {
    for strategy in STRATEGIES {
        let cfg = config(strategy).with_link_capacity(4);
        let mut manager = ServiceManager::with_config(cfg);
        let mut client = manager.start("echo", Echo).unwrap().connect().unwrap();
        let n = if cfg!(miri) { 20 } else { 1000 };
        let mut next_reply = 0;
        for i in 0..n {
            client.send(Box::new(i)).unwrap();
            // Keep at most three in flight: the replies fit, the server never blocks.
            if i >= 2 {
                assert_eq!(*client.recv().unwrap(), next_reply);
                next_reply += 1;
            }
        }
        while next_reply < n {
            assert_eq!(*client.recv().unwrap(), next_reply);
            next_reply += 1;
        }
        assert_eq!(client.try_recv(), Err(TryRecvError::Empty));
    }
}

#[test]
fn services_are_found_by_name_and_by_handle() {
    let mut manager = ServiceManager::new();
    let echo = manager.start("echo", Echo).unwrap();
    manager.start("silent", Silent).unwrap();
    assert_eq!(manager.names().collect::<Vec<_>>(), ["echo", "silent"]);

    let mut by_name = manager.connect::<u64, u64>("echo").unwrap();
    let mut by_handle = echo.connect().unwrap();
    let by_lookup = manager.lookup::<u64, u64>("echo").unwrap();
    assert_eq!(by_lookup.name(), "echo");
    assert_eq!(*by_name.call(Box::new(1)).unwrap(), 1);
    assert_eq!(*by_handle.call(Box::new(2)).unwrap(), 2);
    assert_eq!(by_name.service_name(), "echo");

    assert_eq!(
        manager.connect::<u64, u64>("nobody").unwrap_err(),
        ConnectError::UnknownService("nobody".into())
    );
    match manager.connect::<u32, u64>("echo").unwrap_err() {
        ConnectError::WrongType {
            name,
            expected,
            found,
        } => {
            assert_eq!(name, "echo");
            assert_eq!(expected, ("u32", "u64"));
            assert_eq!(found, ("u64", "u64"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn duplicate_and_invalid_names_are_refused() {
    let mut manager = ServiceManager::new();
    manager.start("echo", Echo).unwrap();
    match manager.start("echo", Silent) {
        Err(StartError::DuplicateName(name)) => assert_eq!(name, "echo"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        manager.start("bad\0name", Echo),
        Err(StartError::InvalidName(_))
    ));
    // The first service is untouched.
    let mut client = manager.connect::<u64, u64>("echo").unwrap();
    assert_eq!(*client.call(Box::new(5)).unwrap(), 5);
}

#[test]
fn each_service_runs_on_a_thread_named_after_it() {
    struct Name;
    impl Service for Name {
        type Request = ();
        type Response = String;
        fn handle(&mut self, _: Box<()>) -> Option<Box<String>> {
            Some(Box::new(thread::current().name().unwrap_or("").to_owned()))
        }
    }
    let mut manager = ServiceManager::new();
    for name in ["alpha", "beta"] {
        let mut client = manager.start(name, Name).unwrap().connect().unwrap();
        assert_eq!(*client.call(Box::new(())).unwrap(), name);
    }
    let alpha = manager.connect::<(), String>("alpha").unwrap();
    drop(alpha);
}

#[test]
fn a_stopped_service_is_a_clear_error() {
    let mut manager = ServiceManager::new();
    let echo = manager.start("echo", Echo).unwrap();
    let mut client = echo.connect().unwrap();
    assert!(echo.is_running());

    let report = manager.stop("echo").unwrap();
    assert_eq!(report.outcome(), &Outcome::Stopped);
    assert!(!echo.is_running());
    assert_eq!(
        echo.connect().unwrap_err(),
        ConnectError::Stopped("echo".into())
    );
    // The name is free again: by name, it is unknown until a new service takes it.
    assert_eq!(
        manager.connect::<u64, u64>("echo").unwrap_err(),
        ConnectError::UnknownService("echo".into())
    );
    assert!(!client.is_connected());
    assert_eq!(client.send(Box::new(1)), Err(SendError(Box::new(1))));
    assert_eq!(
        client.try_send(Box::new(2)),
        Err(TrySendError::Disconnected(Box::new(2)))
    );
    assert_eq!(client.recv(), Err(RecvError));
    assert_eq!(client.try_recv(), Err(TryRecvError::Disconnected));
    assert_eq!(
        client.recv_timeout(Duration::MAX),
        Err(RecvTimeoutError::Disconnected)
    );
    match client.call(Box::new(3)) {
        Err(CallError::NotSent(request)) => assert_eq!(*request, 3),
        other => panic!("{other:?}"),
    }

    manager.start("echo", Echo).unwrap();
    let mut fresh = manager.connect::<u64, u64>("echo").unwrap();
    assert_eq!(*fresh.call(Box::new(4)).unwrap(), 4);
}

#[test]
fn new_links_reach_a_sleeping_server() {
    for strategy in STRATEGIES {
        let mut manager = ServiceManager::with_config(config(strategy));
        let echo = manager.start("echo", Echo).unwrap();
        let mut first = echo.connect().unwrap();
        assert_eq!(*first.call(Box::new(1)).unwrap(), 1);
        thread::sleep(GRACE); // the server is idle (asleep, for the sleeping strategies)
        let mut second = echo.connect().unwrap();
        assert_eq!(*second.call(Box::new(2)).unwrap(), 2);
        // Many clients at once, from many threads.
        let workers: Vec<_> = (0..4u64)
            .map(|t| {
                let echo = echo.clone();
                thread::spawn(move || {
                    let mut client = echo.connect().unwrap();
                    for i in 0..10 {
                        assert_eq!(*client.call(Box::new(t * 100 + i)).unwrap(), t * 100 + i);
                    }
                })
            })
            .collect();
        for worker in workers {
            worker.join().unwrap();
        }
        assert_eq!(manager.shutdown().handled(), 42);
    }
}

/// Both request rings are filled before the server starts; with a batch of 4, the
/// server must take 4 from one link, then 4 from the other, and so on.
#[test]
fn links_are_served_round_robin_in_bounded_batches() {
    struct Recorder(Arc<Mutex<Vec<u64>>>);
    impl Service for Recorder {
        type Request = u64;
        type Response = u64;
        fn handle(&mut self, request: Box<u64>) -> Option<Box<u64>> {
            self.0.lock().unwrap().push(*request / 1000);
            Some(request)
        }
    }
    let order = Arc::new(Mutex::new(Vec::new()));
    let cfg = ServiceConfig::new().with_link_capacity(16).with_batch(4);
    let server = Server::with_config("recorder", Recorder(order.clone()), cfg);
    let handle = server.service_handle();
    let mut a = handle.connect().unwrap();
    let mut b = handle.connect().unwrap();
    for i in 0..16 {
        a.try_send(Box::new(1000 + i)).unwrap();
        b.try_send(Box::new(2000 + i)).unwrap();
    }
    let thread = thread::spawn(move || server.run());
    for i in 0..16 {
        assert_eq!(*a.recv().unwrap(), 1000 + i);
        assert_eq!(*b.recv().unwrap(), 2000 + i);
    }
    handle.stop();
    assert_eq!(thread.join().unwrap().handled(), 32);
    let expected: Vec<u64> = (0..8).flat_map(|round| [1 + round % 2; 4]).collect();
    assert_eq!(*order.lock().unwrap(), expected);
}

/// A client that does not read its replies fills its reply ring; the server then keeps
/// one reply waiting and takes no more of its requests, but serves the others.
#[test]
fn a_client_that_does_not_read_slows_only_itself() {
    for strategy in STRATEGIES {
        let cfg = config(strategy).with_link_capacity(2);
        let mut manager = ServiceManager::with_config(cfg);
        let echo = manager.start("echo", Echo).unwrap();
        let mut lazy = echo.connect().unwrap();
        let mut busy = echo.connect().unwrap();
        // 2 replies in the ring, 1 waiting in the server, 2 requests queued: then full.
        let mut sent = 0;
        loop {
            match lazy.try_send(Box::new(sent)) {
                Ok(()) => sent += 1,
                Err(TrySendError::Full(_)) if sent >= 5 => {
                    // Full for good? The server has had time to take more, if it would.
                    thread::sleep(GRACE);
                    if lazy.try_send(Box::new(sent)).is_err() {
                        break;
                    }
                    sent += 1;
                }
                Err(TrySendError::Full(_)) => thread::yield_now(),
                Err(error) => panic!("{error:?}"),
            }
        }
        assert_eq!(sent, 5, "{strategy:?}");
        for i in 0..20 {
            assert_eq!(*busy.call(Box::new(100 + i)).unwrap(), 100 + i);
        }
        // Reading the replies unblocks the lazy client: the waiting reply goes out,
        // and the queued requests are handled.
        for i in 0..sent {
            assert_eq!(*lazy.recv().unwrap(), i, "{strategy:?}");
        }
        assert_eq!(*lazy.call(Box::new(99)).unwrap(), 99);
    }
}

#[test]
fn a_blocked_send_waits_for_room_then_fails_on_stop() {
    let (gated, taken, gate) = gated();
    let cfg = ServiceConfig::new().with_link_capacity(1);
    let mut manager = ServiceManager::with_config(cfg);
    let service = manager.start("gated", gated).unwrap();
    let mut client = service.connect().unwrap();
    client.send(Box::new(1)).unwrap();
    assert_eq!(taken.recv(), Ok(1)); // in hand
    client.send(Box::new(2)).unwrap(); // queued: the ring is full now
    let sender = thread::spawn(move || {
        let result = client.send(Box::new(3));
        (client, result)
    });
    thread::sleep(GRACE);
    assert!(!sender.is_finished(), "send should wait for room");
    service.stop();
    gate.send(()).unwrap(); // the request in hand is finished, then the service stops
    let (mut client, result) = sender.join().unwrap();
    assert_eq!(result, Err(SendError(Box::new(3))));
    assert_eq!(
        *client.recv().unwrap(),
        1,
        "the request in hand was answered"
    );
    assert_eq!(client.recv(), Err(RecvError), "the queued one was dropped");
    let report = manager.shutdown();
    assert_eq!(report.service("gated").unwrap().handled(), 1);
    assert!(report.is_clean());
}

#[test]
fn a_blocked_send_is_woken_when_room_is_made() {
    for strategy in STRATEGIES {
        let (gated, taken, gate) = gated();
        let cfg = config(strategy).with_link_capacity(1);
        let mut manager = ServiceManager::with_config(cfg);
        let mut client = manager.start("gated", gated).unwrap().connect().unwrap();
        client.send(Box::new(1)).unwrap();
        assert_eq!(taken.recv(), Ok(1));
        client.send(Box::new(2)).unwrap();
        let sender = thread::spawn(move || {
            client.send(Box::new(3)).unwrap();
            client
        });
        thread::sleep(GRACE);
        gate.send(()).unwrap();
        gate.send(()).unwrap();
        gate.send(()).unwrap();
        let mut client = sender.join().unwrap();
        for i in 1..=3 {
            assert_eq!(*client.recv().unwrap(), i);
        }
    }
}

#[test]
fn shutdown_wakes_clients_blocked_in_recv_and_call() {
    for strategy in STRATEGIES {
        /// Answers nothing, but says when it takes a request.
        struct Taker(std_mpsc::Sender<()>);
        impl Service for Taker {
            type Request = u64;
            type Response = u64;
            fn handle(&mut self, _: Box<u64>) -> Option<Box<u64>> {
                self.0.send(()).unwrap();
                None
            }
        }
        let (taken_tx, taken) = std_mpsc::channel();
        let mut manager = ServiceManager::with_config(config(strategy));
        let silent = manager.start("silent", Taker(taken_tx)).unwrap();
        let mut receiver = silent.connect().unwrap();
        let mut caller = silent.connect().unwrap();
        let recv = thread::spawn(move || receiver.recv());
        let call = thread::spawn(move || caller.call(Box::new(1)).map(|reply| *reply));
        taken.recv().unwrap(); // the call's request was sent and handled (no reply)
        thread::sleep(GRACE); // both are waiting now, likely asleep
        let report = manager.shutdown();
        assert_eq!(recv.join().unwrap(), Err(RecvError));
        assert!(matches!(call.join().unwrap(), Err(CallError::NoReply)));
        assert!(report.is_clean());
    }
}

#[test]
fn recv_timeout_times_out_then_receives_then_disconnects() {
    let mut manager = ServiceManager::new();
    let mut silent = manager.start("silent", Silent).unwrap().connect().unwrap();
    let mut echo = manager.start("echo", Echo).unwrap().connect().unwrap();
    silent.send(Box::new(1)).unwrap();
    assert_eq!(silent.recv_timeout(GRACE), Err(RecvTimeoutError::Timeout));
    echo.send(Box::new(2)).unwrap();
    assert_eq!(echo.recv_timeout(Duration::MAX).map(|r| *r), Ok(2));
    manager.shutdown();
    assert_eq!(
        echo.recv_timeout(GRACE),
        Err(RecvTimeoutError::Disconnected)
    );
}

#[test]
fn a_panicking_handler_stops_only_its_service() {
    for strategy in STRATEGIES {
        let mut manager = ServiceManager::with_config(config(strategy));
        let fragile = manager.start("fragile", Fragile).unwrap();
        let echo = manager.start("echo", Echo).unwrap();
        let mut waiting = fragile.connect().unwrap();
        let mut victim = fragile.connect().unwrap();
        let mut bystander = echo.connect().unwrap();

        // A client blocked in `recv` on the fragile service when it panics.
        waiting.send(Box::new(1)).unwrap();
        assert_eq!(*waiting.recv().unwrap(), 1);
        let blocked = thread::spawn(move || waiting.recv());
        thread::sleep(GRACE);

        assert!(matches!(victim.call(Box::new(13)), Err(CallError::NoReply)));
        assert_eq!(blocked.join().unwrap(), Err(RecvError));
        assert!(matches!(
            victim.call(Box::new(2)),
            Err(CallError::NotSent(_))
        ));
        assert!(!fragile.is_running());
        assert_eq!(
            manager.connect::<u64, u64>("fragile").unwrap_err(),
            ConnectError::Stopped("fragile".into())
        );

        // The other service goes on.
        assert_eq!(*bystander.call(Box::new(7)).unwrap(), 7);
        // The fragile service's thread ends soon after it disconnects its clients; until
        // then the snapshot says it runs.
        let snapshot = loop {
            let snapshot = manager.report();
            if snapshot.service("fragile").unwrap().outcome() != &Outcome::Running {
                break snapshot;
            }
            thread::yield_now();
        };
        assert_eq!(
            snapshot.service("echo").unwrap().outcome(),
            &Outcome::Running
        );
        assert!(matches!(
            snapshot.service("fragile").unwrap().outcome(),
            Outcome::Panicked(_)
        ));

        let report = manager.shutdown();
        let fragile = report.service("fragile").unwrap();
        assert_eq!(fragile.handled(), 1);
        match fragile.outcome() {
            Outcome::Panicked(message) => assert_eq!(message, "unlucky request 13"),
            other => panic!("{other:?}"),
        }
        assert_eq!(report.service("echo").unwrap().outcome(), &Outcome::Stopped);
        assert_eq!(report.errors().count(), 1);
        assert!(!report.is_clean());
    }
}

#[test]
fn a_panic_in_started_is_reported_and_disconnects() {
    struct Doomed;
    impl Service for Doomed {
        type Request = u64;
        type Response = u64;
        fn started(&mut self) {
            panic!("cannot start");
        }
        fn handle(&mut self, request: Box<u64>) -> Option<Box<u64>> {
            Some(request)
        }
    }
    let mut manager = ServiceManager::new();
    let doomed = manager.start("doomed", Doomed).unwrap();
    if let Ok(mut client) = doomed.connect() {
        assert!(client.call(Box::new(1)).is_err());
    }
    let report = manager.shutdown();
    assert_eq!(
        report.service("doomed").unwrap().outcome(),
        &Outcome::Panicked("cannot start".into())
    );
}

#[test]
fn stopped_runs_after_a_clean_stop_only() {
    struct Hooked(std_mpsc::Sender<&'static str>, bool);
    impl Service for Hooked {
        type Request = u64;
        type Response = u64;
        fn started(&mut self) {
            self.0.send("started").unwrap();
        }
        fn handle(&mut self, request: Box<u64>) -> Option<Box<u64>> {
            assert!(!self.1, "asked to panic");
            Some(request)
        }
        fn stopped(&mut self) {
            self.0.send("stopped").unwrap();
        }
    }
    let (tx, rx) = std_mpsc::channel();
    let mut manager = ServiceManager::new();
    manager.start("clean", Hooked(tx.clone(), false)).unwrap();
    let panics = manager.start("panics", Hooked(tx, true)).unwrap();
    let mut client = panics.connect().unwrap();
    assert!(client.call(Box::new(1)).is_err());
    drop(manager); // stops and joins, as shutdown does
    let events: Vec<_> = rx.iter().collect();
    assert_eq!(events, ["started", "started", "stopped"]);
}

#[test]
fn shutdown_timeout_reports_services_that_do_not_stop() {
    let (gated, taken, gate) = gated();
    let mut manager = ServiceManager::new();
    let mut client = manager.start("stuck", gated).unwrap().connect().unwrap();
    manager.start("echo", Echo).unwrap();
    client.send(Box::new(1)).unwrap();
    assert_eq!(taken.recv(), Ok(1));
    // Long enough for "echo" to stop on a slow or loaded machine; "stuck" cannot.
    let report = manager.shutdown_timeout(Duration::from_secs(if cfg!(miri) { 10 } else { 1 }));
    assert_eq!(
        report.service("stuck").unwrap().outcome(),
        &Outcome::DidNotStop
    );
    assert_eq!(report.service("echo").unwrap().outcome(), &Outcome::Stopped);
    assert_eq!(report.errors().count(), 1);
    // The manager gave up on it: its client stops waiting for it at once (a wait that
    // ends only when its handler returns would be a hang for the client; the time limit
    // only turns such a hang into a failure).
    assert!(!client.is_connected());
    assert_eq!(
        client.recv_timeout(Duration::from_secs(60)),
        Err(RecvTimeoutError::Disconnected)
    );
    assert_eq!(client.send(Box::new(2)), Err(SendError(Box::new(2))));
    // The stuck service was asked to stop: once its handler returns, it does.
    gate.send(()).unwrap();
}

#[test]
fn shutdown_timeout_after_stop_waits_for_the_others() {
    // A service stopped by name reports its end to the manager too; the shutdown after
    // it must not count that report for one of its own services.
    let (gated, taken, gate) = gated();
    let mut manager = ServiceManager::new();
    manager.start("a", Echo).unwrap();
    let mut client = manager.start("slow", gated).unwrap().connect().unwrap();
    client.send(Box::new(7)).unwrap();
    assert_eq!(taken.recv(), Ok(7));
    assert!(manager.stop("a").unwrap().is_clean());
    let opener = std::thread::spawn(move || {
        // "slow" stops once its handler returns: only a shutdown that waits sees it.
        std::thread::sleep(Duration::from_millis(if cfg!(miri) { 50 } else { 200 }));
        gate.send(()).unwrap();
    });
    let report = manager.shutdown_timeout(Duration::from_secs(120));
    opener.join().unwrap();
    assert_eq!(report.service("slow").unwrap().outcome(), &Outcome::Stopped);
    assert!(report.is_clean(), "{report}");
}

#[test]
fn an_impossible_link_capacity_is_a_connect_error() {
    let config = ServiceConfig::new().with_link_capacity(usize::MAX);
    let mut manager = ServiceManager::with_config(config);
    let echo = manager.start("echo", Echo).unwrap();
    match echo.connect() {
        Err(ConnectError::Capacity { name, error }) => {
            assert_eq!(name, "echo");
            assert_eq!(error.capacity(), usize::MAX);
        }
        other => panic!("expected a capacity error, got {other:?}"),
    }
    assert!(manager.shutdown().is_clean());
}

#[test]
fn shutdown_timeout_waits_for_services_that_stop_in_time() {
    let mut manager = ServiceManager::new();
    for name in ["a", "b", "c"] {
        manager.start(name, Echo).unwrap();
    }
    let report = manager.shutdown_timeout(Duration::from_secs(60));
    assert!(report.is_clean(), "{report}");
    assert_eq!(report.services().len(), 3);
}

#[test]
fn requests_sent_before_a_client_leaves_are_handled() {
    struct Forward(std_mpsc::Sender<u64>);
    impl Service for Forward {
        type Request = u64;
        type Response = u64;
        fn handle(&mut self, request: Box<u64>) -> Option<Box<u64>> {
            self.0.send(*request).unwrap();
            Some(request) // to a client that is gone: dropped by the server
        }
    }
    let (tx, rx) = std_mpsc::channel();
    let cfg = ServiceConfig::new().with_link_capacity(4);
    let mut manager = ServiceManager::with_config(cfg);
    let forward = manager.start("forward", Forward(tx)).unwrap();
    for round in 0..10 {
        let mut client = forward.connect().unwrap();
        for i in 0..4 {
            client.send(Box::new(round * 10 + i)).unwrap();
        }
        drop(client);
    }
    let received: Vec<u64> = rx.iter().take(40).collect();
    let expected: Vec<u64> = (0..10)
        .flat_map(|r| (0..4).map(move |i| r * 10 + i))
        .collect();
    assert_eq!(received, expected);
    assert_eq!(manager.shutdown().handled(), 40);
}

#[test]
fn a_server_runs_on_a_thread_of_your_own() {
    let server = Server::with_config("echo", Echo, ServiceConfig::new().with_batch(1));
    let handle = server.service_handle();
    let mut early = handle.connect().unwrap();
    early.send(Box::new(1)).unwrap();
    let thread = thread::spawn(move || server.run());
    assert_eq!(*early.recv().unwrap(), 1);
    handle.stop();
    let report = thread.join().unwrap();
    assert_eq!(report.name(), "echo");
    assert_eq!(report.handled(), 1);
    assert!(report.is_clean());
    assert_eq!(early.recv(), Err(RecvError));
}

#[test]
fn a_server_dropped_without_running_disconnects_its_clients() {
    let server = Server::new("never", Echo);
    let handle = server.service_handle();
    let mut client = handle.connect().unwrap();
    client.send(Box::new(1)).unwrap();
    let waiting = thread::spawn(move || client.recv());
    thread::sleep(GRACE);
    drop(server);
    assert_eq!(waiting.join().unwrap(), Err(RecvError));
    assert!(handle.connect().is_err());
}

#[test]
fn many_services_many_clients() {
    let per_client = if cfg!(miri) { 5 } else { 2000 };
    let mut manager = ServiceManager::with_config(ServiceConfig::new().with_link_capacity(8));
    let handles: Vec<_> = (0..3)
        .map(|s| manager.start(format!("echo-{s}"), Echo).unwrap())
        .collect();
    let calls = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..6u64)
        .map(|t| {
            let handle = handles[t as usize % 3].clone();
            let calls = calls.clone();
            thread::spawn(move || {
                let mut client = handle.connect().unwrap();
                for i in 0..per_client {
                    let value = t << 32 | i;
                    assert_eq!(*client.call(Box::new(value)).unwrap(), value);
                    calls.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for worker in workers {
        worker.join().unwrap();
    }
    let report = manager.shutdown();
    assert!(report.is_clean());
    assert_eq!(report.handled(), 6 * per_client);
    assert_eq!(calls.load(Ordering::Relaxed) as u64, 6 * per_client);
    for service in report.services() {
        assert_eq!(service.handled(), 2 * per_client, "{service}");
    }
}

/// CPU time of the calling thread.
#[cfg(target_os = "linux")]
fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `clock_gettime` writes one `timespec`, which `ts` is.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0);
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// An idle service, and a client waiting for a reply that does not come, sleep: over
/// a second of idleness each burns a small fraction of a second of CPU. (A busy-polling
/// server or client would burn all of it.)
#[cfg(target_os = "linux")]
#[test]
#[cfg_attr(miri, ignore = "clock_gettime(CLOCK_THREAD_CPUTIME_ID) and real time")]
fn idle_services_and_waiting_clients_use_no_cpu() {
    /// Answers `0` with its thread's CPU time so far, in nanoseconds; nothing else.
    struct CpuTime;
    impl Service for CpuTime {
        type Request = u64;
        type Response = u64;
        fn handle(&mut self, request: Box<u64>) -> Option<Box<u64>> {
            (*request == 0).then(|| Box::new(thread_cpu_time().as_nanos() as u64))
        }
    }
    const IDLE: Duration = Duration::from_secs(1);
    let mut manager = ServiceManager::new();
    let service = manager.start("cpu", CpuTime).unwrap();
    let mut client = service.connect().unwrap();
    let before = *client.call(Box::new(0)).unwrap();
    thread::sleep(IDLE);
    let after = *client.call(Box::new(0)).unwrap();
    let server_cpu = Duration::from_nanos(after - before);

    let mut waiter = service.connect().unwrap();
    let waiting = thread::spawn(move || {
        waiter.send(Box::new(1)).unwrap(); // no reply to this one
        let start = thread_cpu_time();
        assert_eq!(waiter.recv_timeout(IDLE), Err(RecvTimeoutError::Timeout));
        thread_cpu_time() - start
    });
    let client_cpu = waiting.join().unwrap();
    assert!(
        server_cpu < IDLE / 10,
        "idle server burnt {server_cpu:?} of CPU in {IDLE:?}"
    );
    assert!(
        client_cpu < IDLE / 10,
        "waiting client burnt {client_cpu:?} of CPU in {IDLE:?}"
    );
}
