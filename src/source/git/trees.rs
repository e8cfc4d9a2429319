//! Trees for the commit walk: read by id from the packs with gix-pack, and their entries parsed
//! here, without libgit2.
//!
//! libgit2 reads each tree through an object-database lookup, its pack windows' process-wide
//! lock, and a parse that allocates an entry array and parses each mode with `strtol`; with its
//! object cache off (see [`configure_libgit2`](super::configure_libgit2)) a delta chain is walked
//! again for each tree on it. Here each walker has its own [`Reader`] (inflater and bounded cache
//! of resolved objects) over the pack mappings that all walkers share, finds a tree's pack entry
//! in the pack indexes, and walks the raw entries in place.
//!
//! A fast path again: a tree it cannot read (in no pack index: loose, or in an alternate; a
//! reference delta; a corrupt entry; an object that is not a tree; raw bytes that are not a
//! tree as [`entries`] reads them) is read by libgit2, which reports it by id as before. The
//! bytes read either way are in git's raw tree format, so the walk has one form of tree.

use std::path::Path;
use std::sync::Arc;

use gix_pack::index;
use memmap2::Mmap;

use super::pack::{Mapped, Packs, Reader};
use super::places::Place;
use super::walk::Id;

/// Trees larger than this are left to libgit2 (no tree of a real repository comes near it).
const MAX_TREE: u64 = 64 << 20;

/// The pack indexes of a repository and their packs, mapped, to read trees from.
pub(super) struct Trees {
    /// Each readable index with the number of its pack in `packs`.
    indexes: Vec<(index::File<Mapped>, u32)>,
    packs: Packs,
}

impl Trees {
    /// Opens the version 2 SHA-1 pack indexes in `objects/pack` and maps their packs. An index
    /// or pack that cannot be opened is left out (its trees go to libgit2).
    pub(super) fn open(objects: &Path) -> Trees {
        let mut paths: Vec<_> = std::fs::read_dir(objects.join("pack"))
            .map(|dir| {
                dir.flatten()
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|e| e == "idx"))
                    .collect()
            })
            .unwrap_or_default();
        paths.sort();
        let mut indexes = Vec::new();
        let mut packs = Vec::new();
        for idx in paths {
            let Some(file) = map_index(&idx) else { continue };
            indexes.push((file, packs.len() as u32));
            packs.push(idx.with_extension("pack"));
        }
        Trees { indexes, packs: Packs::map(&packs, 0, MAX_TREE) }
    }

    /// Reads the tree `id` with `reader` into `out` (its raw bytes, checked by [`entries`]).
    /// `false` (and `out` is cleared): it is to be read another way.
    pub(super) fn read(&self, reader: &mut Reader, id: &Id, out: &mut Vec<u8>) -> bool {
        out.clear();
        let oid = gix_hash::oid::from_bytes_unchecked(id);
        for (file, pack) in &self.indexes {
            let Some(at) = file.lookup(oid) else { continue };
            let place = Place { pack: *pack, offset: file.pack_offset_at_index(at) };
            let Some(bytes) = self.packs.read_with(reader, place, gix_object::Kind::Tree) else {
                return false;
            };
            if entries(bytes).is_none() {
                return false;
            }
            out.extend_from_slice(bytes);
            return true;
        }
        false
    }
}

/// Maps a pack index read-only; `None` if it cannot be read as a SHA-1 index.
fn map_index(path: &Path) -> Option<index::File<Mapped>> {
    let file = std::fs::File::open(path).ok()?;
    // SAFETY: read-only, and git never rewrites an index in place (see `Packs::map`).
    let map = Arc::new(unsafe { Mmap::map(&file) }.ok()?);
    index::File::from_data(Mapped(map), path.to_path_buf(), gix_hash::Kind::Sha1).ok()
}

/// One entry of a raw tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Entry<'a> {
    /// The mode as written (libgit2's raw file mode).
    pub(super) mode: u16,
    pub(super) name: &'a [u8],
    pub(super) id: &'a Id,
}

/// The object types a tree entry can name, from its mode as libgit2 tells them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Tree,
    Blob,
    /// A blob whose normalised mode is a symbolic link's.
    Link,
    /// A gitlink (submodule).
    Commit,
}

impl Entry<'_> {
    /// What the entry names: libgit2's `git_tree_entry_type`, with symbolic links told apart as
    /// `git_tree_entry_filemode` normalises them.
    pub(super) fn kind(&self) -> Kind {
        match self.mode & 0o170000 {
            0o160000 => Kind::Commit,
            0o040000 => Kind::Tree,
            0o120000 if self.mode & 0o100 == 0 => Kind::Link,
            _ => Kind::Blob,
        }
    }

    /// Whether this entry sorts before `other` in git's tree order (a tree's name compared as
    /// if it ended in `/`).
    fn before(&self, other: &Entry<'_>) -> bool {
        let end = |e: &Entry<'_>| if e.kind() == Kind::Tree { b'/' } else { 0 };
        let n = self.name.len().min(other.name.len());
        match self.name[..n].cmp(&other.name[..n]) {
            std::cmp::Ordering::Equal => {
                let a = self.name.get(n).copied().unwrap_or_else(|| end(self));
                let b = other.name.get(n).copied().unwrap_or_else(|| end(other));
                a < b
            }
            order => order.is_lt(),
        }
    }
}

/// The entries of a raw tree, in order; `None` if the bytes are not a tree the way libgit2
/// parses one (an octal mode of at most 16 bits, a space, a name of 1 to 65,535 bytes ended by
/// a NUL, a 20-byte id), or use a form libgit2 accepts but this parser does not (a signed or
/// spaced mode): such trees are read by libgit2.
pub(super) fn entries(raw: &[u8]) -> Option<Vec<Entry<'_>>> {
    let mut out = Vec::new();
    let mut rest = raw;
    while !rest.is_empty() {
        let (entry, tail) = parse_one(rest)?;
        out.push(entry);
        rest = tail;
    }
    Some(out)
}

/// The entry at the start of `raw` and what follows it.
fn parse_one(raw: &[u8]) -> Option<(Entry<'_>, &[u8])> {
    let space = raw.iter().position(|&b| b == b' ')?;
    if space == 0 {
        return None;
    }
    let mut mode: u32 = 0;
    for &digit in &raw[..space] {
        if !(b'0'..=b'7').contains(&digit) {
            return None;
        }
        mode = mode * 8 + u32::from(digit - b'0');
        if mode > u32::from(u16::MAX) {
            return None;
        }
    }
    let rest = &raw[space + 1..];
    let nul = memchr::memchr(0, rest)?;
    if nul == 0 || nul > usize::from(u16::MAX) {
        return None;
    }
    let id: &Id = rest.get(nul + 1..nul + 21)?.try_into().ok()?;
    let entry = Entry { mode: mode as u16, name: &rest[..nul], id };
    Some((entry, &rest[nul + 21..]))
}

/// Appends an entry to `raw` in git's raw tree format.
pub(super) fn write_entry(raw: &mut Vec<u8>, mode: u16, name: &[u8], id: &Id) {
    use std::io::Write;
    let _ = write!(raw, "{mode:o} ");
    raw.extend_from_slice(name);
    raw.push(0);
    raw.extend_from_slice(id);
}

/// A cursor over the entries of the tree read before at the same path, to tell which entries
/// of the tree now read are the same (mode, name and id): those were recorded then. Entries
/// that are out of git's order only make fewer entries found the same.
pub(super) struct Before<'a> {
    entries: std::iter::Peekable<std::vec::IntoIter<Entry<'a>>>,
}

impl<'a> Before<'a> {
    /// A cursor over `entries`, the tree read before.
    pub(super) fn new(entries: Vec<Entry<'a>>) -> Before<'a> {
        Before { entries: entries.into_iter().peekable() }
    }

    /// Whether the tree read before has `entry`, the next entry of the tree now read.
    pub(super) fn has(&mut self, entry: &Entry<'_>) -> bool {
        while self.entries.next_if(|e| e.before(entry)).is_some() {}
        self.entries.next_if(|e| e == entry).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(entries: &[(u16, &str, u8)]) -> Vec<u8> {
        let mut raw = Vec::new();
        for &(mode, name, id) in entries {
            write_entry(&mut raw, mode, name.as_bytes(), &[id; 20]);
        }
        raw
    }

    #[test]
    fn entries_read_back_as_written_with_libgit2s_kinds() {
        let raw = tree(&[
            (0o100644, "a.txt", 1),
            (0o100755, "run", 2),
            (0o120000, "link", 3),
            (0o120755, "odd-link", 4),
            (0o040000, "dir", 5),
            (0o160000, "sub", 6),
        ]);
        let kinds: Vec<_> = entries(&raw).expect("a tree").iter().map(Entry::kind).collect();
        assert_eq!(
            kinds,
            [Kind::Blob, Kind::Blob, Kind::Link, Kind::Blob, Kind::Tree, Kind::Commit]
        );
        assert_eq!(entries(&raw).expect("a tree")[2].name, b"link");
    }

    #[test]
    fn malformed_trees_are_refused() {
        let good = tree(&[(0o100644, "a", 1)]);
        assert!(entries(&good).is_some());
        assert!(entries(&good[..good.len() - 1]).is_none(), "a short id");
        assert!(entries(b"100644 \0aaaaaaaaaaaaaaaaaaaa").is_none(), "an empty name");
        assert!(entries(b"10064x a\0aaaaaaaaaaaaaaaaaaaa").is_none(), "a bad mode");
        assert!(entries(b"+100644 a\0aaaaaaaaaaaaaaaaaaaa").is_none(), "a signed mode");
        assert!(entries(b"7777777 a\0aaaaaaaaaaaaaaaaaaaa").is_none(), "a mode over 16 bits");
        assert!(entries(b" a\0aaaaaaaaaaaaaaaaaaaa").is_none(), "no mode");
        assert_eq!(entries(b"").map(|e| e.len()), Some(0));
    }

    #[test]
    fn the_tree_before_tells_the_entries_that_did_not_change() {
        let old = tree(&[(0o100644, "a", 1), (0o040000, "b", 2), (0o100644, "c", 3)]);
        let new = tree(&[
            (0o100644, "a", 1),
            (0o100644, "a.txt", 9),
            (0o040000, "b", 7),
            (0o100755, "c", 3),
            (0o100644, "d", 4),
        ]);
        let mut before = Before::new(entries(&old).expect("old"));
        let same: Vec<bool> = entries(&new).expect("new").iter().map(|e| before.has(e)).collect();
        assert_eq!(same, [true, false, false, false, false]);
        // A tree and a file of one name sort apart ("b/" after "b.c"): both are still found.
        let old = tree(&[(0o100644, "b.c", 1), (0o040000, "b", 2)]);
        let mut before = Before::new(entries(&old).expect("old"));
        let same: Vec<bool> = entries(&old).expect("old").iter().map(|e| before.has(e)).collect();
        assert_eq!(same, [true, true]);
    }
}
