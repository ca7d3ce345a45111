//! Random access into a forward-only stream: every pulled byte is kept, in memory up to a threshold and then in a
//! temporary file, and many threads can read at once.
#![deny(missing_docs)]
#![forbid(unsafe_code)]
