//! The errors of starting services, connecting to them and calling them. Sending and
//! receiving on a link fail with the channel's errors ([`crate::mpsc`]'s, which are
//! std's), re-exported by [`crate::service`].

use core::fmt;
use std::error::Error;
use std::io;

use crate::ring::CapacityError;

/// Why [`ServiceManager::start`](super::ServiceManager::start) did not start a service.
///
/// ```
/// # ringlink::__skip_doctest_under_loom!();
/// use ringlink::service::{Service, ServiceManager, StartError};
///
/// struct Nop;
/// impl Service for Nop {
///     type Request = ();
///     type Response = ();
///     fn handle(&mut self, _: Box<()>) -> Option<Box<()>> {
///         None
///     }
/// }
///
/// let mut manager = ServiceManager::new();
/// manager.start("nop", Nop).unwrap();
/// let error = manager.start("nop", Nop).unwrap_err();
/// assert!(matches!(&error, StartError::DuplicateName(name) if name == "nop"));
/// assert_eq!(error.to_string(), "a service named \"nop\" is already registered");
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum StartError {
    /// The manager already has a service of that name (running, or stopped but not yet
    /// reported: see [`ServiceManager::stop`](super::ServiceManager::stop)).
    DuplicateName(String),
    /// The name cannot name a thread: it contains a NUL byte.
    InvalidName(String),
    /// The operating system refused to start the service's thread.
    Spawn {
        /// The service's name.
        name: String,
        /// What the OS said.
        error: io::Error,
    },
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::DuplicateName(name) => {
                write!(f, "a service named {name:?} is already registered")
            }
            StartError::InvalidName(name) => {
                write!(f, "{name:?} cannot name a service: it contains a NUL byte")
            }
            StartError::Spawn { name, error } => {
                write!(f, "cannot start a thread for service {name:?}: {error}")
            }
        }
    }
}

impl Error for StartError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            StartError::Spawn { error, .. } => Some(error),
            _ => None,
        }
    }
}

/// Why a client could not be connected to a service, or a handle not found.
///
/// ```
/// # ringlink::__skip_doctest_under_loom!();
/// use ringlink::service::{ConnectError, ServiceManager};
///
/// let manager = ServiceManager::new();
/// let error = manager.connect::<u8, u8>("nobody").unwrap_err();
/// assert_eq!(error, ConnectError::UnknownService("nobody".into()));
/// assert_eq!(error.to_string(), "no service named \"nobody\"");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectError {
    /// The manager has no service of that name.
    UnknownService(String),
    /// The service has stopped (or been asked to): it takes no new clients.
    Stopped(String),
    /// The service exists, but its request or response type is not the one asked for.
    WrongType {
        /// The service's name.
        name: String,
        /// The `(request, response)` types asked for.
        expected: (&'static str, &'static str),
        /// The `(request, response)` types of the service.
        found: (&'static str, &'static str),
    },
    /// The rings of a link of the configured capacity
    /// ([`ServiceConfig::with_link_capacity`](super::ServiceConfig::with_link_capacity))
    /// cannot be allocated.
    Capacity {
        /// The service's name.
        name: String,
        /// Why the rings cannot be allocated.
        error: CapacityError,
    },
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectError::UnknownService(name) => write!(f, "no service named {name:?}"),
            ConnectError::Stopped(name) => write!(f, "service {name:?} has stopped"),
            ConnectError::WrongType {
                name,
                expected,
                found,
            } => write!(
                f,
                "service {name:?} takes {} and answers {}, not {} and {}",
                found.0, found.1, expected.0, expected.1
            ),
            ConnectError::Capacity { name, error } => {
                write!(f, "cannot connect to service {name:?}: {error}")
            }
        }
    }
}

impl Error for ConnectError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            ConnectError::Capacity { error, .. } => Some(error),
            _ => None,
        }
    }
}

/// Why [`Client::call`](super::Client::call) returned no response. Either way the
/// service is gone: it stopped, or a panic stopped it.
///
/// ```
/// # ringlink::__skip_doctest_under_loom!();
/// use ringlink::service::{CallError, Service, ServiceManager};
///
/// struct Echo;
/// impl Service for Echo {
///     type Request = String;
///     type Response = String;
///     fn handle(&mut self, request: Box<String>) -> Option<Box<String>> {
///         Some(request)
///     }
/// }
///
/// let mut manager = ServiceManager::new();
/// let echo = manager.start("echo", Echo).unwrap();
/// let mut client = echo.connect().unwrap();
/// manager.shutdown();
/// match client.call(Box::new("hello".to_string())) {
///     Err(CallError::NotSent(request)) => assert_eq!(*request, "hello"),
///     other => panic!("{other:?}"),
/// }
/// ```
#[derive(PartialEq, Eq, Clone, Copy)]
pub enum CallError<T> {
    /// The service had stopped before the request could be sent; it is handed back.
    NotSent(T),
    /// The request was sent, but the service stopped before answering it. Whether it
    /// was handled is not known (its [`Outcome`](super::Outcome) may tell).
    NoReply,
}

impl<T> CallError<T> {
    /// The request, if it was not sent.
    ///
    /// ```
    /// # ringlink::__skip_doctest_under_loom!();
    /// use ringlink::service::CallError;
    ///
    /// assert_eq!(CallError::NotSent(7).into_inner(), Some(7));
    /// assert_eq!(CallError::<u8>::NoReply.into_inner(), None);
    /// ```
    pub fn into_inner(self) -> Option<T> {
        match self {
            CallError::NotSent(request) => Some(request),
            CallError::NoReply => None,
        }
    }
}

// By hand, so that `T` need not be `Debug` (as with the channel's errors).
impl<T> fmt::Debug for CallError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallError::NotSent(_) => f.write_str("NotSent(..)"),
            CallError::NoReply => f.write_str("NoReply"),
        }
    }
}

impl<T> fmt::Display for CallError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CallError::NotSent(_) => "calling a service that has stopped",
            CallError::NoReply => "the service stopped before it replied",
        })
    }
}

impl<T> Error for CallError<T> {}
