//! Roxxel datasets: records stored back to back, an end-offset index and a footer, in one or more shard files,
//! compatible with the Python `roxxel` package.
#![deny(missing_docs)]
