//! The service manager's story, told step by step: main starts an echo server, a client
//! registers with it, they bounce one boxed message N times (the very same allocation
//! each way), the server reports done, main stops both and joins them, and the
//! round-trip rate is printed. Between the steps, an idle server sleeps: it is shown
//! to use (almost) no CPU while nobody talks to it.
//!
//! Run: `cargo run --release --example echo_service [-- ROUND_TRIPS]`.

use std::thread;
use std::time::{Duration, Instant};

use ringlink::service::{Service, ServiceManager};

/// What the client and the server pass back and forth.
enum Message {
    /// The `round`-th of `of` round trips.
    Ping { round: u64, of: u64 },
    /// Asks the server for its thread's CPU time; the answer comes in the same box.
    CpuTime(Option<Duration>),
}

/// Answers each message with the same box; says when the last ping of a run comes.
struct Echo;

impl Service for Echo {
    type Request = Message;
    type Response = Message;

    fn started(&mut self) {
        println!("server: started on thread {:?}", thread::current().name());
    }

    fn handle(&mut self, mut message: Box<Message>) -> Option<Box<Message>> {
        match &mut *message {
            // Round 0 is the warm-up.
            Message::Ping { round, of } if round == of && *round > 0 => {
                println!("server: handled message {round} of {of}: done");
            }
            Message::Ping { .. } => {}
            Message::CpuTime(answer) => *answer = thread_cpu_time(),
        }
        Some(message)
    }

    fn stopped(&mut self) {
        println!("server: stopped");
    }
}

fn main() {
    let round_trips: u64 = std::env::args()
        .nth(1)
        .map(|n| n.parse().expect("ROUND_TRIPS must be a number"))
        .unwrap_or(1_000_000);

    println!("main: starting the service manager and the echo server");
    let mut manager = ServiceManager::new();
    let echo = manager.start("echo", Echo).expect("start the echo service");

    println!("main: starting the client");
    let client = thread::Builder::new()
        .name("client".into())
        .spawn(move || {
            let mut link = echo.connect().expect("connect to the echo service");
            println!(
                "client: registered with {:?} (a request ring and a reply ring)",
                link.service_name()
            );

            let cpu_before = server_cpu_time(&mut link);
            let idle = Duration::from_millis(500);
            thread::sleep(idle);
            let cpu_after = server_cpu_time(&mut link);
            if let (Some(before), Some(after)) = (cpu_before, cpu_after) {
                println!(
                    "client: the server used {:?} of CPU while idle for {idle:?} (no busy-wait)",
                    after.saturating_sub(before)
                );
            }

            // Warm up: the threads get going, the caches fill.
            let mut message = Box::new(Message::Ping { round: 0, of: 0 });
            for _ in 0..round_trips.min(10_000) {
                message = link.call(message).expect("the server answers");
            }

            println!("client: bouncing one boxed message {round_trips} times");
            let address = &*message as *const Message;
            let start = Instant::now();
            for round in 1..=round_trips {
                *message = Message::Ping {
                    round,
                    of: round_trips,
                };
                message = link.call(message).expect("the server answers");
            }
            let elapsed = start.elapsed();
            assert!(
                std::ptr::eq(&*message, address),
                "the same box went back and forth"
            );
            println!("client: done, {round_trips} round trips in {elapsed:?}, same box throughout");
            elapsed
        })
        .expect("start the client thread");

    let elapsed = client.join().expect("the client thread");
    println!("main: client joined; stopping the server");
    let report = manager.shutdown();
    println!("main: server joined; report:");
    print!("{report}");
    assert!(report.is_clean());

    let per_trip = elapsed / round_trips.max(1) as u32;
    let rate = round_trips as f64 / elapsed.as_secs_f64();
    println!("main: {rate:.0} round trips/s ({per_trip:?} per round trip)");
}

/// Asks the server for its thread's CPU time.
fn server_cpu_time(link: &mut ringlink::service::Client<Message, Message>) -> Option<Duration> {
    match *link.call(Box::new(Message::CpuTime(None))).ok()? {
        Message::CpuTime(answer) => answer,
        Message::Ping { .. } => None,
    }
}

/// The calling thread's CPU time, where the OS tells it.
#[cfg(target_os = "linux")]
fn thread_cpu_time() -> Option<Duration> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `clock_gettime` writes one `timespec`, which `ts` is.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    (rc == 0).then(|| Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32))
}

#[cfg(not(target_os = "linux"))]
fn thread_cpu_time() -> Option<Duration> {
    None
}
