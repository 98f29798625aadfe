//! The server: the loop a service's thread runs.

use core::fmt;
use std::panic::{self, AssertUnwindSafe};

use super::handle::ServiceHandle;
use super::link::ServerLink;
use super::report::{panic_message, Outcome, ServiceReport};
use super::state::ServiceState;
use super::{Service, ServiceConfig};
use crate::fence::prepare_fences;
use crate::sync::Arc;
use crate::wait::Deadline;

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
    state: Arc<ServiceState<S::Request, S::Response>>,
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
            state: Arc::new(ServiceState::new(name.into(), config)),
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
        ServiceHandle::new(self.state.clone())
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
        let state = self.state.clone();
        let mut service = AssertUnwindSafe(self.service.take().expect("run once"));
        let mut links = Vec::new();
        let mut handled = 0;

        let mut outcome = match panic::catch_unwind(AssertUnwindSafe(|| {
            serve(&state, &mut *service, &mut links, &mut handled)
        })) {
            Ok(()) => Outcome::Stopped,
            Err(payload) => Outcome::Panicked(panic_message(&*payload)),
        };

        // Disconnect every client: dropping a link drops its queued requests and its
        // waiting reply, marks both rings abandoned, then wakes the client.
        state.close(&mut links);
        while let Some(link) = links.pop() {
            if let Err(payload) = panic::catch_unwind(AssertUnwindSafe(|| drop(link))) {
                outcome.record_panic(&*payload);
            }
        }
        state.publish_handled(handled);

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
        ServiceReport::new(state.name().to_owned(), handled as u64, outcome)
    }
}

impl<S: Service> Drop for Server<S> {
    /// A server dropped without running disconnects the clients connected meanwhile.
    fn drop(&mut self) {
        if self.service.is_some() {
            let mut links = Vec::new();
            self.state.close(&mut links);
        }
    }
}

impl<S: Service> fmt::Debug for Server<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("name", &self.state.name())
            .finish_non_exhaustive()
    }
}

/// The server loop: rounds over the links until stopped; sleeps on the doorbell when a
/// round finds nothing to do.
fn serve<S: Service>(
    state: &ServiceState<S::Request, S::Response>,
    service: &mut S,
    links: &mut Vec<ServerLink<S::Request, S::Response>>,
    handled: &mut usize,
) {
    service.started();
    let batch = state.config.batch();
    let strategy = state.config.wait_strategy();
    loop {
        if state.is_stopping() {
            return;
        }
        if state.has_joining() {
            state.adopt(links);
        }
        let mut busy = false;
        let mut closed = false;
        for link in links.iter_mut() {
            busy |= link.serve(
                batch,
                handled,
                || state.is_stopping(),
                |request| service.handle(request),
            );
            closed |= link.is_closed();
        }
        if closed {
            links.retain(|link| !link.is_closed());
        }
        if busy {
            state.publish_handled(*handled);
        } else {
            // Every look a client's store could change is in `is_ready`: it is the
            // re-check after the announcement that a client's ring of the doorbell
            // either precedes or wakes.
            state
                .tag
                .doorbell
                .wait_until(strategy, Deadline::Never, || {
                    state.is_ready(links).then_some(())
                });
        }
    }
}
