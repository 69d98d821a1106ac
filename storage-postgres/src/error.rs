//! Every `sqlx` error becomes a [`StoreError`] here, by SQLSTATE where the server sent one.

use sqlx::error::DatabaseError;
use sqlx::migrate::MigrateError;
use sqlx::postgres::PgConnection;
use tessera_core::StoreError;
use tessera_core::store::Conflict;
use uuid::Uuid;

/// Where schema problems are reported.
pub(crate) const MIGRATIONS_TABLE: &str = "postgres: table _sqlx_migrations";

fn unavailable(retryable: bool, message: String) -> StoreError {
    StoreError::Unavailable { retryable, message }
}

/// Why a versioned `UPDATE … WHERE id = $ AND version = $` of a row of `table` touched no
/// row, read in the same transaction: `VersionMismatch` when the row is there, `NotFound`
/// when it is not. `table` is one of this crate's table names, never input.
pub(crate) async fn version_refusal_in(
    tx: &mut PgConnection,
    table: &'static str,
    id: Uuid,
) -> StoreError {
    match sqlx::query(&format!("SELECT 1 FROM {table} WHERE id = $1"))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await
    {
        Ok(Some(_)) => StoreError::VersionMismatch,
        Ok(None) => StoreError::NotFound,
        Err(e) => from_sqlx(e),
    }
}

/// The one mapping of sqlx's errors.
pub(crate) fn from_sqlx(e: sqlx::Error) -> StoreError {
    use sqlx::Error as E;
    match e {
        E::Database(db) => from_database(db.as_ref()),
        E::RowNotFound => StoreError::NotFound,
        E::Io(io) => unavailable(true, format!("connection to PostgreSQL lost: {io}")),
        E::Tls(tls) => unavailable(true, format!("TLS with PostgreSQL failed: {tls}")),
        E::PoolTimedOut => unavailable(
            true,
            "no PostgreSQL connection within the connect timeout (is the database up?)".into(),
        ),
        E::PoolClosed => unavailable(false, "the PostgreSQL pool is closed".into()),
        E::WorkerCrashed => unavailable(true, "a PostgreSQL connection worker crashed".into()),
        E::Protocol(p) => unavailable(true, format!("PostgreSQL protocol error: {p}")),
        E::Configuration(c) => unavailable(false, format!("PostgreSQL configuration: {c}")),
        E::ColumnDecode { index, source } => StoreError::Corrupt {
            what: format!("column {index} does not decode: {source}"),
            location: "postgres: a query result".into(),
        },
        E::ColumnNotFound(c) => StoreError::Corrupt {
            what: format!("column {c} is missing"),
            location: "postgres: a query result".into(),
        },
        E::Decode(d) => StoreError::Corrupt {
            what: format!("a value does not decode: {d}"),
            location: "postgres: a query result".into(),
        },
        E::Migrate(m) => from_migrate(*m),
        other => StoreError::Backend(format!("postgres: {other}")),
    }
}

/// A server-side error, by SQLSTATE class and code.
fn from_database(db: &dyn DatabaseError) -> StoreError {
    let code = db
        .code()
        .map(std::borrow::Cow::into_owned)
        .unwrap_or_default();
    let detail = format!("postgres error {code}: {}", db.message());
    match code.as_str() {
        // unique_violation: which claim lost
        "23505" => StoreError::Conflict(match db.constraint() {
            Some("profiles_username_key") => Conflict::Username,
            Some("profiles_public_key_key") => Conflict::PublicKey,
            Some("directories_short_name_key") => Conflict::ShortName,
            _ => Conflict::Exists,
        }),
        // foreign_key_violation: the referenced record (a profile, an application) is gone
        "23503" => StoreError::NotFound,
        // serialization failure, deadlock, lock timeout, read-only standby, too many
        // connections, the server shutting down or starting
        "40001" | "40P01" | "55P03" | "25006" | "57P01" | "57P02" | "57P03" | "57014" => {
            unavailable(true, detail)
        }
        // wrong password or role, no such database, no permission
        "28000" | "28P01" | "3D000" | "42501" => unavailable(false, detail),
        // a table or column of the schema is missing: not a tessera database at this version
        "42P01" | "42703" => StoreError::Corrupt {
            what: detail,
            location: "postgres: the tessera schema".into(),
        },
        // connection exceptions (08…), insufficient resources (53…: disk full, out of
        // memory, too many connections), system errors (58…)
        c if c.starts_with("08") || c.starts_with("53") || c.starts_with("58") => {
            unavailable(true, detail)
        }
        _ => StoreError::Backend(detail),
    }
}

/// Migration failures, and a database whose schema is not the one this build knows.
pub(crate) fn from_migrate(e: MigrateError) -> StoreError {
    match e {
        MigrateError::Execute(e) | MigrateError::ExecuteMigration(e, _) => from_sqlx(e),
        MigrateError::VersionMissing(v) => StoreError::Corrupt {
            what: format!(
                "the database schema has migration {v}, which this build of tessera does not \
                 know (it knows 1..={}): the database was upgraded by a newer tessera; run that \
                 version, or point this one at another database",
                crate::SCHEMA_VERSION
            ),
            location: MIGRATIONS_TABLE.into(),
        },
        MigrateError::VersionMismatch(v) => StoreError::Corrupt {
            what: format!(
                "migration {v} applied to the database differs from this build's migration {v}"
            ),
            location: MIGRATIONS_TABLE.into(),
        },
        MigrateError::Dirty(v) => StoreError::Corrupt {
            what: format!("migration {v} failed partway earlier; repair the schema by hand"),
            location: MIGRATIONS_TABLE.into(),
        },
        other => StoreError::Backend(format!("postgres migration: {other}")),
    }
}

/// A stored value that does not fit its record: `what`, in `table` under `key`.
pub(crate) fn corrupt(
    table: &str,
    key: impl std::fmt::Display,
    what: impl Into<String>,
) -> StoreError {
    StoreError::Corrupt {
        what: what.into(),
        location: format!("postgres: table `{table}`, key {key}"),
    }
}
