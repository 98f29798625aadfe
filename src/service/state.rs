//! The state a service's server shares with its handles: the stop flag, the links on
//! their way to the server, the count of requests handled.

use crossbeam_utils::CachePadded;

use super::link::{ServerLink, ServiceTag};
use super::ServiceConfig;
use crate::sync::{lock, Arc, AtomicBool, AtomicUsize, Mutex, MutexGuard, Ordering};

/// What a service's server and its handles share (its clients share only the
/// [`ServiceTag`]).
pub(super) struct ServiceState<Req: ?Sized, Resp: ?Sized> {
    /// The name, the doorbell (where the server sleeps when every link is idle; rung by
    /// clients after each request pushed and reply popped and when they go, and by
    /// `stop`), and whether the manager gave up on the service.
    pub(super) tag: Arc<ServiceTag>,
    pub(super) config: ServiceConfig,
    /// Set once, by `stop` or by the server when it ends. Read by the server before
    /// each request and in its last look before sleeping. `Relaxed`: it publishes no
    /// data, and the doorbell's fences order it with the server's sleep.
    stop: AtomicBool,
    /// Set (under the `registry` lock) when `registry.joining` holds links the server has
    /// not taken yet; cleared by the server under the same lock. Lets the server look
    /// for new links once per round without taking the lock. `Relaxed`: the lock orders
    /// the links themselves, and the ring of the doorbell after a client's first request
    /// orders the flag with the server's sleep.
    joining: AtomicBool,
    registry: Mutex<Registry<Req, Resp>>,
    /// Requests handled so far, published by the server after each busy round, for
    /// reports of services that do not stop. Written by the server only, so on a line
    /// of its own.
    handled: CachePadded<AtomicUsize>,
}

/// Links on their way to the server, and whether it still takes them.
struct Registry<Req: ?Sized, Resp: ?Sized> {
    joining: Vec<ServerLink<Req, Resp>>,
    /// The server has ended: no link is taken any more.
    closed: bool,
}

impl<Req: ?Sized, Resp: ?Sized> ServiceState<Req, Resp> {
    /// A new service's state: running, no links.
    pub(super) fn new(name: String, config: ServiceConfig) -> Self {
        ServiceState {
            tag: Arc::new(ServiceTag::new(name)),
            config,
            stop: AtomicBool::new(false),
            joining: AtomicBool::new(false),
            registry: Mutex::new(Registry {
                joining: Vec::new(),
                closed: false,
            }),
            handled: CachePadded::new(AtomicUsize::new(0)),
        }
    }

    /// The service's name.
    pub(super) fn name(&self) -> &str {
        &self.tag.name
    }

    fn registry(&self) -> MutexGuard<'_, Registry<Req, Resp>> {
        lock(&self.registry)
    }

    pub(super) fn is_stopping(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// Whether the server has something to do: its last look before it sleeps.
    pub(super) fn is_ready(&self, links: &[ServerLink<Req, Resp>]) -> bool {
        // mutant(loom_service): server's last look ignores the stop flag => false
        self.is_stopping()
            // mutant(loom_service): server's last look ignores joining links => || false
            || self.joining.load(Ordering::Relaxed)
            || links.iter().any(ServerLink::is_ready)
    }

    /// Moves the links that joined since the last round into `links`.
    #[cold]
    pub(super) fn adopt(&self, links: &mut Vec<ServerLink<Req, Resp>>) {
        let mut registry = self.registry();
        self.joining.store(false, Ordering::Relaxed);
        links.append(&mut registry.joining);
    }

    /// Takes no more links, and moves those not yet taken into `links`.
    pub(super) fn close(&self, links: &mut Vec<ServerLink<Req, Resp>>) {
        self.stop.store(true, Ordering::Relaxed);
        let mut registry = self.registry();
        registry.closed = true;
        self.joining.store(false, Ordering::Relaxed);
        links.append(&mut registry.joining);
    }

    /// Whether links joined since the server last took them: one relaxed load, once per
    /// round.
    #[inline]
    pub(super) fn has_joining(&self) -> bool {
        self.joining.load(Ordering::Relaxed)
    }

    /// Hands a new link's server half to the server; fails (handing it back) once the
    /// server takes no more.
    pub(super) fn join(&self, link: ServerLink<Req, Resp>) -> Result<(), ServerLink<Req, Resp>> {
        if self.is_stopping() {
            return Err(link);
        }
        let mut registry = self.registry();
        if registry.closed {
            return Err(link);
        }
        registry.joining.push(link);
        // mutant(loom_service): connect: the joining flag is not raised =>
        self.joining.store(true, Ordering::Relaxed);
        // No ring of the doorbell: a sleeping server has nothing to do on this link until
        // the client sends (or goes), which rings it; its last look before sleeping
        // checks `joining`, so it then takes the link in that round.
        Ok(())
    }

    /// Asks the server to stop.
    pub(super) fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
        // After the flag: a server going to sleep sees it or is woken. A rare event,
        // not followed by a request: the strong fence.
        // mutant(loom_service): stop: no doorbell ring after setting the flag =>
        self.tag.doorbell.notify_strong();
    }

    /// Whether the service takes new clients.
    pub(super) fn is_running(&self) -> bool {
        !self.is_stopping() && !self.registry().closed
    }

    /// Requests handled so far, as last published.
    pub(super) fn handled(&self) -> usize {
        self.handled.load(Ordering::Relaxed)
    }

    /// Publishes the count of requests handled (the server alone calls this).
    pub(super) fn publish_handled(&self, handled: usize) {
        self.handled.store(handled, Ordering::Relaxed);
    }
}
