//! The duplex link between one client and one server: a request ring, a reply ring, and
//! the two halves that own their ends.
//!
//! Who wakes whom:
//! - the client rings the service's doorbell after each request it pushes, after each
//!   reply it pops (the server may hold a reply waiting for room), and when it goes
//!   (a new link needs no ring of its own: the server has nothing to do on it before
//!   its first request);
//! - the server wakes the client's parker after each batch in which it took a request or
//!   pushed a reply, and when it closes the link (after dropping its ring ends).
//!
//! Each of these follows the store it announces, as the wait layer's handshake requires
//! (`crate::wait`): a sleeper that announced itself either sees the store on its last
//! look or is woken.

use core::fmt;
use std::time::Duration;

use crate::end::{RecvEnd, SendEnd, Waits};
use crate::error::{
    RecvError, RecvTimeoutError, SendError, SendTimeoutError, TryRecvError, TrySendError,
};
use crate::ring::{CapacityError, Consumer, Producer, PushError, RingBuffer};
use crate::sync::{lock, Arc, AtomicBool, Mutex, Ordering};
use crate::wait::{Deadline, WaitSlot, WaitStrategy, WakeOnDrop};

use super::error::CallError;

/// What every client of one service shares with it, apart from its link: the service's
/// name, its doorbell, and whether the manager has given up on it.
pub(super) struct ServiceTag {
    pub(super) name: String,
    /// Where the server sleeps when all its links are idle; clients ring it.
    pub(super) doorbell: Arc<WaitSlot>,
    /// Set (once, never cleared) when the manager gives up on a service that did not
    /// stop in time: its clients' waits end as if the service had stopped.
    given_up: AtomicBool,
    /// The wait slots of the clients, so that giving up can wake them. Pruned of
    /// clients that are gone whenever a client joins.
    clients: Mutex<Vec<Arc<WaitSlot>>>,
}

impl ServiceTag {
    pub(super) fn new(name: String) -> Self {
        ServiceTag {
            name,
            doorbell: Arc::new(WaitSlot::new()),
            given_up: AtomicBool::new(false),
            clients: Mutex::new(Vec::new()),
        }
    }

    /// Whether the manager gave up on the service.
    #[inline]
    pub(super) fn is_given_up(&self) -> bool {
        self.given_up.load(Ordering::Relaxed)
    }

    /// Marks the service given up and wakes every client that may wait on it.
    pub(super) fn give_up(&self) {
        self.given_up.store(true, Ordering::Relaxed);
        for client in lock(&self.clients).iter() {
            // After the flag, with a full fence: a client about to sleep sees the flag
            // on its last look, or is woken.
            // (Guarded by tests/service.rs: shutdown_timeout_reports_services_that_do_not_stop.)
            client.notify_strong();
        }
    }
}

/// The client's half and the server's half of one link.
pub(super) type LinkHalves<Req, Resp> = (Client<Req, Resp>, ServerLink<Req, Resp>);

/// Makes the two halves of a new link to the service tagged `tag`; fails if rings of
/// `capacity` cannot be allocated.
pub(super) fn new_link<Req: ?Sized, Resp: ?Sized>(
    tag: &Arc<ServiceTag>,
    capacity: usize,
    strategy: WaitStrategy,
) -> Result<LinkHalves<Req, Resp>, CapacityError> {
    let (request_tx, request_rx) = RingBuffer::try_new(capacity)?;
    let (reply_tx, reply_rx) = RingBuffer::try_new(capacity)?;
    let slot = Arc::new(WaitSlot::new());
    {
        let mut clients = lock(&tag.clients);
        clients.retain(|client| Arc::strong_count(client) > 1);
        clients.push(slot.clone());
    }
    // The client sleeps on its own slot, for room and for replies alike, and rings the
    // doorbell after each request it pushes, each reply it pops (the server may hold a
    // reply waiting for room), and when each of its ends goes.
    let waits = || Waits::new(slot.clone(), tag.doorbell.clone(), strategy);
    let client = Client {
        requests: SendEnd::new(request_tx, waits()),
        replies: RecvEnd::new(reply_rx, waits()),
        tag: tag.clone(),
    };
    let server = ServerLink {
        requests: request_rx,
        replies: reply_tx,
        pending: None,
        closed: false,
        client: WakeOnDrop::new(slot),
    };
    Ok((client, server))
}

/// The client's half of a link to a service: sends requests, receives replies.
///
/// Made by [`ServiceHandle::connect`](super::ServiceHandle::connect) or
/// [`ServiceManager::connect`](super::ServiceManager::connect). It is `Send` (it may move
/// to any thread) but neither `Clone` nor `Sync`: each link has one client, which is
/// what lets it run on single-producer rings. Connect once per thread that needs the
/// service.
///
/// Dropping it disconnects the link: the server still handles the requests sent before,
/// and drops their replies.
///
/// ```
/// # ringlink::__skip_doctest_under_loom!();
/// use ringlink::service::{Service, ServiceManager};
///
/// struct Upper;
/// impl Service for Upper {
///     type Request = String;
///     type Response = String;
///     fn handle(&mut self, mut text: Box<String>) -> Option<Box<String>> {
///         text.make_ascii_uppercase();
///         Some(text)
///     }
/// }
///
/// let mut manager = ServiceManager::new();
/// manager.start("upper", Upper).unwrap();
/// let mut client = manager.connect::<String, String>("upper").unwrap();
/// let worker = std::thread::spawn(move || *client.call(Box::new("ring".into())).unwrap());
/// assert_eq!(worker.join().unwrap(), "RING");
/// ```
///
/// ```compile_fail
/// fn is_sync<S: Sync>() {}
/// is_sync::<ringlink::service::Client<u8, u8>>(); // one client per link, no sharing
/// ```
pub struct Client<Req: ?Sized, Resp: ?Sized> {
    requests: SendEnd<Producer<Box<Req>>>,
    replies: RecvEnd<Consumer<Box<Resp>>>,
    tag: Arc<ServiceTag>,
}

impl<Req: ?Sized, Resp: ?Sized> Client<Req, Resp> {
    /// The name of the service this client is connected to.
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
    /// let client = manager.start("nop", Nop).unwrap().connect().unwrap();
    /// assert_eq!(client.service_name(), "nop");
    /// ```
    pub fn service_name(&self) -> &str {
        &self.tag.name
    }

    /// Whether the service still takes requests on this link. Once `false`, it stays
    /// so; replies already sent can still be received.
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
    /// let client = manager.start("nop", Nop).unwrap().connect().unwrap();
    /// assert!(client.is_connected());
    /// manager.shutdown();
    /// assert!(!client.is_connected());
    /// ```
    pub fn is_connected(&self) -> bool {
        !self.requests.is_disconnected() && !self.tag.is_given_up()
    }

    /// Sends a request, waiting while the request ring is full.
    ///
    /// Fails, handing the request back, when the service has stopped. Success means
    /// the request is queued, not that it will be handled: the service may stop first
    /// (then [`recv`](Client::recv) tells).
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
    /// use ringlink::service::SendError;
    ///
    /// let mut manager = ServiceManager::new();
    /// let mut client = manager.start("echo", Echo).unwrap().connect().unwrap();
    /// for i in 0..3 {
    ///     client.send(Box::new(i)).unwrap();
    /// }
    /// for i in 0..3 {
    ///     assert_eq!(*client.recv().unwrap(), i); // replies come in order
    /// }
    /// manager.shutdown();
    /// assert_eq!(client.send(Box::new(9)), Err(SendError(Box::new(9))));
    /// ```
    pub fn send(&mut self, request: Box<Req>) -> Result<(), SendError<Box<Req>>> {
        let tag = &self.tag;
        self.requests
            .send(request, Deadline::Never, || tag.is_given_up())
            .map_err(|error| match error {
                SendTimeoutError::Timeout(request) | SendTimeoutError::Disconnected(request) => {
                    SendError(request)
                }
            })
    }

    /// Sends a request if the request ring has room, without waiting.
    ///
    /// ```
    /// # ringlink::__skip_doctest_under_loom!();
    /// # use ringlink::service::{Service, ServiceManager};
    /// use ringlink::service::{ServiceConfig, TrySendError};
    ///
    /// struct Sink;
    /// impl Service for Sink {
    ///     type Request = u8;
    ///     type Response = ();
    ///     fn handle(&mut self, _: Box<u8>) -> Option<Box<()>> {
    ///         std::thread::sleep(std::time::Duration::from_millis(100));
    ///         None
    ///     }
    /// }
    ///
    /// let config = ServiceConfig::new().with_link_capacity(1);
    /// let mut manager = ServiceManager::with_config(config);
    /// let mut client = manager.start("sink", Sink).unwrap().connect().unwrap();
    /// let mut full = false;
    /// for i in 0..3 {
    ///     // At most one waits in the ring and one is in hand: one of three finds it full.
    ///     full |= matches!(client.try_send(Box::new(i)), Err(TrySendError::Full(_)));
    /// }
    /// assert!(full);
    /// ```
    pub fn try_send(&mut self, request: Box<Req>) -> Result<(), TrySendError<Box<Req>>> {
        let tag = &self.tag;
        self.requests
            .send(request, Deadline::Now, || tag.is_given_up())
            .map_err(|error| match error {
                SendTimeoutError::Timeout(request) => TrySendError::Full(request),
                SendTimeoutError::Disconnected(request) => TrySendError::Disconnected(request),
            })
    }

    /// Receives the next reply, waiting until there is one.
    ///
    /// Fails once the service has stopped and every reply it sent has been received; a
    /// `recv` that is waiting when the service stops wakes up to fail.
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
    /// use ringlink::service::RecvError;
    ///
    /// let mut manager = ServiceManager::new();
    /// let mut client = manager.start("echo", Echo).unwrap().connect().unwrap();
    /// client.send(Box::new(5)).unwrap();
    /// assert_eq!(*client.recv().unwrap(), 5);
    /// manager.shutdown();
    /// assert_eq!(client.recv(), Err(RecvError));
    /// ```
    pub fn recv(&mut self) -> Result<Box<Resp>, RecvError> {
        self.recv_until(Deadline::Never)
            .map_err(|_: RecvTimeoutError| RecvError)
    }

    /// Receives a reply if one is ready, without waiting.
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
    /// use ringlink::service::TryRecvError;
    ///
    /// let mut manager = ServiceManager::new();
    /// let mut client = manager.start("echo", Echo).unwrap().connect().unwrap();
    /// assert_eq!(client.try_recv(), Err(TryRecvError::Empty));
    /// client.send(Box::new(1)).unwrap();
    /// let reply = loop {
    ///     match client.try_recv() {
    ///         Ok(reply) => break reply,
    ///         Err(TryRecvError::Empty) => std::thread::yield_now(), // meanwhile, other work
    ///         Err(TryRecvError::Disconnected) => unreachable!("the service is running"),
    ///     }
    /// };
    /// assert_eq!(*reply, 1);
    /// manager.shutdown();
    /// assert_eq!(client.try_recv(), Err(TryRecvError::Disconnected));
    /// ```
    pub fn try_recv(&mut self) -> Result<Box<Resp>, TryRecvError> {
        self.recv_until(Deadline::Now).map_err(|error| match error {
            RecvTimeoutError::Timeout => TryRecvError::Empty,
            RecvTimeoutError::Disconnected => TryRecvError::Disconnected,
        })
    }

    /// Receives the next reply, waiting at most `timeout` for one.
    ///
    /// Never returns [`RecvTimeoutError::Timeout`] before `timeout` has passed; a
    /// timeout too large to add to the current time waits forever.
    ///
    /// ```
    /// # ringlink::__skip_doctest_under_loom!();
    /// # use ringlink::service::{Service, ServiceManager};
    /// # struct Silent;
    /// # impl Service for Silent {
    /// #     type Request = u32;
    /// #     type Response = u32;
    /// #     fn handle(&mut self, _: Box<u32>) -> Option<Box<u32>> { None }
    /// # }
    /// use std::time::Duration;
    /// use ringlink::service::RecvTimeoutError;
    ///
    /// let mut manager = ServiceManager::new();
    /// let mut client = manager.start("silent", Silent).unwrap().connect().unwrap();
    /// client.send(Box::new(1)).unwrap();
    /// let wait = Duration::from_millis(10);
    /// assert_eq!(client.recv_timeout(wait), Err(RecvTimeoutError::Timeout));
    /// ```
    pub fn recv_timeout(&mut self, timeout: Duration) -> Result<Box<Resp>, RecvTimeoutError> {
        self.recv_until(Deadline::after(timeout))
    }

    /// Sends a request, then waits for the next reply: the reply to this request, unless
    /// replies to earlier requests sent with [`send`](Client::send) are still to be
    /// received.
    ///
    /// ```
    /// # ringlink::__skip_doctest_under_loom!();
    /// # use ringlink::service::{Service, ServiceManager};
    /// # struct Echo;
    /// # impl Service for Echo {
    /// #     type Request = Vec<u8>;
    /// #     type Response = Vec<u8>;
    /// #     fn handle(&mut self, r: Box<Vec<u8>>) -> Option<Box<Vec<u8>>> { Some(r) }
    /// # }
    /// let mut manager = ServiceManager::new();
    /// let mut client = manager.start("echo", Echo).unwrap().connect().unwrap();
    /// let request = Box::new(vec![1, 2, 3]);
    /// let address = &*request as *const Vec<u8>;
    /// let reply = client.call(request).unwrap();
    /// assert_eq!(&*reply as *const Vec<u8>, address, "the very same box came back");
    /// ```
    pub fn call(&mut self, request: Box<Req>) -> Result<Box<Resp>, CallError<Box<Req>>> {
        self.send(request)
            .map_err(|SendError(request)| CallError::NotSent(request))?;
        self.recv().map_err(|RecvError| CallError::NoReply)
    }

    #[inline]
    fn recv_until(&mut self, deadline: Deadline) -> Result<Box<Resp>, RecvTimeoutError> {
        let tag = &self.tag;
        self.replies.recv(deadline, || tag.is_given_up())
    }
}

impl<Req: ?Sized, Resp: ?Sized> fmt::Debug for Client<Req, Resp> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("service", &self.service_name())
            .field("connected", &self.is_connected())
            .finish_non_exhaustive()
    }
}

/// The server's half of a link: takes requests, pushes replies.
// mutant(loom_service): closing a link wakes its client before dropping the ring ends (client field first; the old field list is left behind as an unused struct) => pub(super) struct ServerLink<Req: ?Sized, Resp: ?Sized> { client: WakeOnDrop, requests: Consumer<Box<Req>>, replies: Producer<Box<Resp>>, pending: Option<Box<Resp>>, closed: bool } #[allow(dead_code)] struct OldFieldOrder<Req: ?Sized, Resp: ?Sized> {
pub(super) struct ServerLink<Req: ?Sized, Resp: ?Sized> {
    requests: Consumer<Box<Req>>,
    replies: Producer<Box<Resp>>,
    /// A reply that found the reply ring full. While it waits, no request is taken from
    /// this link: the client slows only itself by not reading its replies.
    pending: Option<Box<Resp>>,
    /// The client is gone and every request it sent has been handled.
    closed: bool,
    /// Declared last, so dropped last: wakes the client after the ring ends above are
    /// dropped (marking the link abandoned), even if dropping a request panics.
    client: WakeOnDrop,
}

impl<Req: ?Sized, Resp: ?Sized> ServerLink<Req, Resp> {
    /// Serves one round: takes at most `batch` requests and hands each to `handle`,
    /// stopping early when the link runs dry, a reply finds the reply ring full, or
    /// `stop()` says so. Counts handled requests in `handled`; returns whether anything
    /// moved. A panic in `handle` propagates, with the link in a consistent state.
    #[inline]
    pub(super) fn serve(
        &mut self,
        batch: usize,
        handled: &mut usize,
        stop: impl Fn() -> bool,
        mut handle: impl FnMut(Box<Req>) -> Option<Box<Resp>>,
    ) -> bool {
        let mut moved = self.deliver();
        let mut taken = 0;
        while self.pending.is_none() && taken < batch && !stop() {
            let request = match self.requests.pop() {
                Ok(request) => request,
                Err(_) => {
                    // The client marks the ring abandoned after its last push: empty
                    // after seeing the mark means nothing more will come.
                    self.closed = self.requests.is_abandoned() && self.requests.is_empty();
                    break;
                }
            };
            taken += 1;
            self.pending = handle(request);
            *handled += 1;
            self.deliver();
        }
        moved |= taken > 0;
        if moved {
            // Replies to receive, or room to send: the client may be asleep waiting.
            // mutant(loom_service): server: no wake-up of the client after a batch =>
            self.client.slot().notify();
        }
        moved
    }

    /// Pushes the pending reply, if any; returns whether one left (pushed, or dropped
    /// because the client is gone).
    #[inline]
    fn deliver(&mut self) -> bool {
        let Some(reply) = self.pending.take() else {
            return false;
        };
        match self.replies.push(reply) {
            Ok(()) => true,
            // A client that is gone will never make room.
            Err(PushError::Full(reply)) if self.replies.is_abandoned() => {
                drop(reply);
                true
            }
            Err(PushError::Full(reply)) => {
                self.pending = Some(reply);
                false
            }
        }
    }

    /// Whether [`serve`](ServerLink::serve) would find something to do: a request to
    /// take (unless a reply waits), room for the waiting reply, or the client gone.
    pub(super) fn is_ready(&self) -> bool {
        match self.pending {
            // mutant(loom_service): server's last look ignores room for a waiting reply => Some(_) => self.replies.is_abandoned(),
            Some(_) => self.replies.slots() > 0 || self.replies.is_abandoned(),
            // mutant(loom_service): server's last look ignores queued requests => None => self.requests.is_abandoned(),
            None => !self.requests.is_empty() || self.requests.is_abandoned(),
        }
    }

    /// Whether the client is gone and every request it sent has been handled.
    pub(super) fn is_closed(&self) -> bool {
        self.closed
    }
}
