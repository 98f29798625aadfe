//! One command, one table: ringlink beside `std::sync::mpsc`, crossbeam-channel, kanal
//! and rtrb.
//!
//! ```text
//! cargo run --release --example compare            # 1 to 2 minutes
//! cargo run --release --example compare -- --quick # fewer runs, 20 to 40 s
//! cargo run --release --example compare -- --json  # the same figures as JSON on stdout
//! ```
//!
//! For each transport (every one of the list in `benches/common/contenders.rs`), with
//! its one sender, never cloned:
//!
//! - echo round trip, p50 and p99 in ns: one `u64` in flight between two threads pinned
//!   to two different CPUs, the partner sending back the value plus one; every round
//!   trip is timed (each timing includes one clock read, printed in the header);
//! - throughput in millions of `u64` per second, one way through a channel of capacity
//!   1024 (or an unbounded one);
//! - one-core echo round trip, p50 in ns: the same echo with BOTH threads pinned to one
//!   CPU, busy-poll transports yielding between polls (spinning there costs a scheduler
//!   tick per hop); bounded in time, so slow transports get fewer round trips, not none;
//!
//! each as the median of several runs, and as how many times better than
//! `std::sync::mpsc::sync_channel` it is; then ringlink's channels beside the raw ring
//! (echo) and beside each peer bounded alike (stream). For each transport whose sender
//! clones (a second table):
//!
//! - N producers -> 1 receiver (N = 2 and 4), millions of `u64` per second: each
//!   producer thread with a clone of the sender (the original dropped), all producers
//!   pinned to the first CPU and the receiver to the second; the receiver checks each
//!   producer's order;
//! - echo round trip through cloned senders (both directions), p50 and p99;
//!
//! each as how many times better than the best peer (std, crossbeam, kanal: not
//! ringlink) in the same run. Last, a stream of `Box<u64>` with a new value written
//! into each box, capacity 1024: `ringlink::ring::BoxRing` handing the boxes back for
//! reuse, the bounded channels allocating a box per message (as their users must). The
//! transports take turns run by run
//! (A B C … A B C …) so that the host moving our virtual CPUs around affects them alike;
//! each round of runs is bracketed by a bare atomic ping-pong between the two CPUs, and
//! rounds taken while that ping-pong was unusually fast or slow (the two vCPUs on
//! another kind of placement) are dropped. Figures whose runs still disagree, or taken
//! while other processes used the CPUs, are marked unreliable.
//!
//! Progress goes to stderr; the table (or the JSON) to stdout.
//!
//! Files: `measure.rs` (the runs), `machine.rs` (the CPUs, the placement probe, who
//! else used the machine), `report.rs` (figures, notes and the table), `json.rs`.

#[path = "../../benches/common/mod.rs"]
mod common;
mod json;
mod machine;
mod measure;
mod report;

use std::time::Instant;

use common::contenders::{for_each, for_each_box, Poll};
use common::support::{self, Cpus};

use machine::{ping_pong, CpuUsage, Machine, Placement};
use measure::{BoxRun, OneCoreRun, Register, RegisterBoxes, TwoCoreRun};
use report::Report;

fn main() {
    let mut json = false;
    let mut quick = false;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--json" => json = true,
            "--quick" => quick = true,
            "-h" | "--help" => {
                println!("usage: compare [--quick] [--json]");
                return;
            }
            other => {
                eprintln!("compare: unknown argument {other:?} (try --help)");
                std::process::exit(2);
            }
        }
    }
    let runs = if quick { 5 } else { 15 };
    let started = Instant::now();

    let cores = support::cores();
    let machine = Machine::look(cores);
    eprintln!("compare: {}", machine.describe());
    let clock_ns = measure::clock_read_ns();

    let mut results = Vec::new();
    for_each(&mut Register(&mut results));
    let mut box_results = Vec::new();
    for_each_box(&mut RegisterBoxes(&mut box_results));

    // Two threads, two CPUs (or the one there is).
    let two_core = match cores {
        [] => Cpus::shared(None),
        [only] => Cpus::shared(Some(*only)),
        [first, second, ..] => Cpus {
            caller: Some(*first),
            partner: Some(*second),
        },
    };
    let two = cores.len() >= 2;
    let poll = Poll::for_cores(two);
    let usage = CpuUsage::start();
    let mut ping_pongs = Vec::new();
    if two {
        ping_pongs.push(ping_pong(two_core));
    }
    for round in 0..runs {
        eprintln!(
            "compare: round {}/{runs}: echo, throughput, producers, cloned echo, boxes",
            round + 1
        );
        for_each(&mut TwoCoreRun {
            results: &mut results,
            cpus: two_core,
            poll,
        });
        for_each_box(&mut BoxRun {
            results: &mut box_results,
            cpus: two_core,
            poll,
        });
        if two {
            ping_pongs.push(ping_pong(two_core));
        }
    }
    let two_core_usage = usage.finish();

    // Both threads on one CPU.
    let usage = CpuUsage::start();
    for round in 0..runs {
        eprintln!("compare: round {}/{runs}: one-core echo", round + 1);
        for_each(&mut OneCoreRun {
            results: &mut results,
            cpus: Cpus::shared(two_core.caller),
        });
    }
    let one_core_usage = usage.finish();

    let placement = Placement::judge(&ping_pongs, runs);
    let report = Report {
        machine,
        runs,
        quick,
        clock_ns,
        two_cores: two,
        placement,
        two_core_usage,
        one_core_usage,
        results,
        box_results,
        seconds: started.elapsed().as_secs_f64(),
    };
    eprintln!("compare: done in {:.1} s", report.seconds);
    if json {
        println!("{}", report.json());
    } else {
        print!("{}", report.table());
    }
}
