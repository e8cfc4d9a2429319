//! Bomb and abuse limits for archive expansion: the per-archive [`Limits`], the run-wide
//! [`Budget`], and the metering reader that enforces both while bytes are decompressed.
//!
//! Every decompressed byte passes through a [`Guarded`] reader, which charges it to the
//! archive's running total and to the run's budget, and checks the compression ratio, before the
//! caller sees it. A limit that trips is recorded as an [`ArchiveSkip`] and surfaces as an I/O
//! error of the reader, so a decoder or the tar reader stops at once; memory never grows past the
//! limit plus one read chunk. This module knows nothing of archive formats.

use std::cell::Cell;
use std::fmt;
use std::io::{self, Read};
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Per-archive limits. The defaults suit a scan whose largest file is 100 MiB.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// How deep archives nest: members of the scanned blob are at depth 1, members of an
    /// archive inside it at depth 2, and so on. A container found at this depth is reported as
    /// [`ArchiveSkip::DepthLimit`] instead of opened. A `.tar.gz` counts once. Default 3.
    pub max_depth: usize,
    /// Most members read from one archive (directories included). Default 100 000.
    pub max_entries: u64,
    /// Largest member, uncompressed, in bytes. Default 100 MiB (azleak's `--max-file-size`).
    pub max_member_size: u64,
    /// Most bytes decompressed from one archive, all members together. Default 1 GiB.
    pub max_archive_total: u64,
    /// Largest compression ratio (uncompressed : compressed) a member may reach once it is
    /// larger than [`Limits::ratio_floor`]. Default 100.
    pub max_ratio: u64,
    /// Size below which the ratio is not checked, so small, very repetitive files pass.
    /// Default 1 MiB.
    pub ratio_floor: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: 3,
            max_entries: 100_000,
            max_member_size: 100 << 20,
            max_archive_total: 1 << 30,
            max_ratio: 100,
            ratio_floor: 1 << 20,
        }
    }
}

/// The run-wide budget of decompressed bytes, shared by every archive a run expands (at any
/// depth, on any thread). Once spent, every further expansion stops with
/// [`ArchiveSkip::BudgetExhausted`].
#[derive(Debug)]
pub struct Budget {
    limit: u64,
    used: AtomicU64,
}

impl Budget {
    /// The default run budget: 4 GiB of decompressed bytes.
    pub const DEFAULT: u64 = 4 << 30;

    /// A budget of `limit` decompressed bytes.
    pub fn new(limit: u64) -> Self {
        Budget { limit, used: AtomicU64::new(0) }
    }

    /// The budget's size in bytes.
    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// Bytes charged so far (may exceed the limit by the last refused charge's size).
    pub fn used(&self) -> u64 {
        self.used.load(Ordering::Relaxed)
    }

    /// Whether nothing is left.
    pub fn is_exhausted(&self) -> bool {
        self.used() >= self.limit
    }

    /// Charges `n` bytes; `false` when that goes past the limit (the budget is then spent).
    fn charge(&self, n: u64) -> bool {
        let before = self.used.fetch_add(n, Ordering::Relaxed);
        before.saturating_add(n) <= self.limit
    }
}

impl Default for Budget {
    fn default() -> Self {
        Budget::new(Budget::DEFAULT)
    }
}

/// Why an archive or one of its members was not expanded. Every variant carries the numbers a
/// user needs to raise the right limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ArchiveSkip {
    /// The member is encrypted; azleak has no password.
    Encrypted,
    /// The member uses a compression method azleak cannot decode (the zip method number).
    UnsupportedMethod {
        /// The zip compression method, e.g. 6 (implode) or 98 (PPMd).
        method: u16,
    },
    /// The member is itself an archive, at the depth limit.
    DepthLimit {
        /// The limit in force.
        max_depth: usize,
    },
    /// The archive has more members than allowed; the rest were not read.
    EntryLimit {
        /// The limit in force.
        max_entries: u64,
    },
    /// The member is larger than allowed.
    MemberTooLarge {
        /// Its size as declared, or as far as it was read (then `limit + 1`).
        size: u64,
        /// The limit in force.
        limit: u64,
    },
    /// The member decompresses more than `max_ratio` times its compressed size.
    RatioLimit {
        /// Bytes decompressed when it tripped.
        uncompressed: u64,
        /// Compressed bytes consumed by then.
        compressed: u64,
        /// The limit in force.
        max_ratio: u64,
    },
    /// The archive as a whole decompressed more than allowed; the rest was not read.
    ArchiveTotalLimit {
        /// The limit in force.
        limit: u64,
    },
    /// The run-wide budget is spent; no more archives are expanded in this run.
    BudgetExhausted {
        /// The budget's size.
        limit: u64,
    },
}

impl ArchiveSkip {
    /// A short, stable name for the kind, for JSON and counting: `encrypted`,
    /// `unsupported-method`, `depth-limit`, `entry-limit`, `member-too-large`, `ratio-limit`,
    /// `archive-total-limit`, `budget-exhausted`.
    pub fn kind(&self) -> &'static str {
        match self {
            ArchiveSkip::Encrypted => "encrypted",
            ArchiveSkip::UnsupportedMethod { .. } => "unsupported-method",
            ArchiveSkip::DepthLimit { .. } => "depth-limit",
            ArchiveSkip::EntryLimit { .. } => "entry-limit",
            ArchiveSkip::MemberTooLarge { .. } => "member-too-large",
            ArchiveSkip::RatioLimit { .. } => "ratio-limit",
            ArchiveSkip::ArchiveTotalLimit { .. } => "archive-total-limit",
            ArchiveSkip::BudgetExhausted { .. } => "budget-exhausted",
        }
    }

    /// Whether this stops the whole archive (rather than one member).
    pub fn stops_archive(&self) -> bool {
        matches!(
            self,
            ArchiveSkip::EntryLimit { .. }
                | ArchiveSkip::ArchiveTotalLimit { .. }
                | ArchiveSkip::BudgetExhausted { .. }
        )
    }
}

impl fmt::Display for ArchiveSkip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ArchiveSkip::Encrypted => write!(f, "encrypted"),
            ArchiveSkip::UnsupportedMethod { method } => {
                write!(f, "unsupported compression method {method}")
            }
            ArchiveSkip::DepthLimit { max_depth } => {
                write!(f, "nested archive beyond the depth limit of {max_depth}")
            }
            ArchiveSkip::EntryLimit { max_entries } => {
                write!(f, "more than {max_entries} entries; the rest were not read")
            }
            ArchiveSkip::MemberTooLarge { size, limit } => {
                write!(f, "member of {size} bytes is larger than the limit of {limit} bytes")
            }
            ArchiveSkip::RatioLimit { uncompressed, compressed, max_ratio } => write!(
                f,
                "compression ratio over {max_ratio}:1 ({uncompressed} bytes from {compressed})"
            ),
            ArchiveSkip::ArchiveTotalLimit { limit } => {
                write!(f, "archive decompresses to more than {limit} bytes; the rest was not read")
            }
            ArchiveSkip::BudgetExhausted { limit } => {
                write!(f, "run budget of {limit} decompressed bytes exhausted")
            }
        }
    }
}

/// What one archive has used of its limits, shared by the readers of its members.
#[derive(Debug)]
pub(crate) struct Meter<'a> {
    pub(crate) limits: &'a Limits,
    budget: &'a Budget,
    total: Cell<u64>,
    tripped: Cell<Option<ArchiveSkip>>,
}

impl<'a> Meter<'a> {
    pub(crate) fn new(limits: &'a Limits, budget: &'a Budget) -> Self {
        Meter { limits, budget, total: Cell::new(0), tripped: Cell::new(None) }
    }

    /// The limit that stopped a reader of this archive, once one has (taken, so it is
    /// reported once).
    pub(crate) fn take_tripped(&self) -> Option<ArchiveSkip> {
        self.tripped.take()
    }

    /// Refuses work once the run budget is spent.
    pub(crate) fn check_budget(&self) -> Result<(), ArchiveSkip> {
        if self.budget.is_exhausted() {
            Err(ArchiveSkip::BudgetExhausted { limit: self.budget.limit() })
        } else {
            Ok(())
        }
    }

    /// Charges `n` decompressed bytes to the archive and the run.
    fn charge(&self, n: u64) -> Result<(), ArchiveSkip> {
        let total = self.total.get() + n;
        self.total.set(total);
        if total > self.limits.max_archive_total {
            return Err(ArchiveSkip::ArchiveTotalLimit { limit: self.limits.max_archive_total });
        }
        if !self.budget.charge(n) {
            return Err(ArchiveSkip::BudgetExhausted { limit: self.budget.limit() });
        }
        Ok(())
    }

    fn trip(&self, skip: ArchiveSkip) -> io::Error {
        self.tripped.set(Some(skip));
        io::Error::other(LimitError(skip))
    }
}

/// The I/O error a [`Guarded`] reader returns when a limit trips.
#[derive(Debug)]
pub(crate) struct LimitError(pub(crate) ArchiveSkip);

impl fmt::Display for LimitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for LimitError {}

/// The limit behind an I/O error, if a [`Guarded`] reader raised it (possibly wrapped by a
/// decoder or the tar reader).
pub(crate) fn limit_of(err: &io::Error) -> Option<ArchiveSkip> {
    let mut source: Option<&(dyn std::error::Error + 'static)> =
        err.get_ref().map(|e| e as &(dyn std::error::Error + 'static));
    while let Some(e) = source {
        if let Some(LimitError(skip)) = e.downcast_ref::<LimitError>() {
            return Some(*skip);
        }
        source = e.source();
    }
    None
}

/// Counts the compressed bytes a decoder has pulled from its input.
#[derive(Debug)]
pub(crate) struct Counting<R> {
    inner: R,
    count: Rc<Cell<u64>>,
}

impl<R> Counting<R> {
    pub(crate) fn new(inner: R) -> (Self, Rc<Cell<u64>>) {
        let count = Rc::new(Cell::new(0));
        (Counting { inner, count: Rc::clone(&count) }, count)
    }
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.set(self.count.get() + n as u64);
        Ok(n)
    }
}

impl<R: io::Seek> io::Seek for Counting<R> {
    fn seek(&mut self, pos: io::SeekFrom) -> io::Result<u64> {
        self.inner.seek(pos)
    }
}

/// A decompressed stream that charges every byte to its archive's [`Meter`] and checks the
/// compression ratio against the compressed bytes consumed (`consumed`, from a [`Counting`]
/// input the caller resets before the member's header is read, so decoders that read the
/// header and fill a buffer on construction are counted; `None` for uncompressed data).
pub(crate) struct Guarded<'m, 'a, R> {
    inner: R,
    meter: &'m Meter<'a>,
    consumed: Option<Rc<Cell<u64>>>,
    produced: u64,
}

impl<'m, 'a, R: Read> Guarded<'m, 'a, R> {
    pub(crate) fn new(inner: R, meter: &'m Meter<'a>, consumed: Option<Rc<Cell<u64>>>) -> Self {
        Guarded { inner, meter, consumed, produced: 0 }
    }
}

impl<R> Guarded<'_, '_, R> {
    /// The decoder inside.
    pub(crate) fn get_ref(&self) -> &R {
        &self.inner
    }
}

impl<R: Read> Read for Guarded<'_, '_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.produced += n as u64;
        if let Err(skip) = self.meter.charge(n as u64) {
            return Err(self.meter.trip(skip));
        }
        let limits = self.meter.limits;
        if let Some(consumed) = &self.consumed
            && self.produced > limits.ratio_floor
        {
            let compressed = consumed.get().max(1);
            if self.produced / compressed > limits.max_ratio {
                let skip = ArchiveSkip::RatioLimit {
                    uncompressed: self.produced,
                    compressed,
                    max_ratio: limits.max_ratio,
                };
                return Err(self.meter.trip(skip));
            }
        }
        Ok(n)
    }
}

/// Why reading one member stopped.
#[derive(Debug)]
pub(crate) enum ReadFail {
    /// A limit tripped.
    Limit(ArchiveSkip),
    /// The data is corrupt or truncated; `partial` holds what was decoded before.
    Io {
        /// The decoder's error.
        error: io::Error,
        /// The bytes decoded before it.
        partial: Vec<u8>,
    },
}

/// Reads one whole member from `reader` (already [`Guarded`]), refusing one larger than
/// `max_member_size`: at most `max_member_size + 1` bytes are ever held.
pub(crate) fn read_member(reader: &mut dyn Read, limits: &Limits) -> Result<Vec<u8>, ReadFail> {
    const CHUNK: usize = 64 << 10;
    let cap = limits.max_member_size;
    let mut out = Vec::new();
    loop {
        let room = (cap + 1).saturating_sub(out.len() as u64);
        if room == 0 {
            return Err(ReadFail::Limit(ArchiveSkip::MemberTooLarge {
                size: out.len() as u64,
                limit: cap,
            }));
        }
        let want = CHUNK.min(usize::try_from(room).unwrap_or(CHUNK));
        let start = out.len();
        if out.capacity() < start + want {
            // Grow by doubling, but never past the limit: a bomb allocates at most `cap + 1`.
            let ceiling = usize::try_from(cap + 1).unwrap_or(usize::MAX);
            let target = (out.capacity() * 2).max(start + want).min(ceiling);
            out.reserve_exact(target - start);
        }
        out.resize(start + want, 0);
        match reader.read(&mut out[start..]) {
            Ok(0) => {
                out.truncate(start);
                return Ok(out);
            }
            Ok(n) => out.truncate(start + n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => out.truncate(start),
            Err(error) => {
                out.truncate(start);
                return Err(match limit_of(&error) {
                    Some(skip) => ReadFail::Limit(skip),
                    None => ReadFail::Io { error, partial: out },
                });
            }
        }
    }
}
