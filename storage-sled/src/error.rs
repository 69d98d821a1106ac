//! Every sled error, transaction outcome and decoding failure becomes a [`StoreError`]
//! here, and only here.

use std::io::ErrorKind;
use std::path::Path;

use sled::transaction::{ConflictableTransactionError, TransactionError};
use tessera_core::StoreError;

use crate::codec::DecodeError;

/// Why a transaction closure stopped without committing.
#[derive(Debug)]
pub(crate) enum Abort {
    /// A refusal or failure to report as is.
    Store(StoreError),
    /// A revocation's pre-scan is out of date (a token was attached meanwhile): rescan.
    Stale,
}

/// What a transaction closure returns.
pub(crate) type TxResult<T> = Result<T, ConflictableTransactionError<Abort>>;

/// Abort the transaction with `e`.
pub(crate) fn abort<T>(e: StoreError) -> TxResult<T> {
    Err(ConflictableTransactionError::Abort(Abort::Store(e)))
}

/// Abort the transaction with a decoding failure of `tree[key]`.
pub(crate) fn abort_corrupt<T>(tree: &str, key: &[u8], e: DecodeError) -> TxResult<T> {
    abort(corrupt(tree, key, e))
}

/// A transaction's outcome, with `Stale` left for the caller's retry loop.
pub(crate) fn from_tx<T>(r: Result<T, TransactionError<Abort>>) -> Result<T, Abort> {
    match r {
        Ok(v) => Ok(v),
        Err(TransactionError::Abort(a)) => Err(a),
        Err(TransactionError::Storage(e)) => Err(Abort::Store(from_sled(e))),
    }
}

/// A transaction's outcome, for transactions that never abort with `Stale`.
pub(crate) fn finish<T>(r: Result<T, TransactionError<Abort>>) -> Result<T, StoreError> {
    match from_tx(r) {
        Ok(v) => Ok(v),
        Err(Abort::Store(e)) => Err(e),
        Err(Abort::Stale) => Err(StoreError::Backend("unexpected stale transaction".into())),
    }
}

/// A record that does not decode.
pub(crate) fn corrupt(tree: &str, key: &[u8], e: DecodeError) -> StoreError {
    StoreError::Corrupt {
        what: format!("{tree} record: {} at byte {}", e.what, e.offset),
        location: location(tree, key),
    }
}

/// An index entry or key that does not have its layout.
pub(crate) fn corrupt_entry(tree: &str, key: &[u8], what: &str) -> StoreError {
    StoreError::Corrupt {
        what: format!("{tree} entry: {what}"),
        location: location(tree, key),
    }
}

fn location(tree: &str, key: &[u8]) -> String {
    format!("sled tree `{tree}`, key {}", hex::encode(key))
}

/// A sled error during normal operation.
pub(crate) fn from_sled(e: sled::Error) -> StoreError {
    match e {
        sled::Error::Io(io) => from_io(&io, "sled I/O"),
        sled::Error::Corruption { at, .. } => StoreError::Corrupt {
            what: "sled detected corruption in its log".into(),
            location: at.map_or_else(|| "unknown offset".into(), |p| format!("{p:?}")),
        },
        sled::Error::CollectionNotFound(name) => StoreError::Backend(format!(
            "sled tree {:?} not found",
            String::from_utf8_lossy(&name)
        )),
        sled::Error::Unsupported(m) => StoreError::Backend(format!("sled: unsupported: {m}")),
        sled::Error::ReportableBug(m) => StoreError::Backend(format!("sled bug: {m}")),
    }
}

/// A sled error while opening the data directory `dir`.
pub(crate) fn from_open(dir: &Path, e: sled::Error) -> StoreError {
    match e {
        // sled takes an exclusive `flock` on `<dir>/db` without waiting and reports a
        // holder as an `Io(Other)` error with this text.
        sled::Error::Io(io) if io.to_string().contains("could not acquire lock") => {
            in_use(dir, &io)
        }
        sled::Error::Io(io) if io.kind() == ErrorKind::WouldBlock => in_use(dir, &io),
        sled::Error::Io(io) => from_io(&io, &format!("opening {}", dir.display())),
        sled::Error::Corruption { at, .. } => StoreError::Corrupt {
            what: "sled detected corruption while recovering its log".into(),
            location: format!(
                "{}{}",
                dir.display(),
                at.map_or_else(String::new, |p| format!(" at {p:?}"))
            ),
        },
        sled::Error::Unsupported(m) => StoreError::Corrupt {
            what: format!("sled refused the data directory: {m}"),
            location: dir.display().to_string(),
        },
        other => from_sled(other),
    }
}

fn in_use(dir: &Path, io: &std::io::Error) -> StoreError {
    StoreError::Unavailable {
        retryable: false,
        message: format!(
            "data directory {} is in use by another process (sled holds an exclusive lock \
             on it): {io}",
            dir.display()
        ),
    }
}

/// An I/O error: retryable when the condition may pass (full disk, interruption).
pub(crate) fn from_io(e: &std::io::Error, context: &str) -> StoreError {
    let retryable = matches!(
        e.kind(),
        ErrorKind::Interrupted
            | ErrorKind::WouldBlock
            | ErrorKind::TimedOut
            | ErrorKind::StorageFull
            | ErrorKind::OutOfMemory
    );
    StoreError::Unavailable {
        retryable,
        message: format!("{context}: {e}"),
    }
}

/// A blocking task that did not complete.
pub(crate) fn from_join(e: &tokio::task::JoinError) -> StoreError {
    if e.is_cancelled() {
        StoreError::Unavailable {
            retryable: true,
            message: "sled write cancelled (runtime shutting down)".into(),
        }
    } else {
        StoreError::Backend(format!("sled write task panicked: {e}"))
    }
}
