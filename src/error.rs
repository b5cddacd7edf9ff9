//! The application's one error type above the stores: what went wrong (a `Kind`), what the
//! operator can do (a hint), the exit code the command line gives it, and the cause kept as its
//! source (a `StoreError`, an I/O error), never flattened into the message.
//!
//! What each kind means for the daemon (retry it, wait for an operator, never retry) is decided
//! in one table, `engine::policy`.

use crate::store::{self, StoreError};

/// What kind of failure, which decides the exit code and the policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The command or the configuration is wrong (exit 2): a bad setting, a missing file.
    Usage,
    /// The table-map files are invalid or do not fit the stores.
    Maps,
    /// What was asked for does not exist: a map, a journal, a record error, a state store.
    NotFound,
    /// Another process holds what this one needs (the daemon's lock).
    Busy,
    /// A store failed; its own kind says whether it is worth retrying.
    Store(store::ErrorKind),
    /// Anything else that stops the task.
    Failed,
}

/// A failure of a command or of the daemon, with what to do about it.
#[derive(Debug, thiserror::Error)]
#[error("{message}{}", hint.as_ref().map(|h| format!(" (hint: {h})")).unwrap_or_default())]
pub struct Error {
    pub kind: Kind,
    message: String,
    hint: Option<String>,
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(kind: Kind, message: impl Into<String>) -> Error {
        Error {
            kind,
            message: message.into(),
            hint: None,
            source: None,
        }
    }

    pub fn usage(message: impl Into<String>) -> Error {
        Error::new(Kind::Usage, message)
    }

    pub fn not_found(message: impl Into<String>) -> Error {
        Error::new(Kind::NotFound, message)
    }

    pub fn failed(message: impl Into<String>) -> Error {
        Error::new(Kind::Failed, message)
    }

    /// A store error, with `context` saying what was being done ("state store", "opening the
    /// accounting store"). The store's kind and hint are kept; the store error is the source.
    pub fn store(context: impl Into<String>, e: StoreError) -> Error {
        Error {
            kind: Kind::Store(e.kind),
            message: format!("{}: {}", context.into(), e.message),
            hint: e.hint.clone(),
            source: Some(Box::new(e)),
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Error {
        self.hint = Some(hint.into());
        self
    }

    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Error {
        self.source = Some(Box::new(source));
        self
    }

    /// What went wrong, without the hint.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// What the operator can do.
    pub fn hint(&self) -> Option<&str> {
        self.hint.as_deref()
    }

    /// The store error underneath, if a store failed.
    pub fn store_error(&self) -> Option<&StoreError> {
        self.source.as_ref()?.downcast_ref::<StoreError>()
    }

    /// The command line's exit status for this error: 2 when the command or configuration is
    /// wrong, 1 when the task failed.
    pub fn exit_code(&self) -> u8 {
        match self.kind {
            Kind::Usage => 2,
            _ => 1,
        }
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Error {
        Error {
            kind: Kind::Store(e.kind),
            message: e.message.clone(),
            hint: e.hint.clone(),
            source: Some(Box::new(e)),
        }
    }
}

/// The error for a map name that is not among `names`: the nearest name when it looks like a
/// typo, and every map.
pub fn no_such_map(name: &str, names: &[&str]) -> Error {
    let nearest = crate::tablemap::diagnostic::did_you_mean(name, names.iter().copied())
        .map(|n| format!("; did you mean \"{n}\"?"))
        .unwrap_or_default();
    Error::not_found(format!(
        "there is no map named \"{name}\"{nearest} (maps: {})",
        names.join(", ")
    ))
}

/// Adds what was being done to a store error: `state.list().await.context("state store")?`.
pub trait Context<T> {
    fn context(self, what: &str) -> Result<T>;
}

impl<T> Context<T> for std::result::Result<T, StoreError> {
    fn context(self, what: &str) -> Result<T> {
        self.map_err(|e| Error::store(what, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_error_keeps_its_kind_hint_and_source() {
        let e = StoreError::new(store::ErrorKind::Transient, "connection refused").with_hint("start it");
        let err = Error::store("state store", e);
        assert_eq!(err.kind, Kind::Store(store::ErrorKind::Transient));
        assert_eq!(err.to_string(), "state store: connection refused (hint: start it)");
        assert_eq!(err.store_error().unwrap().message, "connection refused");
        assert!(std::error::Error::source(&err).is_some());
        assert_eq!(err.exit_code(), 1);
    }

    #[test]
    fn usage_errors_exit_2() {
        assert_eq!(Error::usage("no such file").exit_code(), 2);
        assert_eq!(Error::not_found("no map").exit_code(), 1);
    }
}
