//! No allocation per hop: once a link exists and has been used, echo round trips
//! through a service allocate nothing, on either thread. A counting global allocator
//! counts every allocation of the process while they run.
//!
//! One test per file: the count is process-wide, and another test running meanwhile
//! would allocate.
#![cfg(not(loom))]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use ringlink::service::{Service, ServiceConfig, ServiceManager, WaitStrategy};

struct Counting;

static COUNTING: AtomicBool = AtomicBool::new(false);
static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards every call to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: the caller's promises about `layout` are passed on as they are.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` with `layout` (see `alloc`).
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: as for `alloc` and `dealloc`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

struct Echo;

impl Service for Echo {
    type Request = [u64; 4];
    type Response = [u64; 4];

    fn handle(&mut self, mut request: Box<[u64; 4]>) -> Option<Box<[u64; 4]>> {
        request[0] += 1;
        Some(request)
    }
}

#[test]
fn echo_round_trips_allocate_nothing() {
    let (warm_up, measured) = if cfg!(miri) {
        (20, 50)
    } else {
        (10_000, 100_000)
    };
    // Park sleeps on every wait: the slow path (announce, fence, park, unpark) must not
    // allocate either, not only the spinning fast path.
    for strategy in [WaitStrategy::Adaptive, WaitStrategy::Park] {
        let config = ServiceConfig::new().with_wait_strategy(strategy);
        let mut manager = ServiceManager::with_config(config);
        let mut client = manager.start("echo", Echo).unwrap().connect().unwrap();
        let mut message = Box::new([0; 4]);
        for _ in 0..warm_up {
            message = client.call(message).unwrap();
        }

        ALLOCATIONS.store(0, Ordering::SeqCst);
        COUNTING.store(true, Ordering::SeqCst);
        for _ in 0..measured {
            message = client.call(message).unwrap();
        }
        COUNTING.store(false, Ordering::SeqCst);

        assert_eq!(message[0], warm_up + measured);
        assert_eq!(
            ALLOCATIONS.load(Ordering::SeqCst),
            0,
            "allocations during {measured} round trips with {strategy:?}"
        );
        // The counter itself works: a round trip with a new box allocates one.
        COUNTING.store(true, Ordering::SeqCst);
        drop(client.call(Box::new([0; 4])).unwrap());
        COUNTING.store(false, Ordering::SeqCst);
        assert_eq!(ALLOCATIONS.load(Ordering::SeqCst), 1);
        assert!(manager.shutdown().is_clean());
    }
}
