//! Expanders: turn one blob into the blobs inside it, in memory, one at a time.
//!
//! This module owns recognising containers by their magic bytes ([`classify`]), opening them
//! ([`expand`], [`expand_one`]), and the limits that keep a hostile archive from taking the
//! machine ([`Limits`], [`Budget`]); [`utf16`] holds the text-encoding helpers (UTF-16/32
//! decoding, `strings`-style runs from binary bytes). It does not own where a blob came from
//! (the caller passes an origin name used only in messages), the detector, or any output:
//! members, skips and errors are [`Event`] values handed to a sink, never printed, never
//! written to disk. Member names are kept as names only, never used as filesystem paths.
//!
//! Supported: the zip family (`.zip .jar .war .ear .nupkg .whl .apk .vsix .docx .xlsx .pptx`,
//! by the `PK` magic, whatever the name), tar (POSIX/GNU `ustar` and old v7 headers), gzip,
//! bzip2, xz and zstd; a compressed tar (`.tar.gz`, `.tgz`, `.tar.xz`, …) is one archive.
//! Zip members may be stored, deflated, deflate64, bzip2, LZMA, xz or zstd compressed.
//!
//! ```
//! use azleak::expand::{self, Budget, Event, Limits};
//! # fn zip_bytes() -> Vec<u8> {
//! #     use std::io::Write;
//! #     let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
//! #     w.start_file("config/app.env", zip::write::SimpleFileOptions::default()).unwrap();
//! #     w.write_all(b"KEY=value\n").unwrap();
//! #     w.finish().unwrap().into_inner()
//! # }
//! let bytes = zip_bytes();
//! let budget = Budget::default();
//! let mut names = Vec::new();
//! expand::expand(&bytes, "release.zip", &Limits::default(), &budget, &mut |event| {
//!     if let Event::Member(m) = event {
//!         names.push(m.path.join("!"));
//!     }
//! });
//! assert_eq!(names, ["config/app.env"]);
//! ```

mod archive;
mod limit;
pub mod utf16;

use std::fmt;

use limit::Meter;
pub use limit::{ArchiveSkip, Budget, Limits};

/// A container format, recognised from the first bytes of a blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Container {
    /// A zip archive or one of its family (jar, nupkg, whl, apk, vsix, docx, …).
    Zip,
    /// A tar archive (POSIX or GNU `ustar`, or an old v7 header with a valid checksum).
    Tar,
    /// A gzip stream (one member or several concatenated).
    Gzip,
    /// A bzip2 stream.
    Bzip2,
    /// An xz stream.
    Xz,
    /// A zstd frame.
    Zstd,
}

impl Container {
    /// Whether this is a single compressed stream (its content is one blob, or one tar).
    pub fn is_compression(self) -> bool {
        matches!(self, Container::Gzip | Container::Bzip2 | Container::Xz | Container::Zstd)
    }

    /// The format's short name, e.g. `zip`, `gzip`.
    pub fn name(self) -> &'static str {
        match self {
            Container::Zip => "zip",
            Container::Tar => "tar",
            Container::Gzip => "gzip",
            Container::Bzip2 => "bzip2",
            Container::Xz => "xz",
            Container::Zstd => "zstd",
        }
    }
}

/// Recognises a container from its magic bytes (never from a file name). `None` for anything
/// else, including text and other binary formats.
pub fn classify(bytes: &[u8]) -> Option<Container> {
    if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06") {
        Some(Container::Zip)
    } else if bytes.starts_with(&[0x1f, 0x8b, 0x08]) {
        Some(Container::Gzip)
    } else if is_bzip2(bytes) {
        Some(Container::Bzip2)
    } else if bytes.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0x00]) {
        Some(Container::Xz)
    } else if bytes.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Some(Container::Zstd)
    } else if is_tar(bytes) {
        Some(Container::Tar)
    } else {
        None
    }
}

/// `BZh1`..`BZh9`, then a block (π) or end-of-stream (√π) magic.
fn is_bzip2(b: &[u8]) -> bool {
    const BLOCK: [u8; 6] = [0x31, 0x41, 0x59, 0x26, 0x53, 0x59];
    const END: [u8; 6] = [0x17, 0x72, 0x45, 0x38, 0x50, 0x90];
    b.len() >= 10
        && b.starts_with(b"BZh")
        && (b'1'..=b'9').contains(&b[3])
        && (b[4..10] == BLOCK || b[4..10] == END)
}

/// `ustar` at offset 257, or (old v7 tar, no magic) a first header whose checksum is right.
pub(crate) fn is_tar(b: &[u8]) -> bool {
    if b.len() < 512 {
        return false;
    }
    if &b[257..262] == b"ustar" {
        return true;
    }
    // v7: the checksum field (148..156) holds the octal sum of the header with that field
    // read as spaces. A name must be present and the field must be octal digits.
    let field = &b[148..156];
    let digits: Vec<u8> =
        field.iter().copied().skip_while(|c| *c == b' ').take_while(u8::is_ascii_digit).collect();
    let Some(stored) =
        std::str::from_utf8(&digits).ok().and_then(|s| u32::from_str_radix(s, 8).ok())
    else {
        return false;
    };
    let sum: u32 = b[..512]
        .iter()
        .enumerate()
        .map(|(i, &c)| if (148..156).contains(&i) { u32::from(b' ') } else { u32::from(c) })
        .sum();
    b[0] != 0 && !digits.is_empty() && stored == sum
}

/// One member read out of a container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Member names from the expanded blob down to this member: `["config/app.env"]` for a
    /// member of a zip, `["inner.zip", "app.env"]` for one inside a nested zip. Each is the
    /// name as stored in its archive (`/`-separated for zip and tar; for a compressed stream,
    /// the name in its header or the outer name without `.gz`/`.bz2`/`.xz`/`.zst`), with
    /// control characters and invalid UTF-8 escaped as `\xNN`. Never a filesystem path.
    pub path: Vec<String>,
    /// The member's uncompressed content, at most [`Limits::max_member_size`] bytes.
    pub bytes: Vec<u8>,
}

/// What expansion reports, in archive order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A member that is not itself a container (with [`expand_one`], every member).
    Member(Member),
    /// A member, or the rest of an archive, that was deliberately not read.
    Skipped {
        /// The archive: the origin name, then `!` and the member path for a nested one.
        archive: String,
        /// The member, or `None` when the archive as a whole is stopped.
        member: Option<String>,
        /// Why.
        reason: ArchiveSkip,
    },
    /// A corrupt or truncated archive or member; members before it (and after it, where the
    /// format allows) are still produced.
    Error {
        /// The archive: the origin name, then `!` and the member path for a nested one.
        archive: String,
        /// The member being read, or `None` when the archive's structure is broken.
        member: Option<String>,
        /// What went wrong, from the decoder.
        message: String,
    },
}

impl fmt::Display for Event {
    /// One line: `archive!member: what` (a member's size, a skip reason, an error).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (archive, member) = match self {
            Event::Member(m) => return write!(f, "{}: {} bytes", m.path.join("!"), m.bytes.len()),
            Event::Skipped { archive, member, .. } | Event::Error { archive, member, .. } => {
                (archive, member)
            }
        };
        write!(f, "{archive}")?;
        if let Some(m) = member {
            write!(f, "!{m}")?;
        }
        match self {
            Event::Skipped { reason, .. } => write!(f, ": skipped: {reason}"),
            Event::Error { message, .. } => write!(f, ": error: {message}"),
            Event::Member(_) => Ok(()),
        }
    }
}

/// Expands `bytes` if it is a container, recursively to [`Limits::max_depth`], handing each
/// member that is not itself a container to `sink` as it is read (members are never all held
/// at once: memory is about one member per nesting level). `origin` names the blob in
/// messages (e.g. `artifacts/release.zip`); it is never opened. Nothing happens for a blob that
/// is not a container.
pub fn expand(
    bytes: &[u8],
    origin: &str,
    limits: &Limits,
    budget: &Budget,
    sink: &mut dyn FnMut(Event),
) {
    let name = origin.rsplit(['/', '\\']).next().unwrap_or(origin);
    walk(bytes, origin, name, limits, budget, true, sink);
}

/// [`expand`], with the blob's own file name given apart from the `origin` that messages use
/// (`3f2a9c1:logs/app.log.zst` is named `app.log.zst`): a compressed stream's member is named
/// after it (`app.log`).
pub fn expand_named(
    bytes: &[u8],
    origin: &str,
    name: &str,
    limits: &Limits,
    budget: &Budget,
    sink: &mut dyn FnMut(Event),
) {
    walk(bytes, origin, name, limits, budget, true, sink);
}

/// Expands one level: every member of the container `bytes`, including members that are
/// containers themselves, goes to `sink`, for a caller that recurses on its own (and then
/// tracks [`Limits::max_depth`] itself). A compressed tar is still one level.
pub fn expand_one(
    bytes: &[u8],
    origin: &str,
    limits: &Limits,
    budget: &Budget,
    sink: &mut dyn FnMut(Event),
) {
    let name = origin.rsplit(['/', '\\']).next().unwrap_or(origin);
    walk(bytes, origin, name, limits, budget, false, sink);
}

fn walk(
    bytes: &[u8],
    origin: &str,
    name: &str,
    limits: &Limits,
    budget: &Budget,
    recurse: bool,
    sink: &mut dyn FnMut(Event),
) {
    let Some(container) = classify(bytes) else { return };
    let mut walker = Walker { origin, limits, budget, recurse, sink };
    if limits.max_depth == 0 {
        let reason = ArchiveSkip::DepthLimit { max_depth: 0 };
        (walker.sink)(Event::Skipped { archive: origin.to_owned(), member: None, reason });
        return;
    }
    walker.open(container, bytes, name, &[], 0);
}

/// Whether a format reader goes on with the next member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flow {
    Continue,
    Stop,
}

/// What a format reader reports for one archive (names relative to that archive).
pub(crate) enum Item {
    Member { name: String, bytes: Vec<u8> },
    Skipped { member: Option<String>, reason: ArchiveSkip },
    Error { member: Option<String>, message: String },
}

struct Walker<'s> {
    origin: &'s str,
    limits: &'s Limits,
    budget: &'s Budget,
    recurse: bool,
    sink: &'s mut dyn FnMut(Event),
}

impl Walker<'_> {
    /// Opens the container at `path` (member names below the origin), whose members are at
    /// `depth + 1`.
    fn open(
        &mut self,
        container: Container,
        bytes: &[u8],
        name: &str,
        path: &[String],
        depth: usize,
    ) -> Flow {
        let label = label(self.origin, path);
        let meter = Meter::new(self.limits, self.budget);
        if let Err(reason) = meter.check_budget() {
            (self.sink)(Event::Skipped { archive: label, member: None, reason });
            return Flow::Stop;
        }
        let mut on_item = |item: Item| self.item(item, &label, path, depth + 1);
        archive::read(container, bytes, name, &meter, &mut on_item);
        if self.budget.is_exhausted() { Flow::Stop } else { Flow::Continue }
    }

    fn item(&mut self, item: Item, label: &str, path: &[String], depth: usize) -> Flow {
        match item {
            Item::Member { name, bytes } => {
                let mut member_path = path.to_vec();
                member_path.push(name);
                match classify(&bytes).filter(|_| self.recurse) {
                    None => {
                        (self.sink)(Event::Member(Member { path: member_path, bytes }));
                        Flow::Continue
                    }
                    Some(_) if depth >= self.limits.max_depth => {
                        let reason = ArchiveSkip::DepthLimit { max_depth: self.limits.max_depth };
                        let member = member_path.pop();
                        (self.sink)(Event::Skipped { archive: label.to_owned(), member, reason });
                        Flow::Continue
                    }
                    Some(inner) => {
                        let name = member_path.last().cloned().unwrap_or_default();
                        let base = name.rsplit(['/', '\\']).next().unwrap_or(&name).to_owned();
                        self.open(inner, &bytes, &base, &member_path, depth)
                    }
                }
            }
            Item::Skipped { member, reason } => {
                (self.sink)(Event::Skipped { archive: label.to_owned(), member, reason });
                if self.budget.is_exhausted() { Flow::Stop } else { Flow::Continue }
            }
            Item::Error { member, message } => {
                (self.sink)(Event::Error { archive: label.to_owned(), member, message });
                Flow::Continue
            }
        }
    }
}

/// `origin!a.zip!b.zip`: how messages name an archive.
fn label(origin: &str, path: &[String]) -> String {
    let mut s = origin.to_owned();
    for p in path {
        s.push('!');
        s.push_str(p);
    }
    s
}

/// A stored member name as text: valid UTF-8 is kept (`..`, leading `/` and all), control
/// characters and bytes that are not UTF-8 become `\xNN`.
pub fn member_name(raw: &[u8]) -> String {
    let mut out = String::with_capacity(raw.len());
    for chunk in raw.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c.is_control() && (c as u32) < 0x100 {
                out.push_str(&format!("\\x{:02X}", c as u32));
            } else {
                out.push(c);
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classify_by_magic_not_name() {
        assert_eq!(classify(b"PK\x03\x04rest"), Some(Container::Zip));
        assert_eq!(classify(b"PK\x05\x06\0\0\0\0"), Some(Container::Zip));
        assert_eq!(classify(&[0x1f, 0x8b, 8, 0]), Some(Container::Gzip));
        assert_eq!(classify(b"BZh91AY&SYxx"), Some(Container::Bzip2));
        assert_eq!(classify(b"BZh9 not bzip2"), None);
        assert_eq!(classify(&[0xfd, b'7', b'z', b'X', b'Z', 0, 0]), Some(Container::Xz));
        assert_eq!(classify(&[0x28, 0xb5, 0x2f, 0xfd, 0]), Some(Container::Zstd));
        assert_eq!(classify(b"PK is not enough"), None);
        assert_eq!(classify(b"plain text"), None);
        assert_eq!(classify(&[0u8; 1024]), None);
    }

    #[test]
    fn classify_tar_ustar_and_v7() {
        let mut header = tar::Header::new_gnu();
        header.set_path("a.txt").unwrap();
        header.set_size(0);
        header.set_cksum();
        let mut bytes = header.as_bytes().to_vec();
        bytes.extend_from_slice(&[0; 1024]);
        assert_eq!(classify(&bytes), Some(Container::Tar));

        let mut old = tar::Header::new_old();
        old.set_path("a.txt").unwrap();
        old.set_size(0);
        old.set_cksum();
        let mut bytes = old.as_bytes().to_vec();
        bytes.extend_from_slice(&[0; 1024]);
        assert_eq!(classify(&bytes), Some(Container::Tar));
        bytes[0] = b'b'; // checksum now wrong
        assert_eq!(classify(&bytes), None);
    }

    #[test]
    fn member_names_are_escaped_not_cleaned() {
        assert_eq!(member_name(b"../../etc/passwd"), "../../etc/passwd");
        assert_eq!(member_name(b"/abs/path"), "/abs/path");
        assert_eq!(member_name(b"a\x1b[31mb\n"), "a\\x1B[31mb\\x0A");
        assert_eq!(member_name(b"caf\xc3\xa9 \xff.txt"), "café \\xFF.txt");
    }

    #[test]
    fn event_display_names_archive_and_member() {
        let e = Event::Skipped {
            archive: "a.zip!b.zip".into(),
            member: Some("c.txt".into()),
            reason: ArchiveSkip::Encrypted,
        };
        assert_eq!(e.to_string(), "a.zip!b.zip!c.txt: skipped: encrypted");
        let e = Event::Error { archive: "a.gz".into(), member: None, message: "truncated".into() };
        assert_eq!(e.to_string(), "a.gz: error: truncated");
    }
}
