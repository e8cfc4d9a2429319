//! Where blobs are in the repository's packs, and how large each is, read from the pack index
//! and the pack entry's own header without libgit2.
//!
//! libgit2's `read_header` of a packed delta follows the whole delta chain (to learn the type at
//! its end), through the process-wide lock of its pack windows; reading the blob then walks the
//! chain again. A history scan knows each blob's type from its tree, and its size is written at
//! the start of its pack entry (for a whole object) or of the entry's delta (for a delta): one
//! small read of the pack file, no chain. The places also let the blob phase read in pack order,
//! so libgit2's windows move forward instead of being mapped and unmapped at random.
//!
//! Everything here is a fast path: a blob not found in a version 2 SHA-1 pack index (a loose
//! object, an alternate, another index format), or whose entry cannot be parsed, has no place or
//! no size, and the caller asks libgit2 as before. Corruption is reported by libgit2's own read.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use flate2::{Decompress, FlushDecompress};

/// A blob's pack (index into [`Places::packs`]) and the offset of its entry in that pack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Place {
    pub(crate) pack: u32,
    pub(crate) offset: u64,
}

/// The pack files of a repository that hold some of the wanted blobs.
#[derive(Default)]
pub(crate) struct Places {
    packs: Vec<File>,
    /// The path of each pack in `packs`.
    pub(crate) paths: Vec<PathBuf>,
}

/// Size of the header of a version 2 pack index: magic, version and the fan-out table.
const IDX_HEADER: u64 = 8 + 256 * 4;

impl Places {
    /// Finds each of `wanted` (raw SHA-1 ids) in the pack indexes in `objects/pack`: one
    /// sequential pass over each index, memory for the wanted ids alone. Returns the places, by
    /// position in `wanted` (`None`: not in any readable index).
    pub(crate) fn locate(objects: &Path, wanted: &[[u8; 20]]) -> (Places, Vec<Option<Place>>) {
        let mut places = Places::default();
        let mut found = vec![None; wanted.len()];
        let mut order: Vec<u32> = (0..wanted.len() as u32).collect();
        order.sort_unstable_by_key(|&i| wanted[i as usize]);
        let Ok(entries) = std::fs::read_dir(objects.join("pack")) else {
            return (places, found);
        };
        let mut indexes: Vec<_> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "idx"))
            .collect();
        indexes.sort();
        for idx in indexes {
            if order.is_empty() {
                break;
            }
            let path = idx.with_extension("pack");
            let Ok(pack) = File::open(&path) else { continue };
            let pack_id = places.packs.len() as u32;
            let Some(hits) = scan_index(&idx, wanted, &order) else { continue };
            if hits.is_empty() {
                continue;
            }
            places.packs.push(pack);
            places.paths.push(path);
            for (i, offset) in hits {
                found[i as usize] = Some(Place { pack: pack_id, offset });
            }
            order.retain(|&i| found[i as usize].is_none());
        }
        (places, found)
    }

    /// The size of the object at `place` from its entry header (and, for a delta, from the
    /// start of the delta: the size of the object it produces). `None` if it cannot be read
    /// that way (the caller then asks libgit2, which reports corruption).
    pub(crate) fn size(&self, place: Place) -> Option<u64> {
        let pack = self.packs.get(place.pack as usize)?;
        let mut buf = [0u8; 512];
        let n = read_at(pack, &mut buf, place.offset)?;
        entry_size(&buf[..n])
    }
}

/// The (position in `wanted`, pack offset) of every wanted id in the version 2 index `idx`;
/// `order` lists the wanted positions by ascending id. `None` if the file is not such an index.
fn scan_index(idx: &Path, wanted: &[[u8; 20]], order: &[u32]) -> Option<Vec<(u32, u64)>> {
    let mut file = File::open(idx).ok()?;
    let len = file.metadata().ok()?.len();
    let mut header = [0u8; IDX_HEADER as usize];
    file.read_exact(&mut header).ok()?;
    if header[..8] != [0xff, b't', b'O', b'c', 0, 0, 0, 2] {
        return None;
    }
    let count = u64::from(u32::from_be_bytes(header[IDX_HEADER as usize - 4..].try_into().ok()?));
    // Names, CRCs, offsets, then 8 bytes per large offset and two checksums: SHA-1 only.
    let fixed = IDX_HEADER + count * 28 + 40;
    if len < fixed || (len - fixed) % 8 != 0 {
        return None;
    }
    let large_count = (len - fixed) / 8;
    // Two readers of their own (a cloned handle would share one file position).
    let mut names = BufReader::with_capacity(64 << 10, File::open(idx).ok()?);
    names.seek(SeekFrom::Start(IDX_HEADER)).ok()?;
    let mut offsets = BufReader::with_capacity(16 << 10, File::open(idx).ok()?);
    offsets.seek(SeekFrom::Start(IDX_HEADER + count * 24)).ok()?;
    let mut hits = Vec::new();
    let mut next = 0;
    let (mut name, mut word) = ([0u8; 20], [0u8; 4]);
    for _ in 0..count {
        if next == order.len() {
            break;
        }
        names.read_exact(&mut name).ok()?;
        offsets.read_exact(&mut word).ok()?;
        while next < order.len() && wanted[order[next] as usize] < name {
            next += 1;
        }
        // Every wanted copy of the id (callers may list an id twice).
        let mut place = None;
        while next < order.len() && wanted[order[next] as usize] == name {
            let small = u32::from_be_bytes(word);
            let offset = if let Some(offset) = place {
                offset
            } else if small & 0x8000_0000 == 0 {
                u64::from(small)
            } else {
                let large = u64::from(small & 0x7fff_ffff);
                if large >= large_count {
                    return None;
                }
                let mut bytes = [0u8; 8];
                read_at(&file, &mut bytes, IDX_HEADER + count * 28 + large * 8)
                    .filter(|&n| n == 8)?;
                u64::from_be_bytes(bytes)
            };
            let offset = *place.get_or_insert(offset);
            hits.push((order[next], offset));
            next += 1;
        }
    }
    // The fan-out table is not checked against the names: a wrong index gives a wrong size at
    // worst, which the size of what libgit2 then reads corrects (see `load_blob`).
    Some(hits)
}

/// Reads up to `buf.len()` bytes at `offset` (fewer at the end of the file).
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> Option<usize> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileExt;
        let mut done = 0;
        while done < buf.len() {
            match file.read_at(&mut buf[done..], offset + done as u64) {
                Ok(0) => break,
                Ok(n) => done += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => return None,
            }
        }
        Some(done)
    }
    #[cfg(not(unix))]
    {
        let _ = (file, buf, offset);
        None
    }
}

/// A little-endian base-128 number (git's delta sizes and the pack entry's size continuation).
fn varint(bytes: &[u8], pos: &mut usize) -> Option<u64> {
    let (mut value, mut shift) = (0u64, 0u32);
    loop {
        let byte = *bytes.get(*pos)?;
        *pos += 1;
        if shift > 63 {
            return None;
        }
        value |= u64::from(byte & 0x7f).checked_shl(shift)?;
        if byte & 0x80 == 0 {
            return Some(value);
        }
        shift += 7;
    }
}

/// The size of the object a pack entry (its first bytes) gives: from the entry header for a
/// whole object; for a delta, the result size at the start of the inflated delta.
pub(crate) fn entry_size(entry: &[u8]) -> Option<u64> {
    let first = *entry.first()?;
    let kind = (first >> 4) & 7;
    let mut size = u64::from(first & 0x0f);
    let mut pos = 1;
    if first & 0x80 != 0 {
        size |= varint(entry, &mut pos)?.checked_shl(4)?;
    }
    match kind {
        1..=4 => return Some(size),
        // Offset delta: the base's distance, big-endian base-128 with an offset per byte.
        6 => loop {
            let byte = *entry.get(pos)?;
            pos += 1;
            if byte & 0x80 == 0 {
                break;
            }
        },
        // Reference delta: the base's id.
        7 => pos += 20,
        _ => return None,
    }
    let mut out = [0u8; 24];
    let mut inflate = Decompress::new(true);
    inflate.decompress(entry.get(pos..)?, &mut out, FlushDecompress::None).ok()?;
    let produced = usize::try_from(inflate.total_out()).ok()?;
    let delta = &out[..produced];
    let mut at = 0;
    let _base = varint(delta, &mut at)?;
    varint(delta, &mut at)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use std::io::Write;

    fn zlib(bytes: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(bytes).expect("compress");
        e.finish().expect("compress")
    }

    /// Runs git in `dir` with a fixed identity and no user or system config.
    pub(in crate::source::git) fn git(dir: &Path, args: &[&str]) -> String {
        let out = std::process::Command::new("git")
            .current_dir(dir)
            .args(["-c", "user.name=T", "-c", "user.email=t@example.com"])
            .args(args)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env_remove("GIT_DIR")
            .env_remove("GIT_WORK_TREE")
            .output()
            .expect("git");
        assert!(out.status.success(), "git {args:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    #[test]
    fn every_packed_blob_is_located_and_sized_as_libgit2_sizes_it() {
        let dir = tempfile::tempdir().expect("temp dir");
        let dir = dir.path();
        git(dir, &["init", "-q"]);
        let mut text: Vec<String> = (0..2000).map(|i| format!("line {i} of a config")).collect();
        for round in 0..10 {
            text[round * 150] = format!("changed in round {round}");
            std::fs::write(dir.join("big.txt"), text.join("\n")).expect("write");
            std::fs::write(dir.join(format!("small{round}.txt")), format!("{round}\n"))
                .expect("write");
            std::fs::write(dir.join("same.txt"), "identical\n").expect("write");
            git(dir, &["add", "-A"]);
            git(dir, &["commit", "-qm", &format!("round {round}")]);
        }
        git(dir, &["repack", "-adfq", "--depth=50", "--window=50"]);
        let listing = git(dir, &["rev-list", "--objects", "--all"]);
        let repo = git2::Repository::open(dir).expect("open");
        let odb = repo.odb().expect("odb");
        let mut ids = Vec::new();
        for line in listing.lines() {
            let oid = git2::Oid::from_str(&line[..40]).expect("id");
            if odb.read_header(oid).expect("header").1 == git2::ObjectType::Blob {
                ids.push(<[u8; 20]>::try_from(oid.as_bytes()).expect("sha1"));
            }
        }
        // An id asked for twice is found twice.
        ids.push(ids[0]);
        assert!(ids.len() >= 21, "{}", ids.len());
        let (places, found) = Places::locate(&dir.join(".git/objects"), &ids);
        let mut deltas = 0;
        for (id, place) in ids.iter().zip(&found) {
            let place = place.expect("every blob is in the pack");
            let oid = git2::Oid::from_bytes(id).expect("id");
            let size = odb.read_header(oid).expect("header").0 as u64;
            assert_eq!(places.size(place), Some(size), "{oid}");
            let mut first = [0u8; 1];
            read_at(&places.packs[0], &mut first, place.offset).expect("read");
            deltas += usize::from((first[0] >> 4) & 7 >= 6);
        }
        assert!(deltas >= 5, "the pack has deltas: {deltas}");
        assert_eq!(found[0], found[ids.len() - 1]);
    }

    #[test]
    fn whole_object_sizes_come_from_the_entry_header() {
        // Blob (type 3) of 5 bytes: one header byte.
        assert_eq!(entry_size(&[0x35]), Some(5));
        // Blob of 1,000 bytes: 0x3 << 4 | (1000 & 15) with continuation, then 1000 >> 4.
        assert_eq!(entry_size(&[0x80 | 0x30 | (1000 & 15) as u8, (1000 >> 4) as u8]), Some(1000));
        // Unknown type 5, truncated continuation.
        assert_eq!(entry_size(&[0x55]), None);
        assert_eq!(entry_size(&[0xb5]), None);
        assert_eq!(entry_size(&[]), None);
    }

    #[test]
    fn delta_sizes_come_from_the_start_of_the_delta() {
        // Delta: base size 300, result size 70,000, then a copy instruction.
        let mut delta = Vec::new();
        for mut v in [300u64, 70_000] {
            loop {
                let byte = (v & 0x7f) as u8;
                v >>= 7;
                delta.push(if v > 0 { byte | 0x80 } else { byte });
                if v == 0 {
                    break;
                }
            }
        }
        delta.extend_from_slice(&[0x90, 0x10]);
        let packed = zlib(&delta);
        // Offset delta (type 6) with a two-byte base distance.
        let mut entry = vec![0x60 | delta.len() as u8, 0x81, 0x05];
        entry.extend_from_slice(&packed);
        assert_eq!(entry_size(&entry), Some(70_000));
        // Reference delta (type 7): 20-byte base id.
        let mut entry = vec![0x70 | delta.len() as u8];
        entry.extend_from_slice(&[0xab; 20]);
        entry.extend_from_slice(&packed);
        assert_eq!(entry_size(&entry), Some(70_000));
        // Garbage instead of zlib: no size (libgit2 is asked and reports it).
        let mut entry = vec![0x70 | delta.len() as u8];
        entry.extend_from_slice(&[0xab; 20]);
        entry.extend_from_slice(&[0x5a; 16]);
        assert_eq!(entry_size(&entry), None);
    }
}
