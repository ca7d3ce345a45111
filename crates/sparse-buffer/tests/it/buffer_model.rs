//! `SparseBuffer` against a model that stores one `Option<u8>` per byte of the file.

use std::io::{Read, Seek, SeekFrom};
use std::ops::Range;

use proptest::prelude::*;
use sparse_buffer::{Error, ReadAt, SparseBuffer};

/// The reference: one optional byte per byte of the file, and a cursor.
struct Model {
    bytes: Vec<Option<u8>>,
    position: u64,
}

impl Model {
    fn size(&self) -> u64 {
        self.bytes.len() as u64
    }

    fn regions(&self) -> Vec<Range<u64>> {
        let mut out: Vec<Range<u64>> = Vec::new();
        for (i, byte) in self.bytes.iter().enumerate() {
            if byte.is_some() {
                let i = i as u64;
                match out.last_mut() {
                    Some(last) if last.end == i => last.end = i + 1,
                    _ => out.push(i..i + 1),
                }
            }
        }
        out
    }

    fn read_at(&self, offset: u64, len: usize) -> Result<Vec<u8>, Option<u64>> {
        let offset = offset as usize;
        if self.bytes[offset].is_none() {
            let next = self.bytes[offset..]
                .iter()
                .position(Option::is_some)
                .map(|i| (offset + i) as u64);
            return Err(next);
        }
        Ok(self.bytes[offset..]
            .iter()
            .take(len)
            .map_while(|byte| *byte)
            .collect())
    }
}

#[derive(Debug, Clone)]
enum Op {
    Add {
        offset: u64,
        len: usize,
        fill: u8,
    },
    Read {
        len: usize,
    },
    Seek(SeekFrom),
    ReadAt {
        offset: u64,
        len: usize,
    },
    /// `read_at` at every offset in turn: more reads in a row than there are chunks, so that the buffer switches
    /// to its flat copy of the chunks part way through (and later changes must drop that copy).
    Scan {
        len: usize,
    },
    Missing {
        start: u64,
        end: u64,
    },
    Find {
        start: u64,
        len: u64,
    },
    Remove {
        start: u64,
        end: u64,
    },
    Clear,
}

const SIZE: u64 = 200;

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0..SIZE + 10, 0..60usize, any::<u8>()).prop_map(|(offset, len, fill)| Op::Add { offset, len, fill }),
        3 => (0..80usize).prop_map(|len| Op::Read { len }),
        2 => prop_oneof![
            (0..SIZE + 20).prop_map(SeekFrom::Start),
            (-120..120i64).prop_map(SeekFrom::Current),
            (-220..20i64).prop_map(SeekFrom::End),
        ].prop_map(Op::Seek),
        3 => (0..SIZE + 10, 0..80usize).prop_map(|(offset, len)| Op::ReadAt { offset, len }),
        1 => (0..80usize).prop_map(|len| Op::Scan { len }),
        2 => (0..SIZE + 10, 0..SIZE + 20).prop_map(|(start, end)| Op::Missing { start, end }),
        2 => (0..SIZE + 10, 0..60u64).prop_map(|(start, len)| Op::Find { start, len }),
        1 => (0..SIZE + 10, 0..SIZE + 20).prop_map(|(start, end)| Op::Remove { start, end }),
        1 => Just(Op::Clear),
    ]
}

fn run(ops: &[Op]) -> Result<(), TestCaseError> {
    let mut buffer = SparseBuffer::new(SIZE);
    let mut model = Model {
        bytes: vec![None; SIZE as usize],
        position: 0,
    };
    let mut counter = 0u8;
    for op in ops {
        match op.clone() {
            Op::Add { offset, len, fill } => {
                // Distinct bytes per add, so that "newest bytes win" is visible.
                let data: Vec<u8> = (0..len)
                    .map(|i| fill.wrapping_add(counter).wrapping_add(i as u8))
                    .collect();
                counter = counter.wrapping_add(37);
                let result = buffer.add_region(offset, data.clone());
                if len > 0 && offset + len as u64 > SIZE {
                    prop_assert!(
                        matches!(result, Err(Error::OutOfBounds { .. })),
                        "{result:?}"
                    );
                } else {
                    prop_assert!(result.is_ok(), "{result:?}");
                    for (i, byte) in data.into_iter().enumerate() {
                        model.bytes[offset as usize + i] = Some(byte);
                    }
                }
            }
            Op::Read { len } => {
                let mut out = vec![0; len];
                let result = buffer.read(&mut out);
                let position = model.position;
                if len == 0 || position >= SIZE {
                    prop_assert_eq!(result.ok(), Some(0));
                } else {
                    match model.read_at(position, len) {
                        Ok(want) => {
                            prop_assert_eq!(result.ok(), Some(want.len()));
                            prop_assert_eq!(&out[..want.len()], &want[..]);
                            model.position += want.len() as u64;
                        }
                        Err(next) => {
                            let err = result.expect_err("a gap is an error");
                            prop_assert_eq!(err.kind(), std::io::ErrorKind::Other);
                            match Error::from_io(err) {
                                Ok(Error::NotCached {
                                    offset,
                                    next_cached,
                                }) => {
                                    prop_assert_eq!(offset, position);
                                    prop_assert_eq!(next_cached, next);
                                }
                                other => prop_assert!(false, "not NotCached: {other:?}"),
                            }
                        }
                    }
                }
            }
            Op::Seek(from) => {
                let target = match from {
                    SeekFrom::Start(n) => Some(n as i64),
                    SeekFrom::Current(d) => Some(model.position as i64 + d),
                    SeekFrom::End(d) => Some(SIZE as i64 + d),
                }
                .filter(|&t| t >= 0);
                let result = buffer.seek(from);
                match target {
                    Some(t) => {
                        prop_assert_eq!(result.ok(), Some(t as u64));
                        model.position = t as u64;
                    }
                    None => {
                        let kind = result.map_err(|e| e.kind()).err();
                        prop_assert_eq!(kind, Some(std::io::ErrorKind::InvalidInput));
                    }
                }
                prop_assert_eq!(buffer.position(), model.position);
            }
            Op::ReadAt { offset, len } => {
                let mut out = vec![0; len];
                let got = buffer.read_at(offset, &mut out);
                if offset >= SIZE {
                    prop_assert_eq!(got, ReadAt::End);
                } else {
                    match model.read_at(offset, len) {
                        Ok(want) => {
                            prop_assert_eq!(got, ReadAt::Data(want.len()));
                            prop_assert_eq!(&out[..want.len()], &want[..]);
                        }
                        Err(next) => prop_assert_eq!(got, ReadAt::Gap { next_cached: next }),
                    }
                }
            }
            Op::Scan { len } => {
                let mut out = vec![0; len];
                for offset in 0..SIZE + 5 {
                    let got = buffer.read_at(offset, &mut out);
                    if offset >= SIZE {
                        prop_assert_eq!(got, ReadAt::End);
                        continue;
                    }
                    match model.read_at(offset, len) {
                        Ok(want) => {
                            prop_assert_eq!(got, ReadAt::Data(want.len()), "at {}", offset);
                            prop_assert_eq!(&out[..want.len()], &want[..]);
                        }
                        Err(next) => {
                            prop_assert_eq!(got, ReadAt::Gap { next_cached: next }, "at {}", offset)
                        }
                    }
                }
            }
            Op::Missing { start, end } => {
                let end_clipped = end.min(SIZE);
                let mut want: Vec<Range<u64>> = Vec::new();
                for i in start..end_clipped.max(start) {
                    if model.bytes[i as usize].is_none() {
                        match want.last_mut() {
                            Some(last) if last.end == i => last.end = i + 1,
                            _ => want.push(i..i + 1),
                        }
                    }
                }
                prop_assert_eq!(buffer.missing(start..end), want.clone());
                prop_assert_eq!(buffer.contains(start..end_clipped), want.is_empty());
            }
            Op::Find { start, len } => {
                let got = buffer.find_region(start, len);
                let end = start + len;
                let want = if len == 0 {
                    // Inside a region or at its end.
                    let inside = (start < SIZE && model.bytes[start as usize].is_some())
                        || (start > 0
                            && start <= SIZE
                            && model.bytes[start as usize - 1].is_some());
                    inside.then(Vec::new)
                } else if end <= SIZE
                    && model.bytes[start as usize..end as usize]
                        .iter()
                        .all(Option::is_some)
                {
                    Some(
                        model.bytes[start as usize..end as usize]
                            .iter()
                            .map(|b| b.unwrap_or(0))
                            .collect(),
                    )
                } else {
                    None
                };
                prop_assert_eq!(got.map(|b| b.to_vec()), want);
            }
            Op::Remove { start, end } => {
                let end_clipped = end.min(SIZE);
                let mut removed = 0;
                for i in start..end_clipped.max(start) {
                    if model.bytes[i as usize].take().is_some() {
                        removed += 1;
                    }
                }
                prop_assert_eq!(buffer.remove(start..end), removed);
            }
            Op::Clear => {
                buffer.clear();
                model.bytes.iter_mut().for_each(|b| *b = None);
            }
        }
        prop_assert_eq!(buffer.regions().collect::<Vec<_>>(), model.regions());
        prop_assert_eq!(
            buffer.cached_bytes(),
            model.bytes.iter().filter(|b| b.is_some()).count() as u64
        );
        prop_assert_eq!(buffer.is_empty(), buffer.cached_bytes() == 0);
        prop_assert_eq!(buffer.size(), model.size());
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn buffer_matches_byte_model(ops in prop::collection::vec(op(), 1..60)) {
        run(&ops)?;
    }
}

/// Regions arriving in every order (ascending, descending, interleaved, bridging) end as one region with the
/// right bytes.
#[test]
fn region_orders_converge() {
    let data: Vec<u8> = (0..4096u32).map(|i| (i * 7) as u8).collect();
    let chunk = 64;
    let orders: [Vec<usize>; 3] = [
        (0..64).collect(),
        (0..64).rev().collect(),
        (0..64).step_by(2).chain((1..64).step_by(2)).collect(),
    ];
    for order in orders {
        let mut buffer = SparseBuffer::new(4096);
        for i in order {
            buffer
                .add_region_from_slice((i * chunk) as u64, &data[i * chunk..(i + 1) * chunk])
                .expect("inside the file");
        }
        assert_eq!(buffer.regions().collect::<Vec<_>>(), [0..4096]);
        let whole = buffer.find_region(0, 4096).expect("one region");
        assert_eq!(whole[..], data[..]);
    }
}
