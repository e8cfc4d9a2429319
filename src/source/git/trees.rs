//! Raw trees for the commit walk: their entries parsed in place, and compared with the tree read
//! before at the same path.
//!
//! libgit2's tree parse allocates an entry array and parses each mode with `strtol`; the walk
//! reads each tree's raw bytes from the object database instead and walks them here. Bytes this
//! parser refuses (see [`entries`]) are read by libgit2's own tree parse, which reports a corrupt
//! tree by id as before; the bytes are kept in git's raw tree format either way, so the walk has
//! one form of tree.
//!
//! Reading trees by pack offset with gix-pack (as blobs are, module `pack`) was measured and
//! dropped: the walk reads trees oldest first, the opposite of the direction of git's delta
//! chains, and gix-pack caches only the object it resolved, not the bases on the way, so each
//! tree resolved its whole chain again (the walk took twice the CPU time).

use super::walk::Id;

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

/// Whether `raw` is a tree the way libgit2 parses one (an octal mode of at most 16 bits, a space,
/// a name of 1 to 65,535 bytes ended by a NUL, a 20-byte id, for each entry). `false` also for
/// forms libgit2 accepts but this parser does not (a signed or spaced mode): such trees are read
/// by libgit2.
pub(super) fn valid(raw: &[u8]) -> bool {
    let mut rest = raw;
    while !rest.is_empty() {
        match parse_one(rest) {
            Some((_, tail)) => rest = tail,
            None => return false,
        }
    }
    true
}

/// The entries of a raw tree, in order, up to the first that cannot be parsed (none in a
/// [`valid`] tree).
pub(super) fn entries(raw: &[u8]) -> Entries<'_> {
    Entries { rest: raw }
}

/// The iterator of [`entries`].
pub(super) struct Entries<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Entries<'a> {
    type Item = Entry<'a>;

    fn next(&mut self) -> Option<Entry<'a>> {
        let (entry, tail) = parse_one(self.rest)?;
        self.rest = tail;
        Some(entry)
    }
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
    entries: std::iter::Peekable<Entries<'a>>,
}

impl<'a> Before<'a> {
    /// A cursor over the raw tree read before.
    pub(super) fn new(raw: &'a [u8]) -> Before<'a> {
        Before { entries: entries(raw).peekable() }
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

    /// For each entry of `new`, whether `old` has it.
    fn unchanged(old: &[u8], new: &[u8]) -> Vec<bool> {
        let mut before = Before::new(old);
        entries(new).map(|e| before.has(&e)).collect()
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
        assert!(valid(&raw));
        let kinds: Vec<_> = entries(&raw).map(|e| e.kind()).collect();
        assert_eq!(
            kinds,
            [Kind::Blob, Kind::Blob, Kind::Link, Kind::Blob, Kind::Tree, Kind::Commit]
        );
        assert_eq!(entries(&raw).nth(2).map(|e| e.name), Some(&b"link"[..]));
    }

    #[test]
    fn malformed_trees_are_refused() {
        let good = tree(&[(0o100644, "a", 1)]);
        assert!(valid(&good));
        assert!(!valid(&good[..good.len() - 1]), "a short id");
        assert!(!valid(b"100644 \0aaaaaaaaaaaaaaaaaaaa"), "an empty name");
        assert!(!valid(b"10064x a\0aaaaaaaaaaaaaaaaaaaa"), "a bad mode");
        assert!(!valid(b"+100644 a\0aaaaaaaaaaaaaaaaaaaa"), "a signed mode");
        assert!(!valid(b"7777777 a\0aaaaaaaaaaaaaaaaaaaa"), "a mode over 16 bits");
        assert!(!valid(b" a\0aaaaaaaaaaaaaaaaaaaa"), "no mode");
        assert!(valid(b""));
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
        assert_eq!(unchanged(&old, &new), [true, false, false, false, false]);
        // A tree and a file of one name sort apart ("b/" after "b.c"): both are still found.
        let old = tree(&[(0o100644, "b.c", 1), (0o040000, "b", 2)]);
        assert_eq!(unchanged(&old, &old), [true, true]);
    }
}
