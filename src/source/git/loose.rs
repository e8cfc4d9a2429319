//! The guard against corrupt loose objects: libgit2 1.9.7 loops forever when it inflates a
//! truncated loose object (libgit2 issue #7342), and writes past its buffer when one holds more
//! than its header declares (#7177). Before any scan reads an object through libgit2, every loose
//! object of the repository (and of its alternates) is checked here with `flate2`: its zlib
//! stream must inflate to exactly the size its header declares and then end. A repository with
//! no corrupt loose object is opened as usual. Otherwise it is given an object database that
//! does not hold the corrupt ones (its packs and links to the good loose objects, in a temporary
//! directory), so libgit2 reports them as missing instead of hanging, and each corrupt object is
//! reported by id and path.
//!
//! A history scan reads about every object, so it checks every loose object up front
//! ([`Guard::check`]). A pre-commit scan reads a few: there the guard starts unchecked
//! ([`Guard::unchecked`]) and each object is checked, once, just before libgit2 reads it
//! ([`Guard::check_object`]: a `stat` per object directory, and an inflate only when the object
//! is loose), so the cost follows what the scan reads, not the number of loose objects.
//!
//! Packs are not checked here: libgit2's pack reader stops on a stream that makes no progress
//! and checks the inflated size, so a corrupt pack gives an error, not a hang.

use std::collections::HashMap;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use flate2::{Decompress, FlushDecompress, Status};
use git2::{Odb, Oid, Repository};
use rayon::prelude::*;

use crate::source::ScanError;

/// How deep alternates of alternates are followed (git's limit).
const MAX_ALTERNATE_DEPTH: usize = 5;

/// The repository's object directories and what the check found in them.
pub(crate) struct Guard {
    /// Object directories, the repository's own first, then its alternates.
    dirs: Vec<PathBuf>,
    /// The corrupt loose objects, reported as errors.
    pub(crate) corrupt: Vec<ScanError>,
    /// Object directories without the corrupt objects, when there are any.
    shadow: Option<tempfile::TempDir>,
    /// Whether every loose object was checked up front; if not, objects are checked one by one
    /// ([`Guard::check_object`]), and the outcome of each is kept here.
    all_checked: bool,
    checked: Mutex<HashMap<Oid, Result<(), ScanError>>>,
}

impl Guard {
    /// A guard that has checked nothing yet: each object must go through
    /// [`Guard::check_object`] before libgit2 reads it.
    pub(crate) fn unchecked(repo: &Repository, from_env: bool) -> Guard {
        Guard {
            dirs: object_dirs(repo, from_env),
            corrupt: Vec::new(),
            shadow: None,
            all_checked: false,
            checked: Mutex::default(),
        }
    }

    /// Checks one object before libgit2 reads it: its loose file in each object directory that
    /// has one (none if it is packed), once per object. Always `Ok` for a guard that checked
    /// every object up front (the corrupt ones are then set aside).
    pub(crate) fn check_object(&self, oid: Oid) -> Result<(), ScanError> {
        if self.all_checked {
            return Ok(());
        }
        let mut checked = self.checked.lock().unwrap_or_else(|e| e.into_inner());
        checked
            .entry(oid)
            .or_insert_with(|| {
                let id = oid.to_string();
                for dir in &self.dirs {
                    let path = dir.join(&id[..2]).join(&id[2..]);
                    if !path.is_file() {
                        continue;
                    }
                    check_file(&path).map_err(|problem| ScanError {
                        path: format!("object {id} ({})", path.display()),
                        message: format!("corrupt loose object: {problem}; not read"),
                    })?;
                }
                Ok(())
            })
            .clone()
    }

    /// Checks every loose object of `repo`, its alternates and the object directories named by
    /// `GIT_OBJECT_DIRECTORY` / `GIT_ALTERNATE_OBJECT_DIRECTORIES` when `from_env`.
    pub(crate) fn check(repo: &Repository, from_env: bool) -> Guard {
        let dirs = object_dirs(repo, from_env);
        let mut files: Vec<(usize, String, PathBuf)> = Vec::new();
        for (index, dir) in dirs.iter().enumerate() {
            files.extend(loose_files(dir).into_iter().map(|(id, path)| (index, id, path)));
        }
        let mut bad: Vec<(usize, String, PathBuf, String)> = files
            .into_par_iter()
            .filter_map(|(index, id, path)| {
                check_file(&path).err().map(|problem| (index, id, path, problem))
            })
            .collect();
        bad.sort();
        let mut guard = Guard {
            dirs,
            corrupt: Vec::new(),
            shadow: None,
            all_checked: true,
            checked: Mutex::default(),
        };
        if bad.is_empty() {
            return guard;
        }
        guard.corrupt = bad
            .iter()
            .map(|(_, id, path, problem)| ScanError {
                path: format!("object {id} ({})", path.display()),
                message: format!("corrupt loose object: {problem}; not read"),
            })
            .collect();
        match shadow(&guard.dirs, &bad) {
            Ok(dir) => guard.shadow = Some(dir),
            Err(e) => guard.corrupt.push(ScanError {
                path: "object database".into(),
                message: format!("cannot set corrupt objects aside: {e}"),
            }),
        }
        guard
    }

    /// Whether the repository must not be read at all: corrupt objects could not be set aside.
    pub(crate) fn unsafe_to_read(&self) -> bool {
        !self.corrupt.is_empty() && self.shadow.is_none()
    }

    /// Makes `repo` read objects without the corrupt loose ones (nothing to do if there are none).
    pub(crate) fn apply(&self, repo: &Repository) -> Result<(), git2::Error> {
        let Some(shadow) = &self.shadow else { return Ok(()) };
        let odb = Odb::new()?;
        for index in 0..self.dirs.len() {
            let dir = shadow.path().join(index.to_string());
            odb.add_disk_alternate(&dir.to_string_lossy())?;
        }
        repo.set_odb(&odb)
    }
}

/// The repository's object directories: its own, those the environment adds (when
/// `from_env`), and their alternates, to git's depth.
fn object_dirs(repo: &Repository, from_env: bool) -> Vec<PathBuf> {
    let mut dirs = vec![object_dir(repo, from_env)];
    if from_env {
        if let Some(list) = std::env::var_os("GIT_ALTERNATE_OBJECT_DIRECTORIES") {
            dirs.extend(std::env::split_paths(&list).filter(|p| !p.as_os_str().is_empty()));
        }
    }
    let mut i = 0;
    let mut depth = vec![0; dirs.len()];
    while i < dirs.len() {
        if depth[i] < MAX_ALTERNATE_DEPTH {
            for alt in alternates(&dirs[i]) {
                if !dirs.contains(&alt) {
                    dirs.push(alt);
                    depth.push(depth[i] + 1);
                }
            }
        }
        i += 1;
    }
    dirs
}

/// The repository's own object directory.
fn object_dir(repo: &Repository, from_env: bool) -> PathBuf {
    if from_env {
        if let Some(dir) = std::env::var_os("GIT_OBJECT_DIRECTORY").filter(|d| !d.is_empty()) {
            return PathBuf::from(dir);
        }
    }
    repo.commondir().join("objects")
}

/// The object directories listed in `dir/info/alternates` (relative ones are relative to `dir`).
fn alternates(dir: &Path) -> Vec<PathBuf> {
    let Ok(text) = std::fs::read_to_string(dir.join("info").join("alternates")) else {
        return Vec::new();
    };
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| dir.join(l))
        .collect()
}

/// The loose object files of an object directory: `xx/` + 38 hex digits (SHA-1) or 62 (SHA-256).
fn loose_files(dir: &Path) -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return out };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(prefix) = name.to_str().filter(|n| is_hex(n, 2)) else { continue };
        let Ok(objects) = std::fs::read_dir(entry.path()) else { continue };
        for object in objects.flatten() {
            let name = object.file_name();
            let Some(rest) = name.to_str() else { continue };
            if is_hex(rest, 38) || is_hex(rest, 62) {
                out.push((format!("{prefix}{rest}"), object.path()));
            }
        }
    }
    out
}

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Checks one loose object file: a zlib stream that inflates to `<type> <size>\0` and exactly
/// `size` more bytes, then ends. Memory is constant whatever the object's size.
pub(crate) fn check_file(path: &Path) -> Result<(), String> {
    let mut file = File::open(path).map_err(|e| format!("cannot open: {e}"))?;
    check_stream(&mut file)
}

fn check_stream(input: &mut dyn Read) -> Result<(), String> {
    let mut inflate = Decompress::new(true);
    let mut inbuf = vec![0u8; 64 * 1024];
    let mut outbuf = vec![0u8; 64 * 1024];
    let (mut start, mut end) = (0usize, 0usize);
    let mut eof = false;
    let mut header: Vec<u8> = Vec::new();
    let mut expected: Option<u64> = None;
    let mut body = 0u64;
    loop {
        if start == end && !eof {
            end = input.read(&mut inbuf).map_err(|e| format!("cannot read: {e}"))?;
            start = 0;
            eof = end == 0;
        }
        let (before_in, before_out) = (inflate.total_in(), inflate.total_out());
        let flush = if eof { FlushDecompress::Finish } else { FlushDecompress::None };
        let status = inflate
            .decompress(&inbuf[start..end], &mut outbuf, flush)
            .map_err(|_| "invalid zlib stream".to_string())?;
        let used = (inflate.total_in() - before_in) as usize;
        let made = (inflate.total_out() - before_out) as usize;
        start += used;
        let mut out = &outbuf[..made];
        if expected.is_none() && !out.is_empty() {
            let take = match memchr::memchr(0, out) {
                Some(nul) => nul + 1,
                None => out.len(),
            };
            header.extend_from_slice(&out[..take]);
            out = &out[take..];
            if header.last() == Some(&0) {
                expected = Some(parse_header(&header[..header.len() - 1])?);
            } else if header.len() > 64 {
                return Err("no object header".into());
            }
        }
        body += out.len() as u64;
        if let Some(size) = expected {
            if body > size {
                return Err(format!("holds more than the {size} bytes its header declares"));
            }
        }
        if status == Status::StreamEnd {
            return match expected {
                Some(size) if body == size => Ok(()),
                Some(size) => Err(format!("holds {body} of the {size} bytes its header declares")),
                None => Err("no object header".into()),
            };
        }
        if used == 0 && made == 0 && (eof || start < end) {
            return Err(if eof {
                "truncated (the zlib stream ends early)".into()
            } else {
                "invalid zlib stream".into()
            });
        }
    }
}

/// Parses `<type> <size>` of a loose object header.
fn parse_header(header: &[u8]) -> Result<u64, String> {
    let text = std::str::from_utf8(header).map_err(|_| "bad object header".to_string())?;
    let (kind, size) = text.split_once(' ').ok_or("bad object header")?;
    if !matches!(kind, "blob" | "tree" | "commit" | "tag") {
        return Err("bad object type".into());
    }
    size.parse().map_err(|_| "bad object size".into())
}

/// Object directories for libgit2 without the corrupt objects: for each directory, its pack
/// directory and links to its good loose objects (no alternates: every directory is listed).
fn shadow(
    dirs: &[PathBuf],
    bad: &[(usize, String, PathBuf, String)],
) -> std::io::Result<tempfile::TempDir> {
    let root = tempfile::Builder::new().prefix("azleak-odb-").tempdir()?;
    for (index, dir) in dirs.iter().enumerate() {
        let target = root.path().join(index.to_string());
        std::fs::create_dir_all(&target)?;
        let pack = dir.join("pack");
        if pack.is_dir() {
            link_dir(&pack, &target.join("pack"))?;
        }
        for (id, path) in loose_files(dir) {
            if bad.iter().any(|(i, b, _, _)| *i == index && *b == id) {
                continue;
            }
            let sub = target.join(&id[..2]);
            std::fs::create_dir_all(&sub)?;
            link_file(&path, &sub.join(&id[2..]))?;
        }
    }
    Ok(root)
}

#[cfg(unix)]
fn link_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::os::unix::fs::symlink(std::path::absolute(from)?, to)
}

#[cfg(not(unix))]
fn link_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            link_file(&entry.path(), &to.join(entry.file_name()))?;
        }
    }
    Ok(())
}

#[cfg(unix)]
fn link_file(from: &Path, to: &Path) -> std::io::Result<()> {
    std::os::unix::fs::symlink(std::path::absolute(from)?, to)
}

#[cfg(not(unix))]
fn link_file(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::hard_link(from, to).or_else(|_| std::fs::copy(from, to).map(|_| ()))
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn deflate(bytes: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(bytes).expect("deflate");
        e.finish().expect("deflate")
    }

    fn check(bytes: &[u8]) -> Result<(), String> {
        check_stream(&mut &bytes[..])
    }

    #[test]
    fn accepts_a_whole_object_and_rejects_every_truncation() {
        let body: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let mut object = format!("blob {}\0", body.len()).into_bytes();
        object.extend_from_slice(&body);
        let z = deflate(&object);
        assert_eq!(check(&z), Ok(()));
        for len in [0, 1, 2, 10, 20, z.len() / 2, z.len() - 5, z.len() - 1] {
            assert!(check(&z[..len]).is_err(), "truncated to {len} accepted");
        }
    }

    #[test]
    fn rejects_wrong_sizes_garbage_and_bad_headers() {
        assert!(check(&deflate(b"blob 3\0abcd")).unwrap_err().contains("more than"));
        assert!(check(&deflate(b"blob 5\0abcd")).unwrap_err().contains("4 of the 5"));
        assert!(check(&deflate(b"blurb 4\0abcd")).is_err());
        assert!(check(&deflate(b"blob x\0abcd")).is_err());
        assert!(check(&deflate(&[b'a'; 100])).is_err());
        assert!(check(b"not zlib at all").is_err());
        assert_eq!(check(&deflate(b"tree 0\0")), Ok(()));
    }
}
