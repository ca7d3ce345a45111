//! Integration tests of `sparse-buffer`: the buffer against a byte model, roboto's recorded cases, the sources
//! and the range reader.

mod buffer_cases;
mod buffer_model;
mod reader;
mod reader_model;
mod source;
