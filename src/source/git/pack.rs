//! Packed blobs read by their pack offset with gix-pack, without libgit2.
//!
//! libgit2 resolves each packed object on its own: an object-database lookup per read, its pack
//! windows behind one process-wide lock, and no cache of resolved objects that a worker keeps
//! from one blob to the next, so a delta chain is walked again for each blob on it. Here every
//! pack is mapped once, read-only, and shared by all workers; each worker has its own inflater
//! and a bounded cache of the objects it resolved, by pack offset. The history scan reads blobs
//! in pack order, and git writes each delta family together (a base, then the deltas on it), so
//! the base of a delta is most often an object the same worker has just resolved.
//!
//! This is a fast path: a blob it cannot read (its pack cannot be mapped, a reference delta
//! whose base is named by id, a corrupt or truncated entry, an object that is not a blob, a
//! chain needing more memory than the limit) is `None`, and the caller reads it with libgit2,
//! which reports corruption by the blob's id as before.
//!
//! Resident memory: pages of a mapping that were read count in the process's resident set
//! until the kernel drops them. The readers tell the kernel to drop them each time about
//! [`RELEASE_EVERY`] bytes were read (they are still in the page cache; reading them again
//! maps them again), so the resident set does not grow with the size of the pack.

use std::ops::Deref;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use gix_pack::cache::lru::StaticLinkedList;
use gix_pack::data::File;
use memmap2::Mmap;

use super::places::{Place, entry_size};

/// Resolved objects each worker keeps (the most recent first) and the bytes they may hold.
const CACHE_ENTRIES: usize = 64;
const CACHE_BYTES: usize = 4 << 20;

/// About how many bytes of the mappings are read between two releases of their pages.
const RELEASE_EVERY: u64 = 8 << 20;

/// A worker's read buffer is shrunk back to this after a larger blob.
const KEPT_BUFFER: usize = 2 << 20;

/// The mapped bytes of a pack (also held by [`Packs::maps`], to release its pages).
struct Mapped(Arc<Mmap>);

impl Deref for Mapped {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.0
    }
}

/// The packs of a [`Places`](super::places::Places), mapped, by the same pack numbers.
pub(crate) struct Packs {
    /// `None`: the pack could not be mapped or is not a pack (its blobs go to libgit2).
    files: Vec<Option<File<Mapped>>>,
    /// The mappings of the packs in `files`.
    maps: Vec<Arc<Mmap>>,
    /// Bytes read from the mappings since their pages were last released.
    read: AtomicU64,
    /// One reader per worker thread, by rayon thread index.
    readers: Vec<Mutex<Reader>>,
    /// Blobs larger than this are skipped.
    max_size: u64,
}

/// What reading one packed blob gave.
pub(crate) enum Packed<'a> {
    /// Its bytes.
    Bytes(&'a [u8]),
    /// Larger than the limit (by its entry, or once read).
    TooLarge,
}

/// A worker's inflater, cache of resolved objects and buffer.
struct Reader {
    inflate: gix_zlib::Inflate,
    cache: StaticLinkedList<CACHE_ENTRIES>,
    out: Vec<u8>,
}

impl Reader {
    fn new() -> Reader {
        Reader {
            inflate: gix_zlib::Inflate::default(),
            cache: StaticLinkedList::new(CACHE_BYTES),
            out: Vec::new(),
        }
    }
}

impl Packs {
    /// Maps the packs at `paths` (by pack number), for `workers` threads, reading blobs up to
    /// `max_size` bytes.
    pub(crate) fn map(paths: &[PathBuf], workers: usize, max_size: u64) -> Packs {
        // A delta chain needs two buffers of its largest object and its inflated deltas: a chain
        // needing more than this is left to libgit2.
        let limit = usize::try_from(max_size.saturating_mul(4)).unwrap_or(usize::MAX).max(64 << 20);
        let mut maps = Vec::new();
        let files = paths
            .iter()
            .map(|path| {
                let file = std::fs::File::open(path).ok()?;
                // SAFETY: the mapping is read-only and git never rewrites a pack in place (a
                // repack writes new files and deletes the old ones, which stay mapped as they
                // were); libgit2 maps the same files the same way.
                let map = Arc::new(unsafe { Mmap::map(&file) }.ok()?);
                let data = File::from_data(Mapped(map.clone()), path.clone(), gix_hash::Kind::Sha1);
                maps.push(map);
                Some(data.ok()?.with_alloc_limit_bytes(Some(limit)))
            })
            .collect();
        let readers = (0..workers.max(1)).map(|_| Mutex::new(Reader::new())).collect();
        Packs { files, maps, read: AtomicU64::new(0), readers, max_size }
    }

    /// Reads the blob at `place` with the calling worker's reader and hands its bytes to `f`.
    /// `None` (and `f` is not called): the blob is to be read another way.
    pub(crate) fn read<T>(&self, place: Place, f: impl FnOnce(Packed<'_>) -> T) -> Option<T> {
        let file = self.files.get(place.pack as usize)?.as_ref()?;
        let start = usize::try_from(place.offset).ok()?;
        let head = file.data_len().min(start.saturating_add(512));
        let size = entry_size(file.entry_slice(start as u64..head as u64)?)?;
        if size > self.max_size {
            return Some(f(Packed::TooLarge));
        }
        let slot = rayon::current_thread_index().and_then(|i| self.readers.get(i));
        // A worker holds its reader while `f` scans; if the scan lets this thread take up
        // another blob meanwhile, that blob gets a reader of its own.
        let mut held = slot.and_then(|slot| slot.try_lock().ok());
        let mut own = None;
        let reader = match held.as_deref_mut() {
            Some(reader) => reader,
            None => own.insert(Reader::new()),
        };
        let entry = file.entry(place.offset).ok()?;
        let no_base_by_id = |_: &gix_hash::oid, _: &mut Vec<u8>| Ok(None);
        let outcome = file
            .decode_entry(
                entry,
                &mut reader.out,
                &mut reader.inflate,
                &no_base_by_id,
                &mut reader.cache,
            )
            .ok()?;
        if outcome.kind != gix_object::Kind::Blob {
            return None;
        }
        let read = (u64::from(outcome.num_deltas) + 1) * 4096 + outcome.compressed_size as u64;
        self.account(read);
        let result = if reader.out.len() as u64 > self.max_size {
            f(Packed::TooLarge)
        } else {
            f(Packed::Bytes(&reader.out))
        };
        if reader.out.capacity() > KEPT_BUFFER {
            reader.out = Vec::new();
        }
        Some(result)
    }

    /// Counts `bytes` read from the mappings, and releases their pages every [`RELEASE_EVERY`].
    fn account(&self, bytes: u64) {
        let before = self.read.fetch_add(bytes, Ordering::Relaxed);
        if before / RELEASE_EVERY == (before + bytes) / RELEASE_EVERY {
            return;
        }
        for map in &self.maps {
            // SAFETY: the mapping is read-only and backed by the pack file: dropped pages are
            // read again from the file on the next access, with the same bytes.
            let _ = unsafe { map.unchecked_advise(memmap2::UncheckedAdvice::DontNeed) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::git::places::Places;
    use crate::source::git::places::tests::git;
    use std::path::Path;

    /// A repository of `rounds` commits each editing one large file a little, packed with delta
    /// chains up to `depth`, and its blobs (raw id, libgit2's bytes).
    fn edited(dir: &Path, rounds: usize, depth: u32) -> Vec<([u8; 20], Vec<u8>)> {
        git(dir, &["init", "-q"]);
        let mut text: Vec<String> = (0..2000).map(|i| format!("line {i} of a config")).collect();
        for round in 0..rounds {
            text[(round * 37) % 2000] = format!("changed in round {round}");
            std::fs::write(dir.join("big.txt"), text.join("\n")).expect("write");
            std::fs::write(dir.join("small.txt"), format!("{round}\n")).expect("write");
            git(dir, &["add", "-A"]);
            git(dir, &["commit", "-qm", &format!("round {round}")]);
        }
        let depth = format!("--depth={depth}");
        git(dir, &["repack", "-adfq", &depth, "--window=250"]);
        git(dir, &["prune-packed"]);
        let repo = git2::Repository::open(dir).expect("open");
        let odb = repo.odb().expect("odb");
        let mut blobs = Vec::new();
        for line in git(dir, &["rev-list", "--objects", "--all"]).lines() {
            let oid = git2::Oid::from_str(&line[..40]).expect("id");
            let object = odb.read(oid).expect("read");
            if object.kind() == git2::ObjectType::Blob {
                blobs.push((crate::source::git::raw_id(oid), object.data().to_vec()));
            }
        }
        blobs
    }

    /// Reads every blob of `blobs` at its place, in `order`, on one worker.
    fn read_all(dir: &Path, blobs: &[([u8; 20], Vec<u8>)], order: &[usize], max: u64) -> usize {
        let ids: Vec<[u8; 20]> = blobs.iter().map(|b| b.0).collect();
        let (places, found) = Places::locate(&dir.join(".git/objects"), &ids);
        let packs = Packs::map(&places.paths, 1, max);
        let mut read = 0;
        for &i in order {
            let place = found[i].expect("packed");
            let got = packs.read(place, |packed| match packed {
                Packed::Bytes(bytes) => Some(bytes.to_vec()),
                Packed::TooLarge => None,
            });
            let got = got.expect("read by the pack reader").expect("not too large");
            assert_eq!(got, blobs[i].1, "blob {}", hex::encode(blobs[i].0));
            read += 1;
        }
        read
    }

    /// (offset, delta depth, size) of every blob of the repository's pack, by `git verify-pack`.
    fn depths(dir: &Path) -> Vec<(u64, u32, u64)> {
        let pack = dir.join(".git/objects/pack");
        let idx = std::fs::read_dir(&pack)
            .expect("pack dir")
            .flatten()
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|e| e == "idx"))
            .expect("an index");
        git(dir, &["verify-pack", "-v", &idx.to_string_lossy()])
            .lines()
            .filter_map(|line| {
                let f: Vec<&str> = line.split_whitespace().collect();
                let depth = f.get(5).and_then(|d| d.parse().ok()).unwrap_or(0);
                (f.len() >= 5 && f[1] == "blob")
                    .then(|| (f[4].parse().unwrap_or(0), depth, f[2].parse().unwrap_or(0)))
            })
            .collect()
    }

    #[test]
    fn chains_deeper_than_the_cache_read_as_libgit2_reads_them_in_any_order() {
        let dir = tempfile::tempdir().expect("temp dir");
        let dir = dir.path();
        let blobs = edited(dir, 2 * CACHE_ENTRIES + 20, 4 * CACHE_ENTRIES as u32);
        let deepest = depths(dir).iter().map(|d| d.1).max().unwrap_or(0);
        assert!(deepest as usize > CACHE_ENTRIES, "chains deeper than the cache: {deepest}");
        let forward: Vec<usize> = (0..blobs.len()).collect();
        // Newest first (rev-list order), oldest first, and interleaved from both ends, so the
        // cache holds the base of some reads and none of others.
        assert_eq!(read_all(dir, &blobs, &forward, u64::MAX), blobs.len());
        let backward: Vec<usize> = forward.iter().rev().copied().collect();
        assert_eq!(read_all(dir, &blobs, &backward, u64::MAX), blobs.len());
        let mixed: Vec<usize> = (0..blobs.len())
            .map(|i| if i % 2 == 0 { i / 2 } else { blobs.len() - 1 - i / 2 })
            .collect();
        assert_eq!(read_all(dir, &blobs, &mixed, u64::MAX), blobs.len());
    }

    #[test]
    fn a_blob_over_the_limit_is_too_large_by_its_entry_before_it_is_resolved() {
        let dir = tempfile::tempdir().expect("temp dir");
        let dir = dir.path();
        let blobs = edited(dir, 12, 50);
        let ids: Vec<[u8; 20]> = blobs.iter().map(|b| b.0).collect();
        let (places, found) = Places::locate(&dir.join(".git/objects"), &ids);
        let packs = Packs::map(&places.paths, 1, 1000);
        for (blob, place) in blobs.iter().zip(&found) {
            let got = packs.read(place.expect("packed"), |packed| match packed {
                Packed::Bytes(bytes) => bytes.len(),
                Packed::TooLarge => usize::MAX,
            });
            let expected = if blob.1.len() > 1000 { usize::MAX } else { blob.1.len() };
            assert_eq!(got, Some(expected));
        }
    }

    #[test]
    fn a_corrupt_entry_or_chain_base_is_left_to_libgit2() {
        let dir = tempfile::tempdir().expect("temp dir");
        let dir = dir.path();
        let blobs = edited(dir, 30, 50);
        let ids: Vec<[u8; 20]> = blobs.iter().map(|b| b.0).collect();
        let (places, found) = Places::locate(&dir.join(".git/objects"), &ids);
        // The whole version of big.txt that its deltas are based on: every blob resolved
        // through it is unreadable.
        let depths = depths(dir);
        let base = depths.iter().find(|d| d.1 == 0 && d.2 > 10_000).expect("a base").0;
        let pack = &places.paths[0];
        let mut bytes = std::fs::read(pack).expect("read pack");
        for b in &mut bytes[base as usize + 4..base as usize + 12] {
            *b ^= 0xa5;
        }
        let mut perms = std::fs::metadata(pack).expect("pack").permissions();
        #[allow(clippy::permissions_set_readonly_false)]
        perms.set_readonly(false);
        std::fs::set_permissions(pack, perms).expect("chmod");
        std::fs::write(pack, bytes).expect("write pack");
        let packs = Packs::map(&places.paths, 1, u64::MAX);
        let repo = git2::Repository::open(dir).expect("open");
        let odb = repo.odb().expect("odb");
        let (mut failed, mut read) = (0, 0);
        for (blob, place) in blobs.iter().zip(&found) {
            let got = packs.read(place.expect("packed"), |packed| match packed {
                Packed::Bytes(bytes) => bytes.to_vec(),
                Packed::TooLarge => Vec::new(),
            });
            let oid = git2::Oid::from_bytes(&blob.0).expect("id");
            match got {
                // Whatever is read is read right.
                Some(bytes) => {
                    assert_eq!(bytes, blob.1);
                    read += 1;
                }
                // What the pack reader cannot read, libgit2 cannot either.
                None => {
                    assert!(odb.read(oid).is_err(), "libgit2 reads {oid}");
                    failed += 1;
                }
            }
        }
        assert!(failed >= 2, "the base and a delta on it are unreadable: {failed}");
        assert!(read >= 1, "the other blobs are read: {read}");
    }
}
