//! wirestate adapters.

pub use wirestate_core as core;

pub mod chan;
mod park;
