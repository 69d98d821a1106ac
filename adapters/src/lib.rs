//! tessera-adapters (work in progress).
