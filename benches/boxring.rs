//! The ring of boxes (`ringlink::ring::BoxRing`) in the two modes that Criterion's
//! one-contender-at-a-time schedule cannot give on a noisy machine. Its Criterion groups
//! run with `cargo bench --bench ring` (`ring_box_*`) and `cargo bench --bench transport`
//! (`recycled_box_u64`); the workloads are in `common/boxes.rs`.
//!
//! - `BOXRING_ROUNDS=9 cargo bench --bench boxring` runs the contenders of each workload
//!   in turn (A B C A B C ...), each round bracketed by a bare ping-pong to show the CPUs'
//!   placement, and prints per-round figures and median ratios over the rounds whose
//!   ping-pongs took at most `BOXRING_PROBE_MAX` ns (default 300; the usual placement
//!   gives about 100-130).
//! - `BOXRING_PUSH_POP=<ring>:<n>` (`ringlink_boxring`, `ringlink_ring` or `rtrb`) runs
//!   `n` one-thread push+pop pairs and exits, for `valgrind --tool=callgrind`
//!   (instructions per pair = the difference between two `n`, divided by the difference
//!   of `n`).
//!
//! Without either variable it does nothing (so `cargo bench` runs each group once).

mod common;

use common::boxes;

fn main() {
    if let Ok(spec) = std::env::var("BOXRING_PUSH_POP") {
        let (name, n) = spec
            .split_once(':')
            .expect("BOXRING_PUSH_POP=<contender>:<n>");
        boxes::push_pop_mode(name, n.parse().expect("a count"));
    } else if let Ok(count) = std::env::var("BOXRING_ROUNDS") {
        boxes::rounds(count.parse().expect("a number of rounds"));
    }
}
