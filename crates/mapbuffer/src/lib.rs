//! The MapBuffer format: a map of `u64` keys to byte values that can be read one value at a time without parsing
//! the rest, byte-compatible with the Python `mapbuffer` package.
#![deny(missing_docs)]
