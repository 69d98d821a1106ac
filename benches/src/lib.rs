//! tessera-benches (work in progress).
