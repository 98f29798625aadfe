//! What the benches and `examples/compare` share, so that each is written once:
//!
//! - [`contenders`]: the transports put side by side, in ONE list (adding a transport is
//!   one entry there, and every bench and the compare example that wants a transport of
//!   its kind runs it);
//! - [`rigs`]: the two-thread set-ups the measurements run on (an echo partner, a
//!   streaming partner) and how a bench starts one only when its benchmark runs;
//! - [`support`]: Criterion's settings, the usable CPUs and pinning, the partner thread;
//! - [`boxes`]: the workloads of the ring of boxes (Criterion groups and rounds).
//!
//! Included as a module by every bench (`mod common;`) and by the compare example (by
//! path); not a bench target of its own. Each includer uses only part of it.
#![allow(dead_code)]

pub mod boxes;
pub mod contenders;
pub mod rigs;
pub mod support;
