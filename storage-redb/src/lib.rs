//! tessera-storage-redb (work in progress).
