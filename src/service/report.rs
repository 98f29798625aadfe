//! What services did: per-service reports and the manager's report of them all.

use core::any::Any;
use core::fmt;

/// How a service ended.
///
/// ```
/// # ringlink::__skip_doctest_under_loom!();
/// use ringlink::service::Outcome;
///
/// let outcome = Outcome::Panicked("boom".into());
/// assert_eq!(outcome.to_string(), "panicked: boom");
/// assert_eq!(Outcome::Stopped.to_string(), "stopped");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Outcome {
    /// It stopped when asked to.
    Stopped,
    /// A panic stopped it; here is the panic's message.
    Panicked(String),
    /// It had not stopped when [`ServiceManager::shutdown_timeout`]'s time ran out
    /// (its thread was left to finish on its own).
    ///
    /// [`ServiceManager::shutdown_timeout`]: super::ServiceManager::shutdown_timeout
    DidNotStop,
    /// It is still serving (in [`ServiceManager::report`]).
    ///
    /// [`ServiceManager::report`]: super::ServiceManager::report
    Running,
}

impl Outcome {
    /// Records a panic that came after the outcome was decided; the first panic wins.
    pub(super) fn record_panic(&mut self, payload: &(dyn Any + Send)) {
        if !matches!(self, Outcome::Panicked(_)) {
            *self = Outcome::Panicked(panic_message(payload));
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Stopped => f.write_str("stopped"),
            Outcome::Panicked(message) => write!(f, "panicked: {message}"),
            Outcome::DidNotStop => f.write_str("did not stop in time"),
            Outcome::Running => f.write_str("running"),
        }
    }
}

/// What one service did: its name, how many requests it handled, how it ended.
///
/// ```
/// # ringlink::__skip_doctest_under_loom!();
/// # use ringlink::service::{Service, ServiceManager};
/// # struct Echo;
/// # impl Service for Echo {
/// #     type Request = u8;
/// #     type Response = u8;
/// #     fn handle(&mut self, r: Box<u8>) -> Option<Box<u8>> { Some(r) }
/// # }
/// use ringlink::service::Outcome;
///
/// let mut manager = ServiceManager::new();
/// let mut client = manager.start("echo", Echo).unwrap().connect().unwrap();
/// client.call(Box::new(1)).unwrap();
/// let report = manager.stop("echo").unwrap();
/// assert_eq!(report.name(), "echo");
/// assert_eq!(report.handled(), 1);
/// assert_eq!(report.outcome(), &Outcome::Stopped);
/// assert_eq!(report.to_string(), "echo: handled 1, stopped");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ServiceReport {
    name: String,
    handled: u64,
    outcome: Outcome,
}

impl ServiceReport {
    pub(super) fn new(name: String, handled: u64, outcome: Outcome) -> Self {
        ServiceReport {
            name,
            handled,
            outcome,
        }
    }

    /// The service's name.
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
    /// server.service_handle().stop();
    /// assert_eq!(server.run().name(), "nop");
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }

    /// How many requests its handler returned from (so far, for a service that is
    /// running or did not stop).
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
    /// server.service_handle().stop();
    /// assert_eq!(server.run().handled(), 0);
    /// ```
    pub fn handled(&self) -> u64 {
        self.handled
    }

    /// How it ended.
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
    /// server.service_handle().stop();
    /// assert_eq!(server.run().outcome(), &Outcome::Stopped);
    /// ```
    pub fn outcome(&self) -> &Outcome {
        &self.outcome
    }

    /// Whether it stopped when asked to, without a panic.
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
    /// server.service_handle().stop();
    /// assert!(server.run().is_clean());
    /// ```
    pub fn is_clean(&self) -> bool {
        self.outcome == Outcome::Stopped
    }
}

impl fmt::Display for ServiceReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: handled {}, {}",
            self.name, self.handled, self.outcome
        )
    }
}

/// What a manager's services did, in the order they were started: returned by
/// [`ServiceManager::shutdown`](super::ServiceManager::shutdown) and its variants.
///
/// ```
/// # ringlink::__skip_doctest_under_loom!();
/// # use ringlink::service::{Service, ServiceManager};
/// # struct Echo;
/// # impl Service for Echo {
/// #     type Request = u8;
/// #     type Response = u8;
/// #     fn handle(&mut self, r: Box<u8>) -> Option<Box<u8>> { Some(r) }
/// # }
/// let mut manager = ServiceManager::new();
/// manager.start("a", Echo).unwrap();
/// manager.start("b", Echo).unwrap();
/// manager.connect::<u8, u8>("b").unwrap().call(Box::new(0)).unwrap();
/// let report = manager.shutdown();
/// assert!(report.is_clean());
/// assert_eq!(report.handled(), 1);
/// let names: Vec<&str> = report.services().iter().map(|s| s.name()).collect();
/// assert_eq!(names, ["a", "b"]);
/// print!("{report}"); // one line per service
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Report {
    services: Vec<ServiceReport>,
}

impl Report {
    pub(super) fn new(services: Vec<ServiceReport>) -> Self {
        Report { services }
    }

    /// Every service's report, in the order the services were started.
    ///
    /// ```
    /// # ringlink::__skip_doctest_under_loom!();
    /// let report = ringlink::service::ServiceManager::new().shutdown();
    /// assert!(report.services().is_empty());
    /// ```
    pub fn services(&self) -> &[ServiceReport] {
        &self.services
    }

    /// The report of the service named `name`.
    ///
    /// ```
    /// # ringlink::__skip_doctest_under_loom!();
    /// let report = ringlink::service::ServiceManager::new().shutdown();
    /// assert!(report.service("absent").is_none());
    /// ```
    pub fn service(&self, name: &str) -> Option<&ServiceReport> {
        self.services.iter().find(|service| service.name == name)
    }

    /// Requests handled, all services together.
    ///
    /// ```
    /// # ringlink::__skip_doctest_under_loom!();
    /// assert_eq!(ringlink::service::ServiceManager::new().shutdown().handled(), 0);
    /// ```
    pub fn handled(&self) -> u64 {
        self.services.iter().map(ServiceReport::handled).sum()
    }

    /// The services that panicked or did not stop in time.
    ///
    /// ```
    /// # ringlink::__skip_doctest_under_loom!();
    /// let report = ringlink::service::ServiceManager::new().shutdown();
    /// assert_eq!(report.errors().count(), 0);
    /// ```
    pub fn errors(&self) -> impl Iterator<Item = &ServiceReport> {
        self.services
            .iter()
            .filter(|service| matches!(service.outcome, Outcome::Panicked(_) | Outcome::DidNotStop))
    }

    /// Whether no service panicked or failed to stop in time.
    ///
    /// ```
    /// # ringlink::__skip_doctest_under_loom!();
    /// assert!(ringlink::service::ServiceManager::new().shutdown().is_clean());
    /// ```
    pub fn is_clean(&self) -> bool {
        self.errors().next().is_none()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for service in &self.services {
            writeln!(f, "{service}")?;
        }
        Ok(())
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
