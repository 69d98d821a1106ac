//! Opening a data directory: sled's lock, the format-version record and the marker file.
//!
//! Layout of a data directory:
//!
//! ```text
//! <dir>/sled/                 sled's own files (db, conf, blobs/, snap.*)
//! <dir>/tessera-sled.format   "tessera-storage-sled format 3\n", written once the store
//!                             is initialised (and rewritten after an upgrade)
//! ```
//!
//! The format version lives in the store itself (`meta` / `format_version`). The marker
//! file makes a store whose data file was truncated or replaced detectable: sled recovers
//! a damaged log by dropping its tail, which could otherwise silently yield an empty store.
//!
//! A format-1 or format-2 store is upgraded in place (`upgrade.rs`): its version record is
//! rewritten first, the marker last, so a marker naming an older upgradable version than
//! the store's is an upgrade interrupted before its last step (by this build or an older
//! one) and the store is upgraded on, and the marker rewritten.

use std::fs;
use std::io::Write;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use tessera_core::StoreError;
use tessera_core::store::StoreResult;

use super::Inner;
use super::release::LockRelease;
use super::upgrade;
use crate::codec::{FORMAT_VERSION, UPGRADABLE_VERSIONS, decode_fixed};
use crate::config::SledConfig;
use crate::error::{corrupt, from_io, from_open, from_sled};
use crate::trees::{FORMAT_KEY, Trees};

/// Subdirectory holding sled's files.
pub(super) const SLED_DIR: &str = "sled";
/// Marker file written once the store is initialised.
pub(super) const MARKER: &str = "tessera-sled.format";
const MARKER_PREFIX: &str = "tessera-storage-sled format ";

pub(super) fn open(dir: &Path, config: &SledConfig) -> StoreResult<Inner> {
    fs::create_dir_all(dir).map_err(|e| from_io(&e, &format!("creating {}", dir.display())))?;
    let sled_dir = dir.join(SLED_DIR);
    // Declared before `db`, so on an error below it runs after `db` is dropped.
    let mut release = LockRelease::default();
    let db = open_sled(&sled_dir, config)?;
    release.arm(&sled_dir.join("db"));
    let t = Trees::open(&db).map_err(|e| from_open(dir, e))?;
    let marker = read_marker(dir)?;
    let stored = t.meta.get(FORMAT_KEY).map_err(from_sled)?;
    let format_location = || format!("{}: tree `meta`, key format_version", sled_dir.display());
    match (stored, marker) {
        (Some(v), marker) => {
            let v = decode_fixed::<4>(&v)
                .map(u32::from_le_bytes)
                .map_err(|e| corrupt("meta", FORMAT_KEY, e))?;
            if v != FORMAT_VERSION && !UPGRADABLE_VERSIONS.contains(&v) {
                return Err(StoreError::Corrupt {
                    what: format!(
                        "unknown format version {v} (this build reads version {FORMAT_VERSION} \
                         and upgrades versions {UPGRADABLE_VERSIONS:?})"
                    ),
                    location: format_location(),
                });
            }
            // The marker names the stored version, or the one an interrupted upgrade
            // started from; it is missing if the store crashed right after initialising.
            match marker {
                Some(m) if m != v && !(UPGRADABLE_VERSIONS.contains(&m) && m < v) => {
                    return Err(StoreError::Corrupt {
                        what: format!("the marker says format {m} but the store says {v}"),
                        location: dir.join(MARKER).display().to_string(),
                    });
                }
                _ => {}
            }
            if v != FORMAT_VERSION {
                upgrade::upgrade(&db, &t, v)?;
            }
            if marker != Some(FORMAT_VERSION) {
                write_marker(dir)?;
            }
        }
        (None, Some(_)) => {
            return Err(StoreError::Corrupt {
                what: "the format-version record is missing from an initialised store: \
                       sled's data file was truncated, replaced or deleted"
                    .into(),
                location: format_location(),
            });
        }
        (None, None) => {
            if t.any_data() {
                return Err(StoreError::Corrupt {
                    what: "records without a format-version record: not a tessera store".into(),
                    location: format_location(),
                });
            }
            t.meta
                .insert(FORMAT_KEY, &FORMAT_VERSION.to_le_bytes())
                .map_err(from_sled)?;
            db.flush().map_err(from_sled)?;
            write_marker(dir)?;
        }
    }
    Ok(Inner {
        db,
        t,
        writes: super::Writes::default(),
        dir: dir.to_path_buf(),
        purge_chunk: config.purge_chunk.max(1),
        resolved: tessera_core::store::ResolveCache::new(config.resolve_cache_entries),
        api_key_writes: std::sync::Mutex::default(),
        directory_writes: std::sync::Mutex::default(),
        _release: release,
    })
}

/// Open sled, turning its errors, and a panic on data it cannot parse, into `StoreError`.
fn open_sled(path: &Path, config: &SledConfig) -> StoreResult<sled::Db> {
    let cfg = config.to_sled(path);
    match catch_unwind(AssertUnwindSafe(|| cfg.open())) {
        Ok(Ok(db)) => Ok(db),
        Ok(Err(e)) => Err(from_open(path.parent().unwrap_or(path), e)),
        Err(panic) => {
            let msg = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("(no message)");
            Err(StoreError::Corrupt {
                what: format!("sled could not recover its files: {msg}"),
                location: path.display().to_string(),
            })
        }
    }
}

fn read_marker(dir: &Path) -> StoreResult<Option<u32>> {
    let path = dir.join(MARKER);
    let text = match fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(from_io(&e, &format!("reading {}", path.display()))),
    };
    std::str::from_utf8(&text)
        .ok()
        .and_then(|s| s.strip_prefix(MARKER_PREFIX))
        .and_then(|s| s.strip_suffix('\n'))
        .and_then(|s| s.parse().ok())
        .map(Some)
        .ok_or_else(|| StoreError::Corrupt {
            what: "unreadable format marker".into(),
            location: path.display().to_string(),
        })
}

/// Write the marker atomically (temporary file, fsync, rename, fsync the directory).
fn write_marker(dir: &Path) -> StoreResult<()> {
    let path = dir.join(MARKER);
    let tmp = dir.join(format!("{MARKER}.tmp"));
    let io = |e: std::io::Error| from_io(&e, &format!("writing {}", path.display()));
    let mut f = fs::File::create(&tmp).map_err(io)?;
    f.write_all(format!("{MARKER_PREFIX}{FORMAT_VERSION}\n").as_bytes())
        .map_err(io)?;
    f.sync_all().map_err(io)?;
    fs::rename(&tmp, &path).map_err(io)?;
    fs::File::open(dir).and_then(|d| d.sync_all()).map_err(io)
}
