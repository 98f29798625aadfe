//! The server: the loop a service's thread runs, the state it shares with its handles
//! and clients, and the typed handle.

use core::any::Any;
use core::fmt;
use std::panic::{self, AssertUnwindSafe};

use crossbeam_utils::CachePadded;

use super::error::ConnectError;
use super::link::{new_link, Client, ServerLink};
use super::report::{Outcome, ServiceReport};
use super::{Service, ServiceConfig};
use crate::sync::{prepare_fences, Arc, AtomicBool, AtomicUsize, Mutex, MutexGuard, Ordering};
use crate::wait::Parker;

/// What a service's server, its handles and its clients share.
pub(super) struct Shared<Req: ?Sized, Resp: ?Sized> {
    pub(super) name: String,
    pub(super) config: ServiceConfig,
    /// Where the server sleeps when every link is idle. Rung by clients after each
    /// request pushed and reply popped and when they go, and by `stop`.
    pub(super) doorbell: Parker,
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

impl<Req: ?Sized, Resp: ?Sized> Shared<Req, Resp> {
    fn registry(&self) -> MutexGuard<'_, Registry<Req, Resp>> {
        // The lock is never held across user code, so it cannot be poisoned; if it were,
        // the registry would still be consistent (each update is one push or one swap).
        self.registry
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn is_stopping(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// Whether the server has something to do: its last look before it sleeps.
    fn is_ready(&self, links: &[ServerLink<Req, Resp>]) -> bool {
        // mutant(loom_service): server's last look ignores the stop flag => false
        self.is_stopping()
            // mutant(loom_service): server's last look ignores joining links => || false
            || self.joining.load(Ordering::Relaxed)
            || links.iter().any(ServerLink::is_ready)
    }

    /// Moves the links that joined since the last round into `links`.
    #[cold]
    fn adopt(&self, links: &mut Vec<ServerLink<Req, Resp>>) {
        let mut registry = self.registry();
        self.joining.store(false, Ordering::Relaxed);
        links.append(&mut registry.joining);
    }

    /// Takes no more links, and moves those not yet taken into `links`.
    fn close(&self, links: &mut Vec<ServerLink<Req, Resp>>) {
        self.stop.store(true, Ordering::Relaxed);
        let mut registry = self.registry();
        registry.closed = true;
        self.joining.store(false, Ordering::Relaxed);
        links.append(&mut registry.joining);
    }
}

/// A typed handle to a service: connects clients to it, asks it to stop.
///
/// Returned by [`ServiceManager::start`](super::ServiceManager::start) and
/// [`Server::handle`]; also found by name with
/// [`ServiceManager::handle`](super::ServiceManager::handle). Cheap to clone, `Send`
/// and `Sync`: hand it to every thread that needs to connect.
///
/// ```
/// # ringlink::__skip_doctest_under_loom!();
/// use ringlink::service::{Service, ServiceHandle, ServiceManager};
///
/// struct Square;
/// impl Service for Square {
///     type Request = u64;
///     type Response = u64;
///     fn handle(&mut self, mut n: Box<u64>) -> Option<Box<u64>> {
///         *n *= *n;
///         Some(n)
///     }
/// }
///
/// let mut manager = ServiceManager::new();
/// let square: ServiceHandle<u64, u64> = manager.start("square", Square).unwrap();
/// let workers: Vec<_> = (1..=4u64)
///     .map(|i| {
///         let square = square.clone();
///         std::thread::spawn(move || *square.connect().unwrap().call(Box::new(i)).unwrap())
///     })
///     .collect();
/// let squares: Vec<u64> = workers.into_iter().map(|w| w.join().unwrap()).collect();
/// assert_eq!(squares, [1, 4, 9, 16]);
/// ```
pub struct ServiceHandle<Req: ?Sized, Resp: ?Sized> {
    shared: Arc<Shared<Req, Resp>>,
}

impl<Req: ?Sized, Resp: ?Sized> ServiceHandle<Req, Resp> {
    /// The service's name.
    ///
    /// ```
    /// # ringlink::__skip_doctest_under_loom!();
    /// # use ringlink::service::{Service, ServiceManager};
    /// # struct Nop;
    /// # impl Service for Nop {
    /// #     type Request = ();
    /// #     type Response = ();
    /// #     fn handle(&mut self, _: Box<()>) -> Option<Box<()>> { None }
    /// # }
    /// let mut manager = ServiceManager::new();
    /// assert_eq!(manager.start("nop", Nop).unwrap().name(), "nop");
    /// ```
    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// Connects a new client: makes a duplex link and hands its server half to the
    /// running server, which takes it in its next round (without stopping), at the
    /// latest when the client's first request wakes it.
    ///
    /// Fails with [`ConnectError::Stopped`] once the service has stopped or been asked
    /// to. A client connected just before the service stops finds its link
    /// disconnected.
    ///
    /// ```
    /// # ringlink::__skip_doctest_under_loom!();
    /// # use ringlink::service::{Service, ServiceManager};
    /// # struct Echo;
    /// # impl Service for Echo {
    /// #     type Request = u32;
    /// #     type Response = u32;
    /// #     fn handle(&mut self, r: Box<u32>) -> Option<Box<u32>> { Some(r) }
    /// # }
    /// use ringlink::service::ConnectError;
    ///
    /// let mut manager = ServiceManager::new();
    /// let echo = manager.start("echo", Echo).unwrap();
    /// let mut client = echo.connect().unwrap();
    /// assert_eq!(*client.call(Box::new(1)).unwrap(), 1);
    /// manager.shutdown();
    /// assert_eq!(echo.connect().unwrap_err(), ConnectError::Stopped("echo".into()));
    /// ```
    pub fn connect(&self) -> Result<Client<Req, Resp>, ConnectError> {
        let stopped = || ConnectError::Stopped(self.shared.name.clone());
        if self.shared.is_stopping() {
            return Err(stopped());
        }
        let (client, server_half) = new_link(&self.shared);
        {
            let mut registry = self.shared.registry();
            if registry.closed {
                return Err(stopped());
            }
            registry.joining.push(server_half);
            // mutant(loom_service): connect: the joining flag is not raised =>
            self.shared.joining.store(true, Ordering::Relaxed);
        }
        // No ring of the doorbell: a sleeping server has nothing to do on this link until
        // the client sends (or goes), which rings it; its last look before sleeping
        // checks `joining`, so it then takes the link in that round.
        Ok(client)
    }

    /// Asks the service to stop, and returns at once. The server finishes the request
    /// in hand, drops those still queued, disconnects every client and ends its
    /// [`run`](Server::run).
    ///
    /// A manager's service is joined and reported by the manager; see
    /// [`ServiceManager::stop`](super::ServiceManager::stop) to wait for it.
    ///
    /// ```
    /// # ringlink::__skip_doctest_under_loom!();
    /// # use ringlink::service::{Service, Server};
    /// # struct Nop;
    /// # impl Service for Nop {
    /// #     type Request = ();
    /// #     type Response = ();
    /// #     fn handle(&mut self, _: Box<()>) -> Option<Box<()>> { None }
    /// # }
    /// let server = Server::new("nop", Nop);
    /// let handle = server.service_handle();
    /// let thread = std::thread::spawn(move || server.run());
    /// handle.stop();
    /// assert!(!handle.is_running());
    /// assert!(thread.join().unwrap().is_clean());
    /// ```
    pub fn stop(&self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        // After the flag: a server going to sleep sees it or is woken. A rare event,
        // not followed by a request: the strong fence.
        // mutant(loom_service): stop: no doorbell ring after setting the flag =>
        self.shared.doorbell.notify_strong();
    }

    /// Whether the service takes new clients: it has not stopped, nor been asked to.
    ///
    /// ```
    /// # ringlink::__skip_doctest_under_loom!();
    /// # use ringlink::service::{Service, ServiceManager};
    /// # struct Nop;
    /// # impl Service for Nop {
    /// #     type Request = ();
    /// #     type Response = ();
    /// #     fn handle(&mut self, _: Box<()>) -> Option<Box<()>> { None }
    /// # }
    /// let mut manager = ServiceManager::new();
    /// let nop = manager.start("nop", Nop).unwrap();
    /// assert!(nop.is_running());
    /// manager.shutdown();
    /// assert!(!nop.is_running());
    /// ```
    pub fn is_running(&self) -> bool {
        !self.shared.is_stopping() && !self.shared.registry().closed
    }

    /// Requests handled so far (published by the server after each busy round).
    pub(super) fn handled(&self) -> u64 {
        self.shared.handled.load(Ordering::Relaxed) as u64
    }
}

impl<Req: ?Sized, Resp: ?Sized> Clone for ServiceHandle<Req, Resp> {
    fn clone(&self) -> Self {
        ServiceHandle {
            shared: self.shared.clone(),
        }
    }
}

impl<Req: ?Sized, Resp: ?Sized> fmt::Debug for ServiceHandle<Req, Resp> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceHandle")
            .field("name", &self.name())
            .finish_non_exhaustive()
    }
}

/// A service ready to serve on the thread that calls [`run`](Server::run).
///
/// [`ServiceManager`](super::ServiceManager) makes one per service and runs it on a
/// thread of its own; make one yourself to choose the thread.
///
/// ```
/// # ringlink::__skip_doctest_under_loom!();
/// use ringlink::service::{Service, Server};
///
/// struct Echo;
/// impl Service for Echo {
///     type Request = str;
///     type Response = str;
///     fn handle(&mut self, request: Box<str>) -> Option<Box<str>> {
///         Some(request)
///     }
/// }
///
/// let server = Server::new("echo", Echo);
/// let echo = server.service_handle();
/// let thread = std::thread::Builder::new()
///     .name("my echo thread".into())
///     .spawn(move || server.run())
///     .unwrap();
/// let mut client = echo.connect().unwrap();
/// assert_eq!(&*client.call("hi".into()).unwrap(), "hi");
/// echo.stop();
/// let report = thread.join().unwrap();
/// assert_eq!(report.handled(), 1);
/// ```
pub struct Server<S: Service> {
    /// `None` once `run` has taken it.
    service: Option<S>,
    shared: Arc<Shared<S::Request, S::Response>>,
}

impl<S: Service> Server<S> {
    /// Prepares `service` to serve under `name`, with the default [`ServiceConfig`].
    ///
    /// ```
    /// # ringlink::__skip_doctest_under_loom!();
    /// # use ringlink::service::{Service, Server};
    /// # struct Nop;
    /// # impl Service for Nop {
    /// #     type Request = ();
    /// #     type Response = ();
    /// #     fn handle(&mut self, _: Box<()>) -> Option<Box<()>> { None }
    /// # }
    /// let server = Server::new("nop", Nop);
    /// assert_eq!(server.service_handle().name(), "nop");
    /// ```
    pub fn new(name: impl Into<String>, service: S) -> Self {
        Server::with_config(name, service, ServiceConfig::new())
    }

    /// Prepares `service` to serve under `name`, with `config`.
    ///
    /// ```
    /// # ringlink::__skip_doctest_under_loom!();
    /// # use ringlink::service::{Service, Server};
    /// # struct Nop;
    /// # impl Service for Nop {
    /// #     type Request = ();
    /// #     type Response = ();
    /// #     fn handle(&mut self, _: Box<()>) -> Option<Box<()>> { None }
    /// # }
    /// use ringlink::service::{ServiceConfig, WaitStrategy};
    ///
    /// let config = ServiceConfig::new().with_wait_strategy(WaitStrategy::Park);
    /// let server = Server::with_config("nop", Nop, config);
    /// ```
    pub fn with_config(name: impl Into<String>, service: S, config: ServiceConfig) -> Self {
        // Decide the fences now, not on a hot path.
        prepare_fences();
        Server {
            service: Some(service),
            shared: Arc::new(Shared {
                name: name.into(),
                config,
                doorbell: Parker::new(),
                stop: AtomicBool::new(false),
                joining: AtomicBool::new(false),
                registry: Mutex::new(Registry {
                    joining: Vec::new(),
                    closed: false,
                }),
                handled: CachePadded::new(AtomicUsize::new(0)),
            }),
        }
    }

    /// A handle to connect clients and to stop the service; works before, during and
    /// after [`run`](Server::run).
    ///
    /// ```
    /// # ringlink::__skip_doctest_under_loom!();
    /// # use ringlink::service::{Service, Server};
    /// # struct Echo;
    /// # impl Service for Echo {
    /// #     type Request = u8;
    /// #     type Response = u8;
    /// #     fn handle(&mut self, r: Box<u8>) -> Option<Box<u8>> { Some(r) }
    /// # }
    /// let server = Server::new("echo", Echo);
    /// let mut early = server.service_handle().connect().unwrap(); // queued until `run` starts
    /// early.send(Box::new(1)).unwrap();
    /// let handle = server.service_handle();
    /// let thread = std::thread::spawn(move || server.run());
    /// assert_eq!(*early.recv().unwrap(), 1);
    /// handle.stop();
    /// thread.join().unwrap();
    /// ```
    pub fn service_handle(&self) -> ServiceHandle<S::Request, S::Response> {
        ServiceHandle {
            shared: self.shared.clone(),
        }
    }

    /// Serves on the calling thread until the service is stopped (through a handle) or
    /// a panic stops it; then disconnects every client and returns the report.
    ///
    /// Calls [`Service::started`] first and [`Service::stopped`] last (the latter only
    /// after a clean stop). A panic anywhere in the service's code, including the drop
    /// of a request or a reply, is caught and reported.
    ///
    /// ```
    /// # ringlink::__skip_doctest_under_loom!();
    /// # use ringlink::service::{Service, Server};
    /// # struct Nop;
    /// # impl Service for Nop {
    /// #     type Request = ();
    /// #     type Response = ();
    /// #     fn handle(&mut self, _: Box<()>) -> Option<Box<()>> { None }
    /// # }
    /// use ringlink::service::Outcome;
    ///
    /// let server = Server::new("nop", Nop);
    /// server.service_handle().stop(); // stops at once: `run` returns after `started`
    /// let report = server.run();
    /// assert_eq!(report.outcome(), &Outcome::Stopped);
    /// ```
    pub fn run(mut self) -> ServiceReport {
        let shared = self.shared.clone();
        let mut service = AssertUnwindSafe(self.service.take().expect("run once"));
        let mut links = Vec::new();
        let mut handled = 0;

        let mut outcome = match panic::catch_unwind(AssertUnwindSafe(|| {
            serve(&shared, &mut *service, &mut links, &mut handled)
        })) {
            Ok(()) => Outcome::Stopped,
            Err(payload) => Outcome::Panicked(panic_message(&*payload)),
        };

        // Disconnect every client: dropping a link drops its queued requests and its
        // waiting reply, marks both rings abandoned, then wakes the client.
        shared.close(&mut links);
        while let Some(link) = links.pop() {
            if let Err(payload) = panic::catch_unwind(AssertUnwindSafe(|| drop(link))) {
                outcome.record_panic(&*payload);
            }
        }
        shared.handled.store(handled, Ordering::Relaxed);

        let clean = outcome == Outcome::Stopped;
        if let Err(payload) = panic::catch_unwind(AssertUnwindSafe(move || {
            let mut service = service;
            if clean {
                service.stopped();
            }
            drop(service);
        })) {
            outcome.record_panic(&*payload);
        }
        ServiceReport::new(shared.name.clone(), handled as u64, outcome)
    }
}

impl<S: Service> Drop for Server<S> {
    /// A server dropped without running disconnects the clients connected meanwhile.
    fn drop(&mut self) {
        if self.service.is_some() {
            let mut links = Vec::new();
            self.shared.close(&mut links);
        }
    }
}

impl<S: Service> fmt::Debug for Server<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("name", &self.shared.name)
            .finish_non_exhaustive()
    }
}

/// The server loop: rounds over the links until stopped; sleeps on the doorbell when a
/// round finds nothing to do.
fn serve<S: Service>(
    shared: &Shared<S::Request, S::Response>,
    service: &mut S,
    links: &mut Vec<ServerLink<S::Request, S::Response>>,
    handled: &mut usize,
) {
    service.started();
    let batch = shared.config.batch();
    let strategy = shared.config.wait_strategy();
    loop {
        if shared.is_stopping() {
            return;
        }
        if shared.joining.load(Ordering::Relaxed) {
            shared.adopt(links);
        }
        let mut busy = false;
        let mut closed = false;
        for link in links.iter_mut() {
            busy |= link.serve(
                batch,
                handled,
                || shared.is_stopping(),
                |request| service.handle(request),
            );
            closed |= link.is_closed();
        }
        if closed {
            links.retain(|link| !link.is_closed());
        }
        if busy {
            shared.handled.store(*handled, Ordering::Relaxed);
        } else {
            // Every look a client's store could change is in `is_ready`: it is the
            // re-check after the announcement that a client's ring of the doorbell
            // either precedes or wakes.
            shared
                .doorbell
                .wait_until(strategy, None, || shared.is_ready(links).then_some(()));
        }
    }
}

/// The message of a panic, when it has one (`panic!` with a literal or a format).
pub(super) fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(message) = payload.downcast_ref::<&str>() {
        (*message).to_owned()
    } else if let Some(message) = payload.downcast_ref::<String>() {
        message.clone()
    } else {
        "a panic without a message".to_owned()
    }
}
