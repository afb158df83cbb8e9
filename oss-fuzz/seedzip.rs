//! Seed-corpus archives for oss-fuzz/build.sh, with nothing but rustc.
//!
//! OSS-Fuzz wants `<target>_seed_corpus.zip` next to each fuzzer: a flat
//! zip of the seeds. The builder image has `zip`, but a developer machine
//! or a fresh CI runner may not, and the local run must also unpack the
//! archives it made. This single file, compiled by build.sh with `rustc`
//! (no crates, so no network and no Cargo.lock), writes and reads the
//! archives itself.
//!
//! The archives are "stored" (no compression: the seeds are a few KiB)
//! and deterministic: entries in the order given, a fixed 1980-01-01
//! timestamp, no extra fields, so the same seeds give the same bytes on
//! every machine. `extract` reads only archives of that kind (flat names,
//! stored, unencrypted) and checks every CRC.
//!
//! usage: seedzip create <archive.zip> <file>...   entries named by base name
//!        seedzip extract <archive.zip> <dir>      into an existing directory
//!
//! Exit status: 0 done, 1 an error (named on stderr), 2 usage error.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

const LOCAL_HEADER: u32 = 0x0403_4b50;
const CENTRAL_HEADER: u32 = 0x0201_4b50;
const END_OF_CENTRAL_DIR: u32 = 0x0605_4b50;
/// 1980-01-01 in MS-DOS date format (the earliest a zip can record).
const DOS_DATE: u16 = (1 << 5) | 1;
/// Version 1.0 of the format is enough for stored entries.
const VERSION_NEEDED: u16 = 10;
/// Made by: Unix (3), format 2.0, so that the external attributes below
/// are read as Unix permissions.
const VERSION_MADE_BY: u16 = (3 << 8) | 20;
/// A regular file, rw-r--r--.
const EXTERNAL_ATTRS: u32 = 0o100_644 << 16;
/// General-purpose flag bit 11: the name is UTF-8.
const FLAG_UTF8: u16 = 1 << 11;
const USAGE: &str =
    "usage: seedzip create <archive.zip> <file>...\n       seedzip extract <archive.zip> <dir>";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.as_slice() {
        [cmd, archive, files @ ..] if cmd == "create" => create(Path::new(archive), files),
        [cmd, archive, dir] if cmd == "extract" => extract(Path::new(archive), Path::new(dir)),
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("seedzip: {e}");
            ExitCode::FAILURE
        }
    }
}

/// CRC-32 (IEEE, reflected), as zip records it. Bitwise: the seeds are
/// small, and a table would be more code to get wrong.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn put16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

/// A name an archive entry may have: one path component, so that
/// extracting can never write outside its directory.
fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name == "." || name == ".." || name.contains(['/', '\\', '\0']) {
        return Err(format!("`{name}` is not a plain file name"));
    }
    Ok(())
}

fn create(archive: &Path, files: &[String]) -> Result<(), String> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    if files.len() > usize::from(u16::MAX) {
        return Err(format!(
            "{} files: more than a zip without zip64 holds",
            files.len()
        ));
    }
    let mut names: Vec<String> = Vec::new();
    for file in files {
        let path = Path::new(file);
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| format!("{file}: no UTF-8 file name"))?
            .to_string();
        check_name(&name)?;
        // Flat archives: two files of the same base name would collide.
        if names.contains(&name) {
            return Err(format!("{file}: a second entry named `{name}`"));
        }
        let data = fs::read(path).map_err(|e| format!("{file}: cannot read: {e}"))?;
        let (size, name_len, offset) = match (
            u32::try_from(data.len()),
            u16::try_from(name.len()),
            u32::try_from(out.len()),
        ) {
            (Ok(s), Ok(n), Ok(o)) if o.checked_add(s).is_some() => (s, n, o),
            _ => return Err(format!("{file}: too large for a zip without zip64")),
        };
        let flags = if name.is_ascii() { 0 } else { FLAG_UTF8 };
        let crc = crc32(&data);

        put32(&mut out, LOCAL_HEADER);
        put16(&mut out, VERSION_NEEDED);
        put16(&mut out, flags);
        put16(&mut out, 0); // stored
        put16(&mut out, 0); // time 00:00:00
        put16(&mut out, DOS_DATE);
        put32(&mut out, crc);
        put32(&mut out, size);
        put32(&mut out, size);
        put16(&mut out, name_len);
        put16(&mut out, 0); // no extra field
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(&data);

        put32(&mut central, CENTRAL_HEADER);
        put16(&mut central, VERSION_MADE_BY);
        put16(&mut central, VERSION_NEEDED);
        put16(&mut central, flags);
        put16(&mut central, 0);
        put16(&mut central, 0);
        put16(&mut central, DOS_DATE);
        put32(&mut central, crc);
        put32(&mut central, size);
        put32(&mut central, size);
        put16(&mut central, name_len);
        put16(&mut central, 0); // extra
        put16(&mut central, 0); // comment
        put16(&mut central, 0); // disk
        put16(&mut central, 0); // internal attributes
        put32(&mut central, EXTERNAL_ATTRS);
        put32(&mut central, offset);
        central.extend_from_slice(name.as_bytes());
        names.push(name);
    }
    let (cd_offset, cd_size) = match (u32::try_from(out.len()), u32::try_from(central.len())) {
        (Ok(o), Ok(s)) if o.checked_add(s).is_some() => (o, s),
        _ => return Err("the archive is too large for a zip without zip64".into()),
    };
    let count = names.len() as u16; // checked against u16::MAX above
    out.extend_from_slice(&central);
    put32(&mut out, END_OF_CENTRAL_DIR);
    put16(&mut out, 0); // this disk
    put16(&mut out, 0); // disk of the central directory
    put16(&mut out, count);
    put16(&mut out, count);
    put32(&mut out, cd_size);
    put32(&mut out, cd_offset);
    put16(&mut out, 0); // no comment
    write_atomic(archive, &out).map_err(|e| format!("{}: cannot write: {e}", archive.display()))
}

/// Writes into a hidden temporary file next to `path`, then renames it over
/// `path`: a reader (or a crash) never sees half an archive.
fn write_atomic(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::other("names no file"))?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let temp = dir.join(format!(
        ".{}.tmp-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let result = (|| {
        let mut f = fs::File::create(&temp)?;
        f.write_all(data)?;
        f.sync_all()?;
        drop(f);
        fs::rename(&temp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

/// Little-endian reads that fail with the archive's name and the offset
/// instead of panicking on a truncated file.
struct Reader<'a> {
    data: &'a [u8],
    archive: &'a str,
}

impl Reader<'_> {
    fn bytes(&self, at: usize, len: usize) -> Result<&[u8], String> {
        at.checked_add(len)
            .and_then(|end| self.data.get(at..end))
            .ok_or_else(|| format!("{}: truncated at byte {at}", self.archive))
    }
    fn u16(&self, at: usize) -> Result<u16, String> {
        let b = self.bytes(at, 2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&self, at: usize) -> Result<u32, String> {
        let b = self.bytes(at, 4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
}

fn extract(archive: &Path, dir: &Path) -> Result<(), String> {
    let shown = archive.display().to_string();
    let data = fs::read(archive).map_err(|e| format!("{shown}: cannot read: {e}"))?;
    let r = Reader {
        data: &data,
        archive: &shown,
    };
    // The end record is the last 22 bytes, unless a comment follows it.
    let eocd = (0..=data.len().saturating_sub(22))
        .rev()
        .find(|&at| r.u32(at).ok() == Some(END_OF_CENTRAL_DIR))
        .ok_or_else(|| format!("{shown}: not a zip archive (no end of central directory)"))?;
    let count = r.u16(eocd + 10)?;
    let mut at = r.u32(eocd + 16)? as usize;
    for _ in 0..count {
        if r.u32(at)? != CENTRAL_HEADER {
            return Err(format!("{shown}: bad central directory entry at byte {at}"));
        }
        let flags = r.u16(at + 8)?;
        let method = r.u16(at + 10)?;
        let crc = r.u32(at + 16)?;
        let size = r.u32(at + 20)? as usize;
        let stored_size = r.u32(at + 24)? as usize;
        let name_len = usize::from(r.u16(at + 28)?);
        let extra_len = usize::from(r.u16(at + 30)?);
        let comment_len = usize::from(r.u16(at + 32)?);
        let local = r.u32(at + 42)? as usize;
        let name = String::from_utf8(r.bytes(at + 46, name_len)?.to_vec())
            .map_err(|_| format!("{shown}: an entry name is not UTF-8"))?;
        check_name(&name).map_err(|e| format!("{shown}: {e}"))?;
        if flags & 1 != 0 || method != 0 || size != stored_size {
            return Err(format!(
                "{shown}: `{name}` is compressed or encrypted (method {method}); \
                 seedzip reads only the stored archives it writes"
            ));
        }
        if r.u32(local)? != LOCAL_HEADER {
            return Err(format!(
                "{shown}: `{name}`: bad local header at byte {local}"
            ));
        }
        let start = local + 30 + usize::from(r.u16(local + 26)?) + usize::from(r.u16(local + 28)?);
        let contents = r.bytes(start, size)?;
        if crc32(contents) != crc {
            return Err(format!("{shown}: `{name}`: CRC mismatch"));
        }
        let target = dir.join(&name);
        write_atomic(&target, contents)
            .map_err(|e| format!("{}: cannot write: {e}", target.display()))?;
        at += 46 + name_len + extra_len + comment_len;
    }
    Ok(())
}
