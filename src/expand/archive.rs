//! The format readers: zip, tar and the single-stream compressions (gzip, bzip2, xz, zstd).
//!
//! Each reader walks one archive held in memory and reports its members, skips and errors as
//! [`Item`]s, one at a time, through a callback that may stop it. Every decompressed byte goes
//! through a [`Guarded`] reader, so the limits in [`super::limit`] hold whatever the archive
//! claims about itself. Nesting, depth and naming relative to the origin belong to the caller
//! (`super::Walker`).

use std::io::{self, Cursor, Read};

use zip::CompressionMethod;

use super::limit::{self, ArchiveSkip, Counting, Guarded, Meter, ReadFail};
use super::{Container, Flow, Item, is_tar, member_name};

/// Largest dictionary an xz stream may ask for (xz `-9` needs 64 MiB).
const XZ_MEM_LIMIT_KIB: u32 = 100 << 10;

/// Reads the archive `bytes` (recognised as `container`, named `name`, the last element of its
/// path) and reports each member through `on`.
pub(crate) fn read(
    container: Container,
    bytes: &[u8],
    name: &str,
    meter: &Meter<'_>,
    on: &mut dyn FnMut(Item) -> Flow,
) {
    match container {
        Container::Zip => read_zip(bytes, meter, on),
        Container::Tar => {
            read_tar(Guarded::new(bytes, meter, None), meter, on);
        }
        Container::Gzip => {
            let (input, consumed) = Counting::new(bytes);
            let gz = flate2::read::MultiGzDecoder::new(input);
            let header_name = |d: &flate2::read::MultiGzDecoder<Counting<&[u8]>>| {
                d.header().and_then(|h| h.filename()).map(member_name)
            };
            read_stream(gz, consumed, header_name, container, name, meter, on);
        }
        Container::Bzip2 => {
            let (input, consumed) = Counting::new(bytes);
            let bz = bzip2::read::MultiBzDecoder::new(input);
            read_stream(bz, consumed, |_| None, container, name, meter, on);
        }
        Container::Xz => {
            let (input, consumed) = Counting::new(bytes);
            let xz = lzma_rust2::XzReader::new_mem_limit(input, true, XZ_MEM_LIMIT_KIB);
            read_stream(xz, consumed, |_| None, container, name, meter, on);
        }
        Container::Zstd => {
            let (input, consumed) = Counting::new(bytes);
            match ruzstd::decoding::StreamingDecoder::new(input) {
                Ok(zst) => read_stream(zst, consumed, |_| None, container, name, meter, on),
                Err(e) => {
                    on(Item::Error { member: None, message: format!("zstd: {e}") });
                }
            }
        }
    }
}

/// Turns a failed read into the item to report: the limit that tripped, or the decoder's error.
/// Anything decoded before an error is handed on first, so a truncated log is still scanned.
/// Hands a member read in full to `on`, or reports why it was not: a limit skips the member
/// (and stops the archive if the limit says so); a read error stops the archive.
fn deliver(
    read: Result<Vec<u8>, ReadFail>,
    name: String,
    meter: &Meter<'_>,
    on: &mut dyn FnMut(Item) -> Flow,
) -> Flow {
    match read {
        Ok(bytes) => on(Item::Member { name, bytes }),
        Err(fail @ ReadFail::Limit(_)) => report_fail(fail, &name, meter, on),
        Err(fail @ ReadFail::Io { .. }) => {
            report_fail(fail, &name, meter, on);
            Flow::Stop
        }
    }
}

fn report_fail(
    fail: ReadFail,
    member: &str,
    meter: &Meter<'_>,
    on: &mut dyn FnMut(Item) -> Flow,
) -> Flow {
    let member = Some(member.to_owned());
    match fail {
        ReadFail::Limit(reason) => {
            meter.take_tripped();
            on(Item::Skipped { member, reason });
            if reason.stops_archive() { Flow::Stop } else { Flow::Continue }
        }
        ReadFail::Io { error, partial } => {
            if let Some(reason) = meter.take_tripped() {
                on(Item::Skipped { member, reason });
                return if reason.stops_archive() { Flow::Stop } else { Flow::Continue };
            }
            if !partial.is_empty()
                && on(Item::Member { name: member.clone().unwrap_or_default(), bytes: partial })
                    == Flow::Stop
            {
                return Flow::Stop;
            }
            on(Item::Error { member, message: error.to_string() })
        }
    }
}

/// A single compressed stream: its content is one member, unless it is a tar, which is then
/// read in place (a `.tar.gz` is one archive, its members streamed straight out of the
/// decoder).
fn read_stream<D: Read>(
    decoder: D,
    consumed: std::rc::Rc<std::cell::Cell<u64>>,
    header_name: impl Fn(&D) -> Option<String>,
    container: Container,
    name: &str,
    meter: &Meter<'_>,
    on: &mut dyn FnMut(Item) -> Flow,
) {
    let mut guarded = Guarded::new(decoder, meter, Some(consumed));
    let mut head = Vec::with_capacity(512);
    let peeked = (&mut guarded).take(512).read_to_end(&mut head);
    let inner = header_name(guarded.get_ref()).unwrap_or_else(|| inner_name(name, container));
    if let Err(error) = peeked {
        report_fail(ReadFail::Io { error, partial: head }, &inner, meter, on);
        return;
    }
    let mut stream = Cursor::new(head).chain(guarded);
    if is_tar(stream.get_ref().0.get_ref()) {
        read_tar(stream, meter, on);
        return;
    }
    match limit::read_member(&mut stream, meter.limits) {
        Ok(bytes) => {
            on(Item::Member { name: inner, bytes });
        }
        Err(fail) => {
            report_fail(fail, &inner, meter, on);
        }
    }
}

/// The name of a compressed stream's content when its header has none: the outer name without
/// its suffix (`app.log.gz` → `app.log`, `backup.tgz` → `backup.tar`).
pub(crate) fn inner_name(outer: &str, container: Container) -> String {
    let suffixes: &[(&str, &str)] = match container {
        Container::Gzip => &[(".tgz", ".tar"), (".gz", ""), (".gzip", "")],
        Container::Bzip2 => &[(".tbz2", ".tar"), (".tbz", ".tar"), (".bz2", "")],
        Container::Xz => &[(".txz", ".tar"), (".xz", "")],
        Container::Zstd => &[(".tzst", ".tar"), (".zst", ""), (".zstd", "")],
        Container::Zip | Container::Tar => &[],
    };
    let lower = outer.to_ascii_lowercase();
    for (suffix, replacement) in suffixes {
        if lower.ends_with(suffix) && lower.len() > suffix.len() {
            return format!("{}{replacement}", &outer[..outer.len() - suffix.len()]);
        }
    }
    outer.to_owned()
}

/// A tar stream: regular files become members; directories, links and devices are passed
/// over. Header errors end the archive (a tar has no index to resume from).
fn read_tar<R: Read>(reader: R, meter: &Meter<'_>, on: &mut dyn FnMut(Item) -> Flow) {
    let limits = meter.limits;
    let mut archive = tar::Archive::new(reader);
    let entries = match archive.entries() {
        Ok(entries) => entries,
        Err(e) => {
            on(Item::Error { member: None, message: format!("tar: {e}") });
            return;
        }
    };
    let mut count = 0u64;
    for entry in entries {
        let mut entry = match entry {
            Ok(entry) => entry,
            Err(e) => {
                match meter.take_tripped().or_else(|| limit::limit_of(&e)) {
                    Some(reason) => on(Item::Skipped { member: None, reason }),
                    None => on(Item::Error { member: None, message: format!("tar: {e}") }),
                };
                return;
            }
        };
        count += 1;
        if count > limits.max_entries {
            let reason = ArchiveSkip::EntryLimit { max_entries: limits.max_entries };
            on(Item::Skipped { member: None, reason });
            return;
        }
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let name = member_name(&entry.path_bytes());
        let size = entry.size();
        if size > limits.max_member_size {
            let reason = ArchiveSkip::MemberTooLarge { size, limit: limits.max_member_size };
            if on(Item::Skipped { member: Some(name), reason }) == Flow::Stop {
                return;
            }
            continue;
        }
        if deliver(limit::read_member(&mut entry, limits), name, meter, on) == Flow::Stop {
            return;
        }
    }
}

/// The entry count in a zip's end-of-central-directory record, unless it says "see zip64".
fn eocd_entries(bytes: &[u8]) -> Option<u64> {
    let from = bytes.len().saturating_sub(22 + 0xffff);
    let at = memchr::memmem::rfind(&bytes[from..], b"PK\x05\x06")? + from;
    let rec = bytes.get(at..at + 22)?;
    let total = u16::from_le_bytes([rec[10], rec[11]]);
    (total != 0xffff).then_some(u64::from(total))
}

/// The zip compression method number.
fn method_number(method: CompressionMethod) -> u16 {
    #[allow(deprecated)]
    method.to_u16()
}

/// Method numbers `zip` decodes with the features azleak builds it with (zstd, 93, is decoded
/// here with `ruzstd` from the raw data).
#[allow(deprecated)]
fn zip_decodes(method: CompressionMethod) -> bool {
    !matches!(method, CompressionMethod::Unsupported(_))
}

const ZIP_ZSTD: u16 = 93;

/// A zip through its central directory; when that is missing or broken (a truncated
/// download), the members are read from their local headers instead, as far as they go.
fn read_zip(bytes: &[u8], meter: &Meter<'_>, on: &mut dyn FnMut(Item) -> Flow) {
    let limits = meter.limits;
    let entry_limit = ArchiveSkip::EntryLimit { max_entries: limits.max_entries };
    if eocd_entries(bytes).is_some_and(|n| n > limits.max_entries) {
        on(Item::Skipped { member: None, reason: entry_limit });
        return;
    }
    let (input, consumed) = Counting::new(Cursor::new(bytes));
    let mut zip = match zip::ZipArchive::new(input) {
        Ok(zip) => zip,
        Err(e) => {
            let message = format!("zip central directory: {e}; reading members from local headers");
            if on(Item::Error { member: None, message }) == Flow::Continue {
                read_zip_stream(bytes, meter, on);
            }
            return;
        }
    };
    if zip.len() as u64 > limits.max_entries {
        on(Item::Skipped { member: None, reason: entry_limit });
        return;
    }
    for i in 0..zip.len() {
        let meta = zip.by_index_raw(i).map(|f| {
            (member_name(f.name_raw()), f.encrypted(), f.compression(), f.size(), f.is_dir())
        });
        let (name, encrypted, method, size, is_dir) = match meta {
            Ok(meta) => meta,
            Err(e) => {
                let member = zip.name_for_index(i).map(|n| member_name(n.as_bytes()));
                if on(Item::Error { member, message: e.to_string() }) == Flow::Stop {
                    return;
                }
                continue;
            }
        };
        if is_dir {
            continue;
        }
        let skip = if encrypted {
            Some(ArchiveSkip::Encrypted)
        } else if !zip_decodes(method) && method_number(method) != ZIP_ZSTD {
            Some(ArchiveSkip::UnsupportedMethod { method: method_number(method) })
        } else if size > limits.max_member_size {
            Some(ArchiveSkip::MemberTooLarge { size, limit: limits.max_member_size })
        } else {
            None
        };
        if let Some(reason) = skip {
            if on(Item::Skipped { member: Some(name), reason }) == Flow::Stop {
                return;
            }
            continue;
        }
        consumed.set(0);
        let io_fail = |error: io::Error| ReadFail::Io { error, partial: Vec::new() };
        let read = if zip_decodes(method) {
            match zip.by_index(i) {
                Ok(f) => {
                    limit::read_member(&mut Guarded::new(f, meter, Some(consumed.clone())), limits)
                }
                Err(e) => Err(io_fail(e.into())),
            }
        } else {
            match zip.by_index_raw(i).map(ruzstd::decoding::StreamingDecoder::new) {
                Ok(Ok(zst)) => limit::read_member(
                    &mut Guarded::new(zst, meter, Some(consumed.clone())),
                    limits,
                ),
                Ok(Err(e)) => {
                    Err(io_fail(io::Error::new(io::ErrorKind::InvalidData, format!("zstd: {e}"))))
                }
                Err(e) => Err(io_fail(e.into())),
            }
        };
        let flow = match read {
            Ok(bytes) => on(Item::Member { name, bytes }),
            Err(fail) => report_fail(fail, &name, meter, on),
        };
        if flow == Flow::Stop {
            return;
        }
    }
}

/// Members read one after another from their local headers, for a zip without a usable
/// central directory. Stops at the first member that cannot be delimited.
fn read_zip_stream(bytes: &[u8], meter: &Meter<'_>, on: &mut dyn FnMut(Item) -> Flow) {
    let limits = meter.limits;
    let (mut input, consumed) = Counting::new(bytes);
    let mut count = 0u64;
    loop {
        consumed.set(0);
        let mut file = match zip::read::read_zipfile_from_stream(&mut input) {
            Ok(Some(file)) => file,
            Ok(None) => return,
            Err(e) => {
                on(Item::Error { member: None, message: format!("zip local header: {e}") });
                return;
            }
        };
        count += 1;
        if count > limits.max_entries {
            let reason = ArchiveSkip::EntryLimit { max_entries: limits.max_entries };
            on(Item::Skipped { member: None, reason });
            return;
        }
        if file.is_dir() {
            continue;
        }
        let name = member_name(file.name_raw());
        if file.size() > limits.max_member_size {
            let reason =
                ArchiveSkip::MemberTooLarge { size: file.size(), limit: limits.max_member_size };
            if on(Item::Skipped { member: Some(name), reason }) == Flow::Stop {
                return;
            }
            continue;
        }
        let read =
            limit::read_member(&mut Guarded::new(&mut file, meter, Some(consumed.clone())), limits);
        drop(file);
        if deliver(read, name, meter, on) == Flow::Stop {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inner_names_drop_the_compression_suffix() {
        assert_eq!(inner_name("app.log.gz", Container::Gzip), "app.log");
        assert_eq!(inner_name("backup.TGZ", Container::Gzip), "backup.tar");
        assert_eq!(inner_name("a.tar.bz2", Container::Bzip2), "a.tar");
        assert_eq!(inner_name("a.txz", Container::Xz), "a.tar");
        assert_eq!(inner_name("dump.zst", Container::Zstd), "dump");
        assert_eq!(inner_name("noext", Container::Gzip), "noext");
        assert_eq!(inner_name(".gz", Container::Gzip), ".gz");
    }
}
