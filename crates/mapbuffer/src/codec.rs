//! Value compression: encoding with the settings Python mapbuffer 1.2.0 uses, decoding that accepts more than it
//! does. Each codec is behind its own cargo feature; a disabled one is [`Error::CodecDisabled`].
//!
//! Encoding settings (what Python reads, and matches the reference parameters): gzip level 9 as one member;
//! Brotli quality 5, window 22; Zstandard level 3 as one frame with its content size; xz preset 6 with a CRC-64.
//!
//! Decoding also accepts several gzip members, Zstandard frames without a content size and several frames, and for
//! `lzma` any xz stream sequence or a legacy `.lzma` stream. An empty payload is an error for every codec (no encoder
//! produces one; Python rejects it too).

use std::io;

use crate::error::Error;
use crate::format::Codec;

/// Largest output buffer reserved up front from a size a payload declares (a lie must not allocate much).
#[cfg(feature = "zstd")]
const MAX_PREALLOCATION: u64 = 1 << 24;

/// Compresses one value. `Codec::None` returns the input unchanged.
pub(crate) fn compress(codec: Codec, value: &[u8]) -> Result<Vec<u8>, CodecError> {
    match codec {
        Codec::None => Ok(value.to_vec()),
        #[cfg(feature = "gzip")]
        Codec::Gzip => {
            use std::io::Write;
            // mtime 0, OS 255 (unknown), no name: the same header libdeflate writes.
            let mut encoder = flate2::GzBuilder::new()
                .operating_system(255)
                .write(Vec::new(), flate2::Compression::best());
            encoder.write_all(value)?;
            Ok(encoder.finish()?)
        }
        #[cfg(feature = "brotli")]
        Codec::Brotli => {
            let params = brotli::enc::BrotliEncoderParams {
                quality: 5,
                lgwin: 22,
                ..Default::default()
            };
            let mut out = Vec::new();
            brotli::BrotliCompress(&mut &value[..], &mut out, &params)?;
            Ok(out)
        }
        #[cfg(feature = "zstd")]
        Codec::Zstd => {
            // One-shot compression writes the content size into the frame header, which Python needs.
            Ok(zstd::bulk::compress(value, 3)?)
        }
        #[cfg(feature = "lzma")]
        Codec::Lzma => {
            use std::io::Write;
            let stream =
                liblzma::stream::Stream::new_easy_encoder(6, liblzma::stream::Check::Crc64)
                    .map_err(io::Error::other)?;
            let mut encoder = liblzma::write::XzEncoder::new_stream(Vec::new(), stream);
            encoder.write_all(value)?;
            Ok(encoder.finish()?)
        }
        #[allow(unreachable_patterns)] // Reachable exactly when some codec feature is off.
        disabled => Err(CodecError::Disabled(disabled)),
    }
}

/// Decompresses one stored payload (CRC already removed).
pub(crate) fn decompress(codec: Codec, payload: &[u8]) -> Result<Vec<u8>, CodecError> {
    if codec == Codec::None {
        return Ok(payload.to_vec());
    }
    if !codec.is_available() {
        return Err(CodecError::Disabled(codec));
    }
    if payload.is_empty() {
        return Err(CodecError::Io(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "empty compressed payload",
        )));
    }
    match codec {
        #[cfg(feature = "gzip")]
        Codec::Gzip => {
            use std::io::Read;
            let mut out = Vec::new();
            flate2::read::MultiGzDecoder::new(payload).read_to_end(&mut out)?;
            Ok(out)
        }
        #[cfg(feature = "brotli")]
        Codec::Brotli => {
            let mut out = Vec::new();
            brotli::BrotliDecompress(&mut &payload[..], &mut out)?;
            Ok(out)
        }
        #[cfg(feature = "zstd")]
        Codec::Zstd => zstd_decompress(payload),
        #[cfg(feature = "lzma")]
        Codec::Lzma => {
            use std::io::Read;
            let stream =
                liblzma::stream::Stream::new_auto_decoder(u64::MAX, liblzma::stream::CONCATENATED)
                    .map_err(io::Error::other)?;
            let mut out = Vec::new();
            liblzma::bufread::XzDecoder::new_stream(payload, stream).read_to_end(&mut out)?;
            Ok(out)
        }
        #[allow(unreachable_patterns)] // `None` and disabled codecs returned above.
        _ => Err(CodecError::Disabled(codec)),
    }
}

/// Decompresses one Zstandard payload. When it is one frame that declares its content size (what every encoder
/// we know writes for a value) and it is at most [`MAX_PREALLOCATION`], they are decoded in one call into a buffer of exactly
/// that size with this thread's decompression context, which is created once per thread instead of once per
/// value (creating one costs more than decoding a small value). Otherwise the streaming decoder reads every
/// concatenated frame, with or without a content size, growing its output as it goes.
#[cfg(feature = "zstd")]
fn zstd_decompress(payload: &[u8]) -> Result<Vec<u8>, CodecError> {
    use std::cell::RefCell;
    use std::io::Read;

    thread_local! {
        static CONTEXT: RefCell<Option<zstd::zstd_safe::DCtx<'static>>> = const { RefCell::new(None) };
    }
    // One frame, with its content size: the fast path. Anything else (several frames, no size) streams.
    let one_frame = zstd::zstd_safe::find_frame_compressed_size(payload) == Ok(payload.len());
    let content_size = zstd::zstd_safe::get_frame_content_size(payload)
        .ok()
        .flatten();
    let declared = content_size.filter(|_| one_frame);
    if let Some(size) = declared.filter(|&size| size <= MAX_PREALLOCATION) {
        let done = CONTEXT.with(|context| {
            // A re-entrant call (impossible today: decoding calls nothing of ours) would use the streaming path.
            let mut context = context.try_borrow_mut().ok()?;
            let context = match &mut *context {
                Some(context) => context,
                empty => empty.insert(zstd::zstd_safe::DCtx::try_create()?),
            };
            let mut out = Vec::with_capacity(size as usize);
            Some(match context.decompress(&mut out, payload) {
                // zstd checks that the frame decodes to exactly its declared size.
                Ok(_) => Ok(out),
                Err(code) => {
                    // Leaves the context clean for the next value after an error mid-frame.
                    let _ = context.reset(zstd::zstd_safe::ResetDirective::SessionOnly);
                    Err(CodecError::Io(io::Error::new(
                        io::ErrorKind::InvalidData,
                        zstd::zstd_safe::get_error_name(code),
                    )))
                }
            })
        });
        if let Some(done) = done {
            return done;
        }
    }
    let hint = content_size.unwrap_or(0).min(MAX_PREALLOCATION);
    let mut out = Vec::with_capacity(hint as usize);
    zstd::stream::read::Decoder::with_buffer(payload)?.read_to_end(&mut out)?;
    Ok(out)
}

/// Why [`compress`] or [`decompress`] failed; the caller turns it into an [`Error`] naming the key.
#[derive(Debug)]
pub(crate) enum CodecError {
    /// The codec's feature is off.
    Disabled(Codec),
    /// The encoder or decoder failed.
    Io(io::Error),
}

impl From<io::Error> for CodecError {
    fn from(err: io::Error) -> Self {
        Self::Io(err)
    }
}

impl CodecError {
    /// The crate error for a failed decode of the value of `key` in `slot` stored at `offset`.
    pub(crate) fn on_decode(self, codec: Codec, key: u64, slot: usize, offset: u64) -> Error {
        match self {
            Self::Disabled(codec) => Error::CodecDisabled { codec },
            Self::Io(source) => Error::Decompress {
                key,
                slot,
                offset,
                codec,
                source,
            },
        }
    }

    /// The crate error for a failed encode of the value of `key`.
    pub(crate) fn on_encode(self, codec: Codec, key: u64) -> Error {
        match self {
            Self::Disabled(codec) => Error::CodecDisabled { codec },
            Self::Io(source) => Error::Compress { key, codec, source },
        }
    }
}
