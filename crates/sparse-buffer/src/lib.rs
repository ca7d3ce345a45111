//! Sparse cached byte regions of a large file, read like a file, and a range reader that plans, coalesces and
//! caches range fetches from a source (memory, local file, object storage).
#![deny(missing_docs)]
#![forbid(unsafe_code)]
