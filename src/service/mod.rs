//! Services: user code on server threads of their own, and clients that talk to them
//! through duplex ring links.
//!
//! A *service* is a value whose type implements [`Service`]: it takes `Box`ed requests
//! and may answer each with a `Box`ed response, which may be the very same allocation
//! (an echo costs no allocation). A [`ServiceManager`] starts each service on a thread
//! of its own, named after the service, and connects *clients* to it by name or through
//! the typed [`ServiceHandle`] that [`start`](ServiceManager::start) returns.
//!
//! ```
//! # ringlink::__skip_doctest_under_loom!();
//! use ringlink::service::{Service, ServiceManager};
//!
//! /// Answers each request with the same box, doubled in place.
//! struct Doubler;
//!
//! impl Service for Doubler {
//!     type Request = u64;
//!     type Response = u64;
//!
//!     fn handle(&mut self, mut request: Box<u64>) -> Option<Box<u64>> {
//!         *request *= 2;
//!         Some(request)
//!     }
//! }
//!
//! let mut manager = ServiceManager::new();
//! let doubler = manager.start("doubler", Doubler).unwrap();
//! let mut client = doubler.connect().unwrap();
//! assert_eq!(*client.call(Box::new(21)).unwrap(), 42);
//!
//! // Stops every service, joins its thread, and says what happened.
//! let report = manager.shutdown();
//! assert!(report.is_clean());
//! assert_eq!(report.service("doubler").unwrap().handled(), 1);
//! ```
//!
//! # Links
//!
//! Connecting a client makes a *duplex link*: a request ring from the client to the
//! server and a reply ring back, each a single-producer/single-consumer
//! [ring](crate::ring). The [`Client`] half is `Send`, so it may move to any thread;
//! there is no lock and no shared counter on the way of a message, and no allocation
//! once the link exists. Replies come back in the order of the requests.
//!
//! | client method | waits while | fails when the service is gone with |
//! |---|---|---|
//! | [`Client::send`] | the request ring is full | [`SendError`], the request handed back |
//! | [`Client::try_send`] | never | [`TrySendError::Full`], [`TrySendError::Disconnected`] |
//! | [`Client::recv`] | no reply is ready | [`RecvError`], once every reply sent is received |
//! | [`Client::try_recv`] | never | [`TryRecvError::Empty`], [`TryRecvError::Disconnected`] |
//! | [`Client::recv_timeout`] | no reply is ready, until the time is up | [`RecvTimeoutError::Timeout`], [`RecvTimeoutError::Disconnected`] |
//! | [`Client::call`] | as `send`, then as `recv` | [`CallError::NotSent`] (request handed back), [`CallError::NoReply`] |
//!
//! # The server thread
//!
//! A server polls its links round-robin and takes at most a bounded batch of requests
//! from each per round ([`ServiceConfig::batch`]), so a busy client cannot starve the
//! others. When every link is idle it sleeps on one *doorbell*, which clients ring after
//! each request, with the [adaptive wait](crate::wait::WaitStrategy::Adaptive): it
//! spins a few microseconds while traffic is likely to follow, then sleeps, so an idle
//! service uses no CPU. A client waiting for a reply waits the same way on a parking
//! slot of its own. New links reach a running server through a small registration queue
//! that it looks at once per round, and in its last look before sleeping.
//!
//! A reply that does not fit in a full reply ring waits inside the server, which then
//! takes no more requests from that link until the client makes room: a client that
//! does not read its replies slows down only itself.
//!
//! # Stopping, panics, reports
//!
//! Stop is out of band: a flag and a ring of the doorbell, never a message queued
//! behind requests. [`ServiceManager::shutdown`] (and dropping the manager) stops every
//! service, lets each finish the request in hand, joins every thread, and returns a
//! [`Report`]: requests handled per service, and how each ended.
//! [`ServiceManager::shutdown_timeout`] reports the services that did not stop in time
//! instead of waiting for them, and gives up on them: their threads are detached (each
//! ends once its handler returns) and their clients' waits end at once, as if the
//! service had stopped (`send` and `recv` fail, [`Client::is_connected`] is `false`).
//!
//! When a service stops, for whatever reason, the requests still queued for it are
//! dropped unhandled, and its clients see the link disconnected: they receive the
//! replies already sent, then an error, and a client blocked in `send`, `recv` or
//! `call` wakes up to return it. A request is therefore either handled, or the `call` or
//! `recv` waiting for its reply fails; every request and reply is dropped exactly once.
//! (As with channels, a successful `send` does not promise that the request will be
//! handled, only that the service was running when it was queued.)
//!
//! A panic in a handler stops that service only. Its clients get `Disconnected`
//! errors, the panic's message is in the report, and the other services go on. The
//! panic is still printed by the panic hook, as any panic is.
//!
//! Requests and replies whose `Drop` panics: when a link closes, the server drops the
//! requests still queued on it as a `Vec` drops its elements: a panic in one drop is
//! caught and reported ([`Outcome::Panicked`]) after the rest have been dropped, and a
//! second panic while the first unwinds aborts the process (Rust's rule for a panic
//! during a panic). std's channels leak the values left instead. A client's drop drops
//! its unreceived replies the same way, on the client's thread.
//!
//! ```
//! # ringlink::__skip_doctest_under_loom!();
//! use ringlink::service::{CallError, Outcome, Service, ServiceManager};
//!
//! struct Fragile;
//!
//! impl Service for Fragile {
//!     type Request = u32;
//!     type Response = u32;
//!
//!     fn handle(&mut self, request: Box<u32>) -> Option<Box<u32>> {
//!         assert!(*request != 13, "unlucky request");
//!         Some(request)
//!     }
//! }
//!
//! let mut manager = ServiceManager::new();
//! let fragile = manager.start("fragile", Fragile).unwrap();
//! let mut client = fragile.connect().unwrap();
//! assert_eq!(*client.call(Box::new(1)).unwrap(), 1);
//! assert!(matches!(client.call(Box::new(13)), Err(CallError::NoReply)));
//! assert!(client.call(Box::new(2)).is_err()); // the service is gone for good
//!
//! let report = manager.shutdown();
//! let outcome = report.service("fragile").unwrap().outcome();
//! assert!(matches!(outcome, Outcome::Panicked(message) if message.contains("unlucky")));
//! ```
//!
//! # Running a server on a thread of your own
//!
//! [`Server`] is what the manager runs on each thread: [`Server::run`] serves on the
//! calling thread until the service is stopped through one of its handles, and returns
//! its [`ServiceReport`]. Use it to run a service on a thread you set up yourself (or
//! use [`Service::started`], which runs on the service's thread before the first
//! request, to pin it to a core, say).

// Inside the service layer, each file uses only those above it here.
mod error;
mod handle;
mod link;
mod manager;
mod report;
mod server;
mod state;

pub use crate::error::{RecvError, RecvTimeoutError, SendError, TryRecvError, TrySendError};
pub use crate::wait::WaitStrategy;
pub use error::{CallError, ConnectError, StartError};
pub use handle::ServiceHandle;
pub use link::Client;
pub use manager::ServiceManager;
pub use report::{Outcome, Report, ServiceReport};
pub use server::Server;

/// User code that a server thread runs: it handles the requests of every client of the
/// service, one at a time.
///
/// Requests and responses travel as `Box`es (an 8-byte pointer through the rings,
/// whatever their size), and a handler may answer with the very box it was given, so
/// an echo allocates nothing. The handler runs on the service's own thread and is
/// never called concurrently with itself, so it may keep state in `self` freely.
///
/// `Request` and `Response` may be unsized (`[u8]`, `str`, `dyn Trait`).
///
/// ```
/// # ringlink::__skip_doctest_under_loom!();
/// use ringlink::service::{Service, ServiceManager};
///
/// /// Counts the bytes it is sent; answers every tenth request with the total so far.
/// #[derive(Default)]
/// struct ByteCounter {
///     requests: u64,
///     bytes: usize,
/// }
///
/// impl Service for ByteCounter {
///     type Request = [u8];
///     type Response = usize;
///
///     fn handle(&mut self, request: Box<[u8]>) -> Option<Box<usize>> {
///         self.requests += 1;
///         self.bytes += request.len();
///         (self.requests % 10 == 0).then(|| Box::new(self.bytes))
///     }
/// }
///
/// let mut manager = ServiceManager::new();
/// let counter = manager.start("counter", ByteCounter::default()).unwrap();
/// let mut client = counter.connect().unwrap();
/// for _ in 0..10 {
///     client.send(vec![0u8; 3].into_boxed_slice()).unwrap();
/// }
/// assert_eq!(*client.recv().unwrap(), 30);
/// ```
pub trait Service: Send + 'static {
    /// What clients send.
    type Request: ?Sized + Send + 'static;
    /// What the service answers.
    type Response: ?Sized + Send + 'static;

    /// Handles one request; the response returned, if any, goes back to the client that
    /// sent the request, after the responses to its earlier requests.
    ///
    /// Returning `None` sends nothing back: a client that waits in
    /// [`recv`](Client::recv) or [`call`](Client::call) then waits for the response to a
    /// later request (or for the service to stop).
    ///
    /// A panic here stops the service (see the [module docs](self)).
    fn handle(&mut self, request: Box<Self::Request>) -> Option<Box<Self::Response>>;

    /// Runs on the service's thread before it handles any request: a place to pin the
    /// thread to a core, or to say hello. Does nothing by default.
    ///
    /// ```
    /// # ringlink::__skip_doctest_under_loom!();
    /// use ringlink::service::{Service, ServiceManager};
    ///
    /// struct WhereAmI;
    ///
    /// impl Service for WhereAmI {
    ///     type Request = ();
    ///     type Response = String;
    ///
    ///     fn started(&mut self) {
    ///         let name = std::thread::current().name().map(str::to_owned);
    ///         assert_eq!(name.as_deref(), Some("where-am-i"));
    ///     }
    ///
    ///     fn handle(&mut self, _: Box<()>) -> Option<Box<String>> {
    ///         std::thread::current().name().map(|name| Box::new(name.to_owned()))
    ///     }
    /// }
    ///
    /// let mut manager = ServiceManager::new();
    /// let service = manager.start("where-am-i", WhereAmI).unwrap();
    /// let mut client = service.connect().unwrap();
    /// assert_eq!(*client.call(Box::new(())).unwrap(), "where-am-i");
    /// ```
    fn started(&mut self) {}

    /// Runs on the service's thread once it has stopped taking requests, after every
    /// client has been disconnected, unless a panic stopped it. Does nothing by default.
    ///
    /// ```
    /// # ringlink::__skip_doctest_under_loom!();
    /// use std::sync::mpsc;
    /// use ringlink::service::{Service, ServiceManager};
    ///
    /// struct Tally {
    ///     seen: u32,
    ///     done: mpsc::Sender<u32>,
    /// }
    ///
    /// impl Service for Tally {
    ///     type Request = ();
    ///     type Response = ();
    ///
    ///     fn handle(&mut self, request: Box<()>) -> Option<Box<()>> {
    ///         self.seen += 1;
    ///         Some(request)
    ///     }
    ///
    ///     fn stopped(&mut self) {
    ///         self.done.send(self.seen).unwrap();
    ///     }
    /// }
    ///
    /// let (done, seen) = mpsc::channel();
    /// let mut manager = ServiceManager::new();
    /// let tally = manager.start("tally", Tally { seen: 0, done }).unwrap();
    /// let mut client = tally.connect().unwrap();
    /// client.call(Box::new(())).unwrap();
    /// client.call(Box::new(())).unwrap();
    /// manager.shutdown();
    /// assert_eq!(seen.recv(), Ok(2));
    /// ```
    fn stopped(&mut self) {}
}

/// How a service's links are sized and how its threads wait.
///
/// One configuration applies to a service's server thread and to all its clients. Set
/// it for every service of a manager with [`ServiceManager::with_config`], or for one
/// [`Server`] with [`Server::with_config`].
///
/// ```
/// # ringlink::__skip_doctest_under_loom!();
/// use ringlink::service::{ServiceConfig, ServiceManager, WaitStrategy};
///
/// let config = ServiceConfig::new()
///     .with_link_capacity(256)
///     .with_batch(64)
///     .with_wait_strategy(WaitStrategy::Park);
/// let manager = ServiceManager::with_config(config);
/// assert_eq!(manager.config().link_capacity(), 256);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ServiceConfig {
    capacity: usize,
    batch: usize,
    strategy: WaitStrategy,
}

impl ServiceConfig {
    /// The defaults: links of 64 requests and 64 replies, batches of 16 requests per link
    /// and round, and the [adaptive wait](WaitStrategy::Adaptive).
    ///
    /// ```
    /// # ringlink::__skip_doctest_under_loom!();
    /// use ringlink::service::{ServiceConfig, WaitStrategy};
    ///
    /// let config = ServiceConfig::new();
    /// assert_eq!((config.link_capacity(), config.batch()), (64, 16));
    /// assert_eq!(config.wait_strategy(), WaitStrategy::Adaptive);
    /// assert_eq!(config, ServiceConfig::default());
    /// ```
    pub const fn new() -> Self {
        ServiceConfig {
            capacity: 64,
            batch: 16,
            strategy: WaitStrategy::Adaptive,
        }
    }

    /// Sets how many requests, and how many replies, each link holds (at least 1).
    ///
    /// A client's `send` waits while its request ring is full; a reply that finds the
    /// reply ring full waits in the server, which meanwhile takes no more requests from
    /// that link.
    ///
    /// ```
    /// # ringlink::__skip_doctest_under_loom!();
    /// use ringlink::service::ServiceConfig;
    ///
    /// assert_eq!(ServiceConfig::new().with_link_capacity(8).link_capacity(), 8);
    /// assert_eq!(ServiceConfig::new().with_link_capacity(0).link_capacity(), 1);
    /// ```
    pub const fn with_link_capacity(mut self, capacity: usize) -> Self {
        self.capacity = if capacity == 0 { 1 } else { capacity };
        self
    }

    /// Sets how many requests the server takes from one link before it turns to the next
    /// (at least 1).
    ///
    /// ```
    /// # ringlink::__skip_doctest_under_loom!();
    /// use ringlink::service::ServiceConfig;
    ///
    /// assert_eq!(ServiceConfig::new().with_batch(4).batch(), 4);
    /// assert_eq!(ServiceConfig::new().with_batch(0).batch(), 1);
    /// ```
    pub const fn with_batch(mut self, batch: usize) -> Self {
        self.batch = if batch == 0 { 1 } else { batch };
        self
    }

    /// Sets how the server waits for requests and clients wait for replies or room.
    ///
    /// ```
    /// # ringlink::__skip_doctest_under_loom!();
    /// use ringlink::service::{ServiceConfig, WaitStrategy};
    ///
    /// let config = ServiceConfig::new().with_wait_strategy(WaitStrategy::Yield);
    /// assert_eq!(config.wait_strategy(), WaitStrategy::Yield);
    /// ```
    pub const fn with_wait_strategy(mut self, strategy: WaitStrategy) -> Self {
        self.strategy = strategy;
        self
    }

    /// How many requests, and how many replies, each link holds.
    ///
    /// ```
    /// # ringlink::__skip_doctest_under_loom!();
    /// assert_eq!(ringlink::service::ServiceConfig::new().link_capacity(), 64);
    /// ```
    pub const fn link_capacity(&self) -> usize {
        self.capacity
    }

    /// How many requests the server takes from one link per round.
    ///
    /// ```
    /// # ringlink::__skip_doctest_under_loom!();
    /// assert_eq!(ringlink::service::ServiceConfig::new().batch(), 16);
    /// ```
    pub const fn batch(&self) -> usize {
        self.batch
    }

    /// How the server and the clients wait.
    ///
    /// ```
    /// # ringlink::__skip_doctest_under_loom!();
    /// use ringlink::service::{ServiceConfig, WaitStrategy};
    ///
    /// assert_eq!(ServiceConfig::new().wait_strategy(), WaitStrategy::Adaptive);
    /// ```
    pub const fn wait_strategy(&self) -> WaitStrategy {
        self.strategy
    }
}

impl Default for ServiceConfig {
    fn default() -> Self {
        ServiceConfig::new()
    }
}
