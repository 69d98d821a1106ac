//! Conformance suite (WIP).
