//! The typed handle to a service.

use core::fmt;

use super::error::ConnectError;
use super::link::{new_link, Client};
use super::state::ServiceState;
use crate::sync::Arc;

/// A typed handle to a service: connects clients to it, asks it to stop.
///
/// Returned by [`ServiceManager::start`](super::ServiceManager::start) and
/// [`Server::service_handle`](super::Server::service_handle); also found by name with
/// [`ServiceManager::lookup`](super::ServiceManager::lookup). Cheap to clone, `Send`
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
    state: Arc<ServiceState<Req, Resp>>,
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
        self.state.name()
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
        let state = &self.state;
        if state.is_stopping() {
            return Err(ConnectError::Stopped(state.name().to_owned()));
        }
        let config = &state.config;
        let (client, server_half) =
            new_link(&state.tag, config.link_capacity(), config.wait_strategy()).map_err(
                |error| ConnectError::Capacity {
                    name: state.name().to_owned(),
                    error,
                },
            )?;
        match state.join(server_half) {
            Ok(()) => Ok(client),
            Err(_) => Err(ConnectError::Stopped(state.name().to_owned())),
        }
    }

    /// Asks the service to stop, and returns at once. The server finishes the request
    /// in hand, drops those still queued, disconnects every client and ends its
    /// [`run`](super::Server::run).
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
        self.state.stop();
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
        self.state.is_running()
    }

    /// Requests handled so far (published by the server after each busy round).
    pub(super) fn handled(&self) -> u64 {
        self.state.handled() as u64
    }

    /// Ends every wait of the service's clients as if it had stopped: for a service
    /// the manager gave up on (it did not stop in time).
    pub(super) fn give_up(&self) {
        self.state.tag.give_up();
    }
}

impl<Req: ?Sized, Resp: ?Sized> Clone for ServiceHandle<Req, Resp> {
    fn clone(&self) -> Self {
        ServiceHandle {
            state: self.state.clone(),
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

impl<Req: ?Sized, Resp: ?Sized> ServiceHandle<Req, Resp> {
    pub(super) fn new(state: Arc<ServiceState<Req, Resp>>) -> Self {
        ServiceHandle { state }
    }
}
