//! A sorted block first-key → offset index for sorted-block storage (SSTables): zero-copy searchable and
//! CRC-protected.
#![deny(missing_docs)]
#![forbid(unsafe_code)]
