//! Request ids: unique, cheap, not secret. Each thread draws a random 64-bit prefix once
//! (from the OS) and counts; an id is the prefix and the count in UUID form (version 8,
//! "custom"), so it parses as a UUID like the random ones before and needs no syscall and
//! no shared counter per request.

use std::cell::Cell;

use uuid::{Builder, Uuid, Variant, Version};

thread_local! {
    static NEXT: Cell<(u64, u64)> = Cell::new((Uuid::new_v4().as_u64_pair().0, 0));
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
}
