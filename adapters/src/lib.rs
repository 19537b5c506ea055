//! wirestate adapters.

pub use wirestate_core as core;

pub mod chan;
pub mod driver;
mod park;
