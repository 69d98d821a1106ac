//! Every redb error, and every record that fails to decode, becomes a [`StoreError`] here.

use std::io::ErrorKind;
use std::path::Path;

use tessera_core::StoreError;

use crate::codec::DecodeError;

/// A failure inside a transaction, before the file path is known.
#[derive(Debug)]
pub(crate) enum Failure {
    /// A domain answer (`NotFound`, `Conflict`…), passed through unchanged.
    Store(StoreError),
    /// redb refused.
    Redb(redb::Error),
    /// A stored record does not match its layout.
    Decode {
        /// Table name.
        table: &'static str,
        /// Key, as text (hex for binary keys).
        key: String,
        /// What and where in the record.
        error: DecodeError,
    },
}

/// Result of the synchronous operations.
pub(crate) type Fallible<T> = Result<T, Failure>;

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

macro_rules! from_redb {
    ($($t:ty),*) => {$(
        impl From<$t> for Failure {
            fn from(e: $t) -> Self {
                Self::Redb(e.into())
            }
        }
    )*};
}

from_redb!(
    redb::Error,
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError,
    redb::SetDurabilityError
);

impl Failure {
    /// A decode failure of the record under `key` in `table`.
    pub(crate) fn decode(table: &'static str, key: &[u8], error: DecodeError) -> Self {
        Self::Decode {
            table,
            key: crate::tables::hex(key),
            error,
        }
    }

    /// The [`StoreError`] to report for the store whose file is `file`.
    pub(crate) fn into_store(self, file: &Path) -> StoreError {
        match self {
            Self::Store(e) => e,
            Self::Redb(e) => from_redb(e, file),
            Self::Decode { table, key, error } => StoreError::Corrupt {
                what: format!("{table} record: {}", error.what),
                location: format!(
                    "{}: table `{table}`, key {key}, byte {}",
                    file.display(),
                    error.offset
                ),
            },
        }
    }
}

/// A format problem with `what`, found in `file` at `place`.
pub(crate) fn corrupt(file: &Path, place: &str, what: impl Into<String>) -> StoreError {
    StoreError::Corrupt {
        what: what.into(),
        location: format!("{}: {place}", file.display()),
    }
}

fn unavailable(retryable: bool, message: String) -> StoreError {
    StoreError::Unavailable { retryable, message }
}

/// The one mapping of redb's errors.
fn from_redb(e: redb::Error, file: &Path) -> StoreError {
    use redb::Error as E;
    let shown = file.display();
    match e {
        E::DatabaseAlreadyOpen => unavailable(
            false,
            format!("{shown} is in use by another process (or another open store in this process)"),
        ),
        E::LockProtocolMismatch => unavailable(
            false,
            format!("{shown} is in use by a process running an incompatible redb version"),
        ),
        E::RepairAborted => unavailable(false, format!("repair of {shown} was aborted")),
        E::Corrupted(msg) => corrupt(file, "redb file structure", msg),
        E::UpgradeRequired(v) => corrupt(
            file,
            "redb file header",
            format!("redb file format {v} is not supported by this build"),
        ),
        E::TableTypeMismatch { table, .. } | E::TableIsMultimap(table) => corrupt(
            file,
            &format!("table `{table}`"),
            "table has an unexpected type",
        ),
        E::TableDoesNotExist(table) => corrupt(
            file,
            &format!("table `{table}`"),
            "table is missing (every table is created with the format version)",
        ),
        E::TypeDefinitionChanged { name, .. } => corrupt(
            file,
            "table definitions",
            format!("stored type `{}` has a different layout", name.name()),
        ),
        E::Io(io) if io.kind() == ErrorKind::InvalidData => {
            corrupt(file, "redb file header", io.to_string())
        }
        E::Io(io) if io.kind() == ErrorKind::UnexpectedEof => corrupt(
            file,
            "end of file",
            format!("the file is shorter than its header says (truncated?): {io}"),
        ),
        E::Io(io) => unavailable(true, format!("I/O error on {shown}: {io}")),
        E::PreviousIo => unavailable(
            false,
            format!("an earlier I/O error on {shown} needs the store to be reopened"),
        ),
        E::DatabaseClosed => unavailable(false, format!("{shown} is closed")),
        E::WouldBlock | E::TransactionInProgress => unavailable(true, format!("{shown} is busy")),
        other => StoreError::Backend(format!("redb error on {shown}: {other}")),
    }
}

/// A storage task that did not finish (it panicked or the runtime is shutting down).
pub(crate) fn join_failed(e: &tokio::task::JoinError, file: &Path) -> StoreError {
    if e.is_cancelled() {
        unavailable(
            true,
            format!("storage task on {} was cancelled", file.display()),
        )
    } else {
        StoreError::Backend(format!("storage task on {} panicked", file.display()))
    }
}
