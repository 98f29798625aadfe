//! The service manager: starts services on threads of their own, finds them by name,
//! stops them, joins them and reports on them.

use core::any::{type_name, Any};
use core::fmt;
use std::collections::HashSet;
use std::sync::mpsc as std_mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use super::error::{ConnectError, StartError};
use super::handle::ServiceHandle;
use super::link::Client;
use super::report::{panic_message, Outcome, Report, ServiceReport};
use super::server::Server;
use super::{Service, ServiceConfig};
use crate::wait::Deadline;

/// Starts services, each on a thread of its own named after it, connects clients to
/// them, and stops them.
///
/// Services are found by name ([`connect`](ServiceManager::connect),
/// [`lookup`](ServiceManager::lookup)) or through the typed [`ServiceHandle`] that
/// [`start`](ServiceManager::start) returns. [`shutdown`](ServiceManager::shutdown)
/// stops them all, joins their threads and returns a [`Report`]; dropping the manager
/// does the same, without the report.
///
/// ```
/// # ringlink::__skip_doctest_under_loom!();
/// use ringlink::service::{Service, ServiceManager};
///
/// struct Greeter;
/// impl Service for Greeter {
///     type Request = str;
///     type Response = String;
///     fn handle(&mut self, name: Box<str>) -> Option<Box<String>> {
///         Some(Box::new(format!("hello, {name}")))
///     }
/// }
///
/// let mut manager = ServiceManager::new();
/// manager.start("greeter", Greeter).unwrap();
///
/// let mut client = manager.connect::<str, String>("greeter").unwrap();
/// assert_eq!(*client.call("ring".into()).unwrap(), "hello, ring");
///
/// let report = manager.shutdown();
/// assert_eq!(report.to_string(), "greeter: handled 1, stopped\n");
/// ```
pub struct ServiceManager {
    config: ServiceConfig,
    /// In the order they were started; looked up by a linear search, as a manager runs
    /// a handful of services and finds one by name only to connect.
    services: Vec<Entry>,
    next_id: u64,
    /// Each service thread sends its entry's id when it ends (even by a panic), so that
    /// `shutdown_timeout` can wait for all of them at once.
    done_tx: std_mpsc::Sender<u64>,
    done_rx: std_mpsc::Receiver<u64>,
}

struct Entry {
    id: u64,
    name: String,
    handle: Box<dyn AnyHandle>,
    /// `None` once joined (its report is then in `report`) or given up on.
    thread: Option<JoinHandle<ServiceReport>>,
    report: Option<ServiceReport>,
}

impl ServiceManager {
    /// A manager whose services use the default [`ServiceConfig`].
    ///
    /// ```
    /// # ringlink::__skip_doctest_under_loom!();
    /// use ringlink::service::{ServiceConfig, ServiceManager};
    ///
    /// assert_eq!(*ServiceManager::new().config(), ServiceConfig::default());
    /// ```
    pub fn new() -> Self {
        ServiceManager::with_config(ServiceConfig::new())
    }

    /// A manager whose services (their links, batches and waiting) use `config`.
    ///
    /// ```
    /// # ringlink::__skip_doctest_under_loom!();
    /// use ringlink::service::{ServiceConfig, ServiceManager};
    ///
    /// let manager = ServiceManager::with_config(ServiceConfig::new().with_batch(1));
    /// assert_eq!(manager.config().batch(), 1);
    /// ```
    pub fn with_config(config: ServiceConfig) -> Self {
        let (done_tx, done_rx) = std_mpsc::channel();
        ServiceManager {
            config,
            services: Vec::new(),
            next_id: 0,
            done_tx,
            done_rx,
        }
    }

    /// The configuration of the services this manager starts.
    ///
    /// ```
    /// # ringlink::__skip_doctest_under_loom!();
    /// let manager = ringlink::service::ServiceManager::new();
    /// assert_eq!(manager.config().link_capacity(), 64);
    /// ```
    pub fn config(&self) -> &ServiceConfig {
        &self.config
    }

    /// Starts `service` on a new thread named `name`, and returns a typed handle to it.
    ///
    /// Fails if the manager already has a service of that name, if the name contains a
    /// NUL byte, or if the thread cannot be started.
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
    /// use ringlink::service::StartError;
    ///
    /// let mut manager = ServiceManager::new();
    /// let echo = manager.start("echo", Echo).unwrap();
    /// assert_eq!(*echo.connect().unwrap().call(Box::new(3)).unwrap(), 3);
    /// assert!(matches!(manager.start("echo", Echo), Err(StartError::DuplicateName(_))));
    /// ```
    pub fn start<S: Service>(
        &mut self,
        name: impl Into<String>,
        service: S,
    ) -> Result<ServiceHandle<S::Request, S::Response>, StartError> {
        let name = name.into();
        if self.find(&name).is_some() {
            return Err(StartError::DuplicateName(name));
        }
        if name.contains('\0') {
            return Err(StartError::InvalidName(name));
        }
        let server = Server::with_config(name.clone(), service, self.config);
        let handle = server.service_handle();
        let id = self.next_id;
        let done = SignalOnDrop {
            id,
            done: self.done_tx.clone(),
        };
        let thread = std::thread::Builder::new()
            .name(name.clone())
            .spawn(move || {
                let _done = done;
                server.run()
            })
            .map_err(|error| StartError::Spawn {
                name: name.clone(),
                error,
            })?;
        self.next_id += 1;
        self.services.push(Entry {
            id,
            name,
            handle: Box::new(handle.clone()),
            thread: Some(thread),
            report: None,
        });
        Ok(handle)
    }

    /// The typed handle of the service named `name`.
    ///
    /// Fails if there is no such service, or if its request and response types are not
    /// `Req` and `Resp`. A handle to a service that has stopped is still returned (it
    /// connects no client).
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
    /// use ringlink::service::ConnectError;
    ///
    /// let mut manager = ServiceManager::new();
    /// manager.start("echo", Echo).unwrap();
    /// let echo = manager.lookup::<u8, u8>("echo").unwrap();
    /// assert_eq!(echo.name(), "echo");
    /// assert!(matches!(
    ///     manager.lookup::<String, String>("echo"),
    ///     Err(ConnectError::WrongType { .. })
    /// ));
    /// ```
    pub fn lookup<Req, Resp>(&self, name: &str) -> Result<ServiceHandle<Req, Resp>, ConnectError>
    where
        Req: ?Sized + Send + 'static,
        Resp: ?Sized + Send + 'static,
    {
        let entry = self
            .find(name)
            .ok_or_else(|| ConnectError::UnknownService(name.to_owned()))?;
        entry
            .handle
            .as_any()
            .downcast_ref::<ServiceHandle<Req, Resp>>()
            .cloned()
            .ok_or_else(|| ConnectError::WrongType {
                name: name.to_owned(),
                expected: (type_name::<Req>(), type_name::<Resp>()),
                found: entry.handle.types(),
            })
    }

    /// Connects a new client to the service named `name`.
    ///
    /// Fails if there is no such service, if its types are not `Req` and `Resp`, or if
    /// it has stopped.
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
    /// use ringlink::service::ConnectError;
    ///
    /// let mut manager = ServiceManager::new();
    /// manager.start("echo", Echo).unwrap();
    /// let mut client = manager.connect::<u8, u8>("echo").unwrap();
    /// assert_eq!(*client.call(Box::new(4)).unwrap(), 4);
    /// assert!(matches!(manager.connect::<u8, u8>("ohce"), Err(ConnectError::UnknownService(_))));
    /// ```
    pub fn connect<Req, Resp>(&self, name: &str) -> Result<Client<Req, Resp>, ConnectError>
    where
        Req: ?Sized + Send + 'static,
        Resp: ?Sized + Send + 'static,
    {
        self.lookup::<Req, Resp>(name)?.connect()
    }

    /// The names of the manager's services, in the order they were started.
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
    /// manager.start("first", Nop).unwrap();
    /// manager.start("second", Nop).unwrap();
    /// assert_eq!(manager.names().collect::<Vec<_>>(), ["first", "second"]);
    /// ```
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.services.iter().map(|entry| entry.name.as_str())
    }

    /// Stops the service named `name`, waits for its thread, and returns its report;
    /// the name is then free for a new service. `None` if there is no such service.
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
    /// let old = manager.start("nop", Nop).unwrap();
    /// assert!(manager.stop("nop").unwrap().is_clean());
    /// assert!(old.connect().is_err());
    /// manager.start("nop", Nop).unwrap(); // the name is free again
    /// assert!(manager.stop("absent").is_none());
    /// ```
    pub fn stop(&mut self, name: &str) -> Option<ServiceReport> {
        let index = self.services.iter().position(|entry| entry.name == name)?;
        let mut entry = self.services.remove(index);
        entry.handle.stop();
        Some(entry.join())
    }

    /// What every service has done so far, without stopping any: those whose thread
    /// has not ended yet are reported [`Running`](Outcome::Running) (with the requests
    /// handled up to their last busy round), those whose thread has ended with their
    /// final report. A service that has just disconnected its clients (stopped, or
    /// panicked) may still be reported running for a moment, until its thread ends.
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
    /// let report = manager.report();
    /// assert_eq!(report.service("echo").unwrap().outcome(), &Outcome::Running);
    /// ```
    pub fn report(&mut self) -> Report {
        Report::new(
            self.services
                .iter_mut()
                .map(|entry| {
                    if entry.thread.as_ref().is_some_and(JoinHandle::is_finished) {
                        let report = entry.join();
                        entry.report = Some(report);
                    }
                    entry.report.clone().unwrap_or_else(|| {
                        ServiceReport::new(
                            entry.name.clone(),
                            entry.handle.handled(),
                            Outcome::Running,
                        )
                    })
                })
                .collect(),
        )
    }

    /// Stops every service, waits for all their threads, and reports what each did.
    ///
    /// Each service finishes the request in hand; the requests still queued are dropped
    /// unhandled, and every client is disconnected. Waits as long as a handler takes to
    /// return: see [`shutdown_timeout`](ServiceManager::shutdown_timeout) to bound that.
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
    /// let mut client = manager.start("echo", Echo).unwrap().connect().unwrap();
    /// client.call(Box::new(1)).unwrap();
    /// let report = manager.shutdown();
    /// assert!(report.is_clean());
    /// assert_eq!(report.handled(), 1);
    /// assert!(!client.is_connected());
    /// ```
    pub fn shutdown(mut self) -> Report {
        self.shutdown_until(Deadline::Never)
    }

    /// As [`shutdown`](ServiceManager::shutdown), but waits at most `timeout` for the
    /// services to stop: those still running then are reported
    /// [`DidNotStop`](Outcome::DidNotStop) and their threads left to end on their own
    /// (they have been asked to stop, and will once their handler returns).
    ///
    /// ```
    /// # ringlink::__skip_doctest_under_loom!();
    /// use std::sync::mpsc;
    /// use std::time::Duration;
    /// use ringlink::service::{Outcome, Service, ServiceManager};
    ///
    /// /// Takes half a second per request, and says when it takes one.
    /// struct Slow(mpsc::Sender<()>);
    /// impl Service for Slow {
    ///     type Request = ();
    ///     type Response = ();
    ///     fn handle(&mut self, request: Box<()>) -> Option<Box<()>> {
    ///         self.0.send(()).unwrap();
    ///         std::thread::sleep(Duration::from_millis(500));
    ///         Some(request)
    ///     }
    /// }
    ///
    /// let (taken_tx, taken) = mpsc::channel();
    /// let mut manager = ServiceManager::new();
    /// manager.start("quick", Slow(taken_tx.clone())).unwrap();
    /// let mut client = manager.start("slow", Slow(taken_tx)).unwrap().connect().unwrap();
    /// client.send(Box::new(())).unwrap();
    /// taken.recv().unwrap(); // "slow" is in its handler now
    ///
    /// let report = manager.shutdown_timeout(Duration::from_millis(10));
    /// assert_eq!(report.service("quick").unwrap().outcome(), &Outcome::Stopped);
    /// assert_eq!(report.service("slow").unwrap().outcome(), &Outcome::DidNotStop);
    /// assert_eq!(report.errors().count(), 1);
    /// ```
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Report {
        self.shutdown_until(Deadline::after(timeout))
    }

    /// `deadline`: `None` waits for every thread; `Some(None)` too (the timeout could
    /// not be represented); `Some(Some(t))` until `t`.
    fn shutdown_until(&mut self, deadline: Deadline) -> Report {
        for entry in &self.services {
            entry.handle.stop();
        }
        let mut services = std::mem::take(&mut self.services);
        if let Deadline::At(deadline) = deadline {
            let mut ended: HashSet<u64> = services
                .iter()
                .filter(|entry| entry.thread.as_ref().map_or(true, JoinHandle::is_finished))
                .map(|entry| entry.id)
                .collect();
            while ended.len() < services.len() {
                let left = deadline.saturating_duration_since(std::time::Instant::now());
                match self.done_rx.recv_timeout(left) {
                    // Only this shutdown's services count: a service stopped earlier
                    // with `stop(name)` has sent its id too.
                    Ok(id) if services.iter().any(|entry| entry.id == id) => {
                        ended.insert(id);
                    }
                    Ok(_) => {}
                    Err(_) => break,
                }
            }
            for entry in services.iter_mut().filter(|e| !ended.contains(&e.id)) {
                // Detach: the thread ends on its own once its handler returns. Its
                // clients stop waiting for it now.
                entry.handle.give_up();
                entry.thread = None;
                entry.report = Some(ServiceReport::new(
                    entry.name.clone(),
                    entry.handle.handled(),
                    Outcome::DidNotStop,
                ));
            }
        }
        Report::new(services.iter_mut().map(Entry::join).collect())
    }

    fn find(&self, name: &str) -> Option<&Entry> {
        self.services.iter().find(|entry| entry.name == name)
    }
}

impl Entry {
    /// Joins the thread if that is still to do; returns the report.
    fn join(&mut self) -> ServiceReport {
        if let Some(thread) = self.thread.take() {
            let report = thread.join().unwrap_or_else(|payload| {
                // `Server::run` catches the service's panics; this one came from
                // elsewhere on the thread (a panicking panic hook, say).
                ServiceReport::new(
                    self.name.clone(),
                    self.handle.handled(),
                    Outcome::Panicked(panic_message(&*payload)),
                )
            });
            self.report = Some(report);
        }
        self.report.clone().expect("joined or given up on")
    }
}

impl Default for ServiceManager {
    fn default() -> Self {
        ServiceManager::new()
    }
}

impl Drop for ServiceManager {
    /// Stops every service and waits for its thread, as [`shutdown`] does.
    ///
    /// [`shutdown`]: ServiceManager::shutdown
    fn drop(&mut self) {
        if !self.services.is_empty() {
            self.shutdown_until(Deadline::Never);
        }
    }
}

impl fmt::Debug for ServiceManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceManager")
            .field("config", &self.config)
            .field("services", &self.names().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// Tells the manager that a service thread is ending, also when it ends by a panic.
struct SignalOnDrop {
    id: u64,
    done: std_mpsc::Sender<u64>,
}

impl Drop for SignalOnDrop {
    fn drop(&mut self) {
        // The manager may be gone (it dropped its receiver): nobody needs to know then.
        let _ = self.done.send(self.id);
    }
}

/// A [`ServiceHandle`] with its types erased, for the manager's registry.
trait AnyHandle: Send + Sync {
    fn stop(&self);
    fn give_up(&self);
    fn handled(&self) -> u64;
    fn as_any(&self) -> &dyn Any;
    /// The names of the request and response types.
    fn types(&self) -> (&'static str, &'static str);
}

impl<Req, Resp> AnyHandle for ServiceHandle<Req, Resp>
where
    Req: ?Sized + Send + 'static,
    Resp: ?Sized + Send + 'static,
{
    fn stop(&self) {
        ServiceHandle::stop(self);
    }

    fn give_up(&self) {
        ServiceHandle::give_up(self);
    }

    fn handled(&self) -> u64 {
        ServiceHandle::handled(self)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn types(&self) -> (&'static str, &'static str) {
        (type_name::<Req>(), type_name::<Resp>())
    }
}
