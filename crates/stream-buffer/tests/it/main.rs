//! Integration tests for `stream-buffer`, checked against ground truth computed independently of the buffer.

mod common;
mod cursor;
mod errors;
mod faults;
mod memory;
mod persist;
mod props;
mod reads;
mod threads;
