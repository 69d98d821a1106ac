//! Request ids: unique, cheap, not secret. Each thread draws a random 64-bit prefix once
//! (from the OS) and counts; an id is the prefix and the count in UUID form (version 8,
//! "custom"), so it parses as a UUID like the random ones before and needs no syscall and
//! no shared counter per request.

use std::cell::{Cell, RefCell};

use axum::http::HeaderValue;
use bytes::BytesMut;
use uuid::{Builder, Uuid, Variant, Version};

/// How many ids' header values share one allocation.
const IDS_PER_CHUNK: usize = 64;

thread_local! {
    static NEXT: Cell<(u64, u64)> = Cell::new((Uuid::new_v4().as_u64_pair().0, 0));
    /// Where this thread writes header values: each is split off the front, sharing the
    /// chunk (freed when the last of its values is).
    static HEADERS: RefCell<BytesMut> = RefCell::new(BytesMut::new());
}

/// `id` (a request id's text) as a header value. The values of one thread are cut from
/// one chunk of [`IDS_PER_CHUNK`] ids, so a value is not an allocation of its own.
pub(crate) fn header(id: &str) -> HeaderValue {
    let bytes = HEADERS.with(|chunk| {
        let mut chunk = chunk.borrow_mut();
        if chunk.capacity() < id.len() {
            *chunk = BytesMut::with_capacity(id.len() * IDS_PER_CHUNK);
        }
        chunk.extend_from_slice(id.as_bytes());
        chunk.split().freeze()
    });
    // an id is ASCII hex and hyphens, always a valid value
    HeaderValue::from_maybe_shared(bytes).unwrap_or_else(|_| HeaderValue::from_static("-"))
}

/// The next request id of this thread.
pub(crate) fn next() -> Uuid {
    let (prefix, n) = NEXT.with(|c| {
        let (prefix, n) = c.get();
        c.set((prefix, n.wrapping_add(1)));
        (prefix, n)
    });
    let bits = (u128::from(prefix) << 64) | u128::from(n);
    Builder::from_u128(bits)
        .with_version(Version::Custom)
        .with_variant(Variant::RFC4122)
        .into_uuid()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_uuids_across_threads() {
        let mut ids: Vec<Uuid> = (0..4)
            .map(|_| std::thread::spawn(|| (0..1000).map(|_| next()).collect::<Vec<_>>()))
            .flat_map(|t| t.join().unwrap())
            .collect();
        let n = ids.len();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), n);
        let id = ids[0];
        assert_eq!(id.get_version(), Some(Version::Custom));
        assert_eq!(Uuid::parse_str(&id.hyphenated().to_string()).unwrap(), id);
    }

    #[test]
    fn header_values_are_each_id_across_chunks() {
        let ids: Vec<String> = (0..=IDS_PER_CHUNK * 3)
            .map(|_| next().hyphenated().to_string())
            .collect();
        let values: Vec<HeaderValue> = ids.iter().map(|id| header(id)).collect();
        for (id, value) in ids.iter().zip(&values) {
            assert_eq!(value.to_str().unwrap(), id);
        }
    }
}
