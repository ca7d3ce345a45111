//! The integration tests of `sparse-index`, in one binary.

mod corrupt;
mod errors;
mod faults;
mod golden;
mod legacy;
mod model;
mod size;
mod writer;
