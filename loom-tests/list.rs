//! loom models of the unbounded queue (`ringlink::__list`): segment hand-over, the
//! upgrade to many producers. Written on the `list` branch.
#![cfg(loom)]
