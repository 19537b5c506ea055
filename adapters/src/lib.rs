//! wirestate adapters.
pub use wirestate_core as core;
