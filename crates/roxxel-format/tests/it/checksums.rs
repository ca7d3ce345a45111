//! Checksum sidecars (`<shard>.crc`): every bit flip of a checksummed shard or of its sidecar is a typed error,
//! appends (ours with and without checksums, Python-style ones that ignore the sidecar) keep the prefix rule, and
//! rolled-back sessions leave no sidecar of theirs behind.

use std::path::{Path, PathBuf};

use roxxel_format::{
    Checksums, Dataset, Error, FooterKind, Shard, WriterOptions, recover, sidecar_path,
};

use crate::common::{read_all, records, write};

/// Every file of a directory (hidden ones included, the writer lock left out) with its bytes, sorted by name.
fn all_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| !p.to_string_lossy().ends_with(".roxlock"))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

fn names(dir: &Path) -> Vec<String> {
    all_files(dir).into_iter().map(|(name, _)| name).collect()
}

/// Copies every file of `from` (hidden ones included) into `to`: what a crash at this moment leaves on disk.
fn freeze(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

const SMALL: [&[u8]; 5] = [b"alpha", b"", b"beta", b"gamma delta", b"e"];

fn checksummed() -> WriterOptions {
    WriterOptions::new().checksums(true)
}

fn flip(path: &Path, bit: usize) {
    let mut bytes = std::fs::read(path).unwrap();
    bytes[bit / 8] ^= 1 << (bit % 8);
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn the_writer_adds_a_sidecar_only_when_asked_and_the_shard_bytes_do_not_change() {
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("plain.rox");
    let summed = dir.path().join("summed.rox");
    let recs: Vec<Vec<u8>> = SMALL.iter().map(|r| r.to_vec()).collect();
    write(&plain, &WriterOptions::new(), &recs);
    let mut writer = checksummed().open(&summed).unwrap();
    writer.push_all(&recs).unwrap();
    let summary = writer.finish().unwrap();
    assert_eq!(
        summary.shards[0].sidecar.as_deref(),
        Some(sidecar_path(&summed).as_path())
    );
    assert_eq!(
        std::fs::read(&plain).unwrap(),
        std::fs::read(&summed).unwrap()
    );
    assert!(!sidecar_path(&plain).exists());
    let sidecar = std::fs::read(sidecar_path(&summed)).unwrap();
    assert_eq!(sidecar.len(), 32 + 4 * SMALL.len());
    assert_eq!(&sidecar[..8], b"ROXXCRC1");
    assert_eq!(sidecar[8..16], 5u64.to_le_bytes());
    assert_eq!(sidecar[16..24], 21u64.to_le_bytes(), "the payload end");
    assert_eq!(sidecar[28..32], crc32c::crc32c(b"alpha").to_le_bytes());
    assert_eq!(
        sidecar[32..36],
        0u32.to_le_bytes(),
        "CRC-32C of an empty record"
    );

    let shard = Shard::open(&summed).unwrap();
    assert_eq!(shard.sidecar_records().unwrap(), Some(5));
    let report = shard.verify_detailed().unwrap();
    assert_eq!(
        (report.records, report.checksummed, report.sidecars),
        (5, 5, 1)
    );
    assert!(report.short_sidecars.is_empty());
    let report = Shard::open(&plain).unwrap().verify_detailed().unwrap();
    assert_eq!(
        (report.records, report.checksummed, report.sidecars),
        (5, 0, 0)
    );
    assert_eq!(
        Shard::open(&plain).unwrap().sidecar_records().unwrap(),
        None
    );
}

#[test]
fn every_bit_flip_of_a_checksummed_shard_is_a_typed_error() {
    for footer in [FooterKind::Roxxel01, FooterKind::Roxxel02] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("small.rox");
        let mut writer = checksummed().footer(footer).open(&path).unwrap();
        writer.push_all(SMALL).unwrap();
        writer.finish().unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let sums = Checksums::read(sidecar_path(&path)).unwrap().unwrap();
        let raw = SMALL.concat().len();

        // Without the sidecar many flips of the payload decode silently to other records; with it, none does.
        let mut silent_without = 0;
        for bit in 0..raw * 8 {
            let mut copy = bytes.clone();
            copy[bit / 8] ^= 1 << (bit % 8);
            let shard = Shard::from_bytes(&copy[..], "small.rox").unwrap();
            if shard.verify().is_ok() {
                silent_without += 1;
            }
            let shard = shard.with_checksums(sums.clone()).unwrap();
            match shard.verify() {
                Err(Error::ChecksumMismatch {
                    file,
                    record,
                    offset,
                    ..
                }) => {
                    assert_eq!(file, Path::new("small.rox"));
                    let ends = [5u64, 5, 9, 20, 21];
                    let record = usize::try_from(record).unwrap();
                    let start = if record == 0 { 0 } else { ends[record - 1] };
                    assert_eq!(offset, start, "the record's first byte");
                    assert!((start..ends[record]).contains(&((bit / 8) as u64)));
                }
                other => panic!("flip of payload bit {bit}: {other:?}"),
            }
            // Reading the record with the checksums attached fails too.
            assert!(shard.iter().any(|r| r.is_err()), "bit {bit}");
        }
        assert_eq!(silent_without, raw * 8);

        // The whole file: index and footer flips are errors as well, except ROXXEL02's dtype field, which the
        // sidecar does not cover (it is not record data).
        let dtype_field = match footer {
            FooterKind::Roxxel01 => 0..0,
            FooterKind::Roxxel02 => bytes.len() - 16..bytes.len() - 8,
        };
        for bit in 0..bytes.len() * 8 {
            if dtype_field.contains(&(bit / 8)) {
                continue;
            }
            let mut copy = bytes.clone();
            copy[bit / 8] ^= 1 << (bit % 8);
            let result = Shard::from_bytes(&copy[..], "small.rox")
                .and_then(|s| s.with_checksums(sums.clone()))
                .and_then(|s| s.verify());
            assert!(
                result.as_ref().is_err_and(Error::is_corruption),
                "{footer}: flip of bit {bit}: {result:?}"
            );
        }

        // The same on disk: Shard::open finds the sidecar by itself.
        for bit in (0..raw * 8).step_by(7) {
            flip(&path, bit);
            let err = Shard::open(&path).unwrap().verify().unwrap_err();
            assert!(matches!(err, Error::ChecksumMismatch { .. }), "{err}");
            assert!(err.to_string().contains("small.rox: record"), "{err}");
            flip(&path, bit);
        }
        Shard::open(&path).unwrap().verify().unwrap();
    }
}

#[test]
fn every_bit_flip_of_a_sidecar_is_a_typed_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("small.rox");
    let mut writer = checksummed().open(&path).unwrap();
    writer.push_all(SMALL).unwrap();
    writer.finish().unwrap();
    let sidecar = sidecar_path(&path);
    let len = std::fs::read(&sidecar).unwrap().len();
    for bit in 0..len * 8 {
        flip(&sidecar, bit);
        let err = Shard::open(&path).unwrap().verify().unwrap_err();
        assert!(
            matches!(err, Error::BadChecksums { .. }),
            "bit {bit}: {err}"
        );
        assert!(err.is_corruption());
        let err = Dataset::options()
            .verify_checksums(true)
            .open(&path)
            .unwrap_err();
        assert!(
            matches!(err, Error::BadChecksums { .. }),
            "bit {bit}: {err}"
        );
        flip(&sidecar, bit);
    }
    // Truncated and empty sidecars too.
    let bytes = std::fs::read(&sidecar).unwrap();
    for cut in [0, 1, 27, 28, len - 4, len - 1] {
        std::fs::write(&sidecar, &bytes[..cut]).unwrap();
        let err = Shard::open(&path).unwrap().verify().unwrap_err();
        assert!(
            matches!(err, Error::BadChecksums { .. }),
            "cut {cut}: {err}"
        );
    }
}

#[test]
fn verify_checksums_checks_every_read() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("ds");
    let recs = records(300, 50, 7);
    write(&base, &checksummed().max_shard_bytes(2_000), &recs);
    let spec = dir.path().join("ds_*.rox");
    let second = dir.path().join("ds_0001.rox");
    // Flip a bit in the first record of the second shard.
    flip(&second, 3);
    let plain = Dataset::open(&spec).unwrap();
    let first_of_second = plain.shards()[0].len();
    let wrong = plain.get(first_of_second).unwrap();
    assert_ne!(wrong, recs[first_of_second as usize], "no check by default");
    drop(plain);

    let checked = Dataset::options()
        .verify_checksums(true)
        .open(&spec)
        .unwrap();
    assert!(checked.shards().iter().all(|s| s.checksums().is_some()));
    match checked.get(first_of_second) {
        Err(Error::ChecksumMismatch {
            file,
            record,
            offset,
            ..
        }) => {
            assert_eq!(file, second);
            assert_eq!((record, offset), (0, 0));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        checked.get(first_of_second + 1).unwrap(),
        recs[first_of_second as usize + 1]
    );
    let results: Vec<_> = checked.iter().collect();
    assert_eq!(results.iter().filter(|r| r.is_err()).count(), 1);
    assert!(results[first_of_second as usize].is_err());
    assert!(checked.verify().is_err());
}

#[test]
fn appends_keep_the_prefix_rule() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.rox");
    let first = records(40, 30, 1);
    let second = records(25, 30, 2);
    let third = records(10, 30, 3);
    write(&path, &checksummed(), &first);

    // Appended by a writer that does not update sidecars (ours without checksums writes exactly what Python
    // roxxel writes): the sidecar still covers the first 40 records, the rest are not checked.
    write(&path, &WriterOptions::new(), &second);
    let shard = Shard::open(&path).unwrap();
    let report = shard.verify_detailed().unwrap();
    assert_eq!((report.records, report.checksummed), (65, 40));
    assert_eq!(report.short_sidecars.len(), 1);
    assert_eq!(
        (
            report.short_sidecars[0].covered,
            report.short_sidecars[0].records
        ),
        (40, 65)
    );
    assert_eq!(shard.sidecar_records().unwrap(), Some(40));
    let ds = Dataset::options()
        .verify_checksums(true)
        .open(&path)
        .unwrap();
    assert_eq!(read_all(&ds), [first.clone(), second.clone()].concat());
    drop((shard, ds));

    // A flip in an uncovered record goes unnoticed, one in a covered record does not.
    let raw_first: usize = first.iter().map(Vec::len).sum();
    flip(&path, (raw_first + 1) * 8);
    Shard::open(&path).unwrap().verify().unwrap();
    flip(&path, (raw_first + 1) * 8);
    flip(&path, 8);
    assert!(Shard::open(&path).unwrap().verify().is_err());
    flip(&path, 8);

    // Appending with checksums computes the missing CRCs from the file and extends the sidecar.
    write(&path, &checksummed(), &third);
    let report = Shard::open(&path).unwrap().verify_detailed().unwrap();
    assert_eq!((report.records, report.checksummed), (75, 75));
    assert!(report.short_sidecars.is_empty());

    // No sidecar at all: computed entirely.
    std::fs::remove_file(sidecar_path(&path)).unwrap();
    write(&path, &checksummed(), &[b"last".to_vec()]);
    let report = Shard::open(&path).unwrap().verify_detailed().unwrap();
    assert_eq!((report.records, report.checksummed), (76, 76));
    let all = [first, second, third, vec![b"last".to_vec()]].concat();
    assert_eq!(
        read_all(
            &Dataset::options()
                .verify_checksums(true)
                .open(&path)
                .unwrap()
        ),
        all
    );
}

#[test]
fn sharded_appends_extend_the_last_sidecar_and_add_new_ones() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("ds");
    let opts = checksummed().max_shard_bytes(1_500);
    let first = records(100, 40, 4);
    let second = records(100, 40, 5);
    write(&base, &opts, &first);
    let shards_before = names(dir.path());
    write(&base, &opts, &second);
    let ds = Dataset::options()
        .verify_checksums(true)
        .open(dir.path().join("ds_*.rox"))
        .unwrap();
    assert_eq!(read_all(&ds), [first, second].concat());
    let report = ds.verify_detailed().unwrap();
    assert_eq!(report.checksummed, 200);
    assert_eq!(report.sidecars, report.shards);
    assert!(report.shards > 3);
    for shard in ds.shards() {
        assert!(sidecar_path(shard.path()).exists());
    }
    assert!(
        shards_before
            .iter()
            .all(|n| !n.starts_with('.') || n.ends_with(".roxlock"))
    );
}

#[test]
fn a_sidecar_covering_more_records_than_its_shard_uses_its_first_entries() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.rox");
    write(&path, &checksummed(), &records(20, 30, 1));
    let old_shard = std::fs::read(&path).unwrap();
    write(&path, &checksummed(), &records(20, 30, 2));
    // The shard as it was before the append, with the longer sidecar (what a rollback killed half-way leaves).
    std::fs::write(&path, &old_shard).unwrap();
    let report = Shard::open(&path).unwrap().verify_detailed().unwrap();
    assert_eq!((report.records, report.checksummed), (20, 20));
    assert_eq!(
        Shard::open(&path).unwrap().sidecar_records().unwrap(),
        Some(40)
    );
    // The next append (ours, with checksums) cuts it to the shard and extends it with the right CRCs.
    write(&path, &checksummed(), &records(5, 30, 3));
    let report = Shard::open(&path).unwrap().verify_detailed().unwrap();
    assert_eq!((report.records, report.checksummed), (25, 25));
}

#[test]
fn a_stale_sidecar_is_reported_and_a_fresh_write_replaces_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.rox");
    let other = dir.path().join("other.rox");
    write(&path, &checksummed(), &records(20, 30, 1));
    write(&other, &WriterOptions::new(), &records(20, 30, 9));
    // Another tool rewrites the shard without knowing about its sidecar.
    std::fs::copy(&other, &path).unwrap();
    let err = Shard::open(&path).unwrap().verify().unwrap_err();
    assert!(
        matches!(
            err,
            Error::StaleChecksums { .. } | Error::ChecksumMismatch { .. }
        ),
        "{err}"
    );
    assert!(
        Dataset::options()
            .verify_checksums(true)
            .open(&path)
            .is_err()
    );
    // Appending with checksums refuses (nothing changes); without, the sidecar is left alone.
    let before = std::fs::read(&path).unwrap();
    assert!(checksummed().open(&path).is_err());
    assert_eq!(std::fs::read(&path).unwrap(), before);

    // A sidecar covering fewer records than its shard is caught by its payload end alone.
    write(&other, &checksummed(), &records(3, 30, 9));
    std::fs::write(&path, b"").unwrap();
    write(&path, &WriterOptions::new(), &records(30, 30, 1));
    assert!(
        !sidecar_path(&path).exists(),
        "a fresh write removes the stale sidecar"
    );
    std::fs::copy(sidecar_path(&other), sidecar_path(&path)).unwrap();
    let err = Shard::open(&path).unwrap().verify().unwrap_err();
    assert!(matches!(err, Error::StaleChecksums { .. }), "{err}");
    assert!(err.to_string().contains("delete the sidecar"), "{err}");

    // A fresh write over an invalid file, with checksums, writes a new sidecar.
    std::fs::write(&path, b"not a shard at all, really not").unwrap();
    write(
        &path,
        &checksummed().overwrite_invalid(true),
        &records(4, 30, 5),
    );
    assert_eq!(
        Shard::open(&path)
            .unwrap()
            .verify_detailed()
            .unwrap()
            .checksummed,
        4
    );
}

#[test]
fn rolled_back_sessions_leave_no_sidecar_of_theirs() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("ds");
    let opts = checksummed().max_shard_bytes(1_500);
    write(&base, &opts, &records(50, 40, 1));
    let before = all_files(dir.path());

    // Abort after several rollovers: the appended shard's sidecar was extended, new shards got sidecars.
    let sidecars = |dir: &Path| names(dir).iter().filter(|n| n.ends_with(".crc")).count();
    let old_sidecars = sidecars(dir.path());
    let mut writer = opts.open(&base).unwrap();
    writer.push_all(records(200, 40, 2)).unwrap();
    assert!(sidecars(dir.path()) > old_sidecars);
    writer.abort().unwrap();
    assert_eq!(all_files(dir.path()), before);

    // A write session that fails in its source, and one that is dropped.
    let mut writer = opts.open(&base).unwrap();
    let source = records(200, 40, 3)
        .into_iter()
        .map(Ok)
        .chain([Err(std::io::Error::other("source failed"))]);
    assert!(writer.try_push_all(source).is_err());
    drop(writer);
    assert_eq!(all_files(dir.path()), before);

    // Crashed mid-session (the files frozen), then recovered: the sidecars are exactly the old ones.
    let live = dir.path().join("live");
    std::fs::create_dir(&live).unwrap();
    let live_base = live.join("ds");
    write(&live_base, &opts, &records(50, 40, 1));
    let old = all_files(&live);
    let mut writer = opts.open(&live_base).unwrap();
    writer.push_all(records(200, 40, 4)).unwrap();
    let crashed = dir.path().join("crashed");
    freeze(&live, &crashed);
    writer.finish().unwrap();
    let old_live_sidecars = old.iter().filter(|(n, _)| n.ends_with(".crc")).count();
    assert!(
        sidecars(&crashed) > old_live_sidecars,
        "the crash left sidecars of new shards"
    );
    // Readers of the crashed copy see the old records, checked against the (possibly longer) sidecars.
    let ds = Dataset::options()
        .verify_checksums(true)
        .open(crashed.join("ds_*.rox"))
        .unwrap();
    assert_eq!(ds.len(), 50);
    ds.verify().unwrap();
    drop(ds);
    recover(crashed.join("ds")).unwrap();
    let after: Vec<_> = all_files(&crashed);
    assert_eq!(after, old);
}

#[test]
fn recover_removes_temporary_and_orphaned_sidecars() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.rox");
    write(&path, &checksummed(), &records(5, 30, 1));
    let keep = all_files(dir.path());
    let leftovers: Vec<PathBuf> = [".a.rox.crc.tmp", ".a_0003.rox.crc.tmp", "a_0004.rox.crc"]
        .iter()
        .map(|n| dir.path().join(n))
        .collect();
    for file in &leftovers {
        std::fs::write(file, b"junk").unwrap();
    }
    // Not ours: another dataset's sidecar, and a sidecar whose shard exists.
    std::fs::write(dir.path().join("b_0001.rox.crc"), b"x").unwrap();
    let report = recover(&path).unwrap();
    let mut removed = report.removed.clone();
    removed.sort();
    let mut expected = leftovers.clone();
    expected.sort();
    assert_eq!(removed, expected);
    std::fs::remove_file(dir.path().join("b_0001.rox.crc")).unwrap();
    assert_eq!(all_files(dir.path()), keep);
}

#[test]
fn sidecars_are_never_taken_for_shards() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("ds");
    write(
        &base,
        &checksummed().max_shard_bytes(1_000),
        &records(60, 40, 1),
    );
    let d = dir.path().display();
    for spec in [
        format!("{d}/ds_*"),
        format!("{d}/ds*"),
        format!("{d}/*.rox"),
        format!("{d}"),
    ] {
        let ds = Dataset::open(spec.as_str()).unwrap();
        assert!(
            ds.shards()
                .iter()
                .all(|s| s.path().extension().is_some_and(|e| e == "rox")),
            "{spec}"
        );
        assert_eq!(ds.len(), 60, "{spec}");
    }
}
