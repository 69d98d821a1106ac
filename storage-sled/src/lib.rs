//! tessera-storage-sled (work in progress).
