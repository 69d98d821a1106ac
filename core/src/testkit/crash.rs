//! SIGKILL crash harness (placeholder, written next).
