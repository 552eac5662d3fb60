//! fabsync
