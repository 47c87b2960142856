//! The fuzz campaigns' shared parts (feature `testing`): property-based tests with `proptest`, on
//! stable Rust, that feed the readers and loaders **mutated versions of the committed files**
//! (fixtures, `schemas/`, `pipelines/`) rather than random bytes, so that most inputs get past the
//! header and reach the record-level checks.
//!
//! - [`Mutation`] and [`mutations`]: byte flips, insertions (of the bytes that matter to a
//!   reader: quotes, delimiters, line breaks, invalid UTF-8, JSON punctuation), deletions of
//!   bytes or lines, duplicated and swapped lines, a changed delimiter, a truncation at a random
//!   point, a change of encoding (UTF-8 <-> Windows-1252), of byte order mark or of line ending.
//! - [`config`]: 64 cases per property by default, `PROPTEST_CASES` to change it
//!   (`ProptestConfig::with_cases` would ignore the variable: proptest reads it only into
//!   `ProptestConfig::default()`), failures saved in the test crate's `proptest-regressions/`.
//! - [`fuzz_reader`]: the campaign of one connector's reader over its committed fixtures, with
//!   the properties every reader must have; [`fuzz_cut_files`]: clean fixtures cut at a random
//!   point must fail the source exactly when the contract says the file is cut.
//! - [`files_under`], [`physical_lines`], [`cut_is_expected_csv`]: what the properties need to
//!   know of an input.
//!
//! Each campaign prints one line, `fuzz <target>: <N> inputs tried, <F> failures ...`, which
//! `benches/fuzz.sh` sums up.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::future::Future;
use std::path::{Path, PathBuf};

pub use proptest;
use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence, TestCaseError, TestRunner};
use sha2::{Digest, Sha256};
use socle_dictionary::{Encoding, Source};

use crate::{ConnectError, Extract, ReadOptions};

/// Cases per property: `PROPTEST_CASES` if set to a number, else 64.
pub fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(64)
}

/// The configuration of a fuzz property of the test file `source_file` (give `file!()`, a path
/// from the workspace root such as `crates/socle-connect-gpi/tests/fuzz.rs`): failures are saved
/// in `crates/socle-connect-gpi/proptest-regressions/fuzz.txt`, and replayed first on every run.
pub fn config(source_file: &'static str) -> Config {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let source = Path::new(source_file);
    let regressions = source
        .parent()
        .and_then(Path::parent)
        .map(|krate| workspace.join(krate).join("proptest-regressions"))
        .unwrap_or_else(|| workspace.join("proptest-regressions"))
        .join(source.with_extension("txt").file_name().unwrap_or_default());
    // proptest wants a `'static` path: one per property, for the test process's life.
    let regressions: &'static str = Box::leak(regressions.to_string_lossy().into_owned().into_boxed_str());
    Config {
        cases: cases(),
        source_file: Some(source_file),
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(regressions))),
        // Shrinking reads a folder per step: keep it bounded.
        max_shrink_iters: 512,
        ..Config::default()
    }
}

/// Bytes worth inserting: what delimits, quotes, ends or breaks a record or a JSON value.
const INTERESTING: &[&[u8]] = &[
    b"\"",
    b";",
    b",",
    b"|",
    b"\t",
    b"\n",
    b"\r\n",
    b"\r",
    b"\xFF",
    b"\xC3",
    b"\xE9",
    b"\xEF\xBB\xBF",
    b"{",
    b"}",
    b"[",
    b"]",
    b":",
    b"null",
    b"\"\"",
    b"\\",
    b"\x00",
    b"9999999999999999999999",
    b"-1",
    b"2024-02-30",
    b"31/12/2024",
    b" ",
];

/// A position in a collection of any size, as a fraction of its size (in 2^-64): resolved
/// against the bytes (or lines) at hand when a mutation is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct At(pub u64);

impl At {
    /// The position in a collection of `size` elements (0 when it is empty).
    pub fn index(self, size: usize) -> usize {
        ((size as u128 * u128::from(self.0)) >> 64) as usize
    }

    /// The middle of element `i` of `n`: `At::of(i, n).index(n) == i`.
    pub fn of(i: usize, n: usize) -> At {
        At((((2 * i as u128 + 1) << 63) / n.max(1) as u128) as u64)
    }
}

/// Any [`At`].
pub fn at() -> impl Strategy<Value = At> {
    any::<u64>().prop_map(At)
}

/// One change to a file's bytes.
#[derive(Debug, Clone)]
pub enum Mutation {
    /// XOR one byte with a non-zero mask.
    FlipByte {
        at: At,
        mask: u8,
    },
    /// Insert bytes (interesting ones, or random ones).
    Insert {
        at: At,
        bytes: Vec<u8>,
    },
    /// Delete up to `len` bytes.
    DeleteBytes {
        at: At,
        len: usize,
    },
    DeleteLine {
        line: At,
    },
    DuplicateLine {
        line: At,
    },
    SwapLines {
        a: At,
        b: At,
    },
    /// Replace every `from` by `to` (delimiters, quotes).
    Replace {
        from: u8,
        to: u8,
    },
    /// Keep only the bytes before `at`: a transfer that stopped.
    Truncate {
        at: At,
    },
    /// Windows-1252 bytes of UTF-8 text (a lossy transcoding), or UTF-8 of Windows-1252 bytes.
    Transcode,
    /// Add a UTF-8 byte order mark, or take it off.
    ToggleBom,
    /// LF line ends to CRLF, or CRLF to LF.
    ToggleCrlf,
}

/// Any [`Mutation`].
pub fn mutation() -> impl Strategy<Value = Mutation> {
    let interesting = proptest::sample::select(INTERESTING).prop_map(<[u8]>::to_vec);
    let random = proptest::collection::vec(any::<u8>(), 1..8);
    let separators = || proptest::sample::select(vec![b';', b',', b'|', b'\t', b'"', b'\n', b' ']);
    prop_oneof![
        (at(), 1..=255u8).prop_map(|(at, mask)| Mutation::FlipByte { at, mask }),
        (at(), prop_oneof![3 => interesting, 1 => random]).prop_map(|(at, bytes)| Mutation::Insert { at, bytes }),
        (at(), 1..64usize).prop_map(|(at, len)| Mutation::DeleteBytes { at, len }),
        at().prop_map(|line| Mutation::DeleteLine { line }),
        at().prop_map(|line| Mutation::DuplicateLine { line }),
        (at(), at()).prop_map(|(a, b)| Mutation::SwapLines { a, b }),
        (separators(), separators()).prop_map(|(from, to)| Mutation::Replace { from, to }),
        at().prop_map(|at| Mutation::Truncate { at }),
        Just(Mutation::Transcode),
        Just(Mutation::ToggleBom),
        Just(Mutation::ToggleCrlf),
    ]
}

/// One to four mutations, applied in order.
pub fn mutations() -> impl Strategy<Value = Vec<Mutation>> {
    proptest::collection::vec(mutation(), 1..=4)
}

/// The lines of `bytes`, each with its `\n` (the last one may have none).
fn lines_of(bytes: &[u8]) -> Vec<Vec<u8>> {
    bytes.split_inclusive(|&b| b == b'\n').map(<[u8]>::to_vec).collect()
}

impl Mutation {
    /// Applies the mutation to `bytes`.
    pub fn apply(&self, bytes: &mut Vec<u8>) {
        let len = bytes.len();
        match self {
            Mutation::FlipByte { at, mask } => {
                if len > 0 {
                    bytes[at.index(len)] ^= mask;
                }
            }
            Mutation::Insert { at, bytes: add } => {
                let at = at.index(len + 1);
                bytes.splice(at..at, add.iter().copied());
            }
            Mutation::DeleteBytes { at, len: n } => {
                if len > 0 {
                    let at = at.index(len);
                    bytes.drain(at..(at + n).min(len));
                }
            }
            Mutation::DeleteLine { line } | Mutation::DuplicateLine { line } => {
                let mut lines = lines_of(bytes);
                if lines.is_empty() {
                    return;
                }
                let i = line.index(lines.len());
                if matches!(self, Mutation::DeleteLine { .. }) {
                    lines.remove(i);
                } else {
                    let copy = lines[i].clone();
                    lines.insert(i, copy);
                }
                *bytes = lines.concat();
            }
            Mutation::SwapLines { a, b } => {
                let mut lines = lines_of(bytes);
                if lines.is_empty() {
                    return;
                }
                let (a, b) = (a.index(lines.len()), b.index(lines.len()));
                lines.swap(a, b);
                *bytes = lines.concat();
            }
            Mutation::Replace { from, to } => {
                for b in bytes.iter_mut().filter(|b| **b == *from) {
                    *b = *to;
                }
            }
            Mutation::Truncate { at } => bytes.truncate(at.index(len + 1)),
            Mutation::Transcode => match std::str::from_utf8(bytes) {
                Ok(text) => *bytes = encoding_rs::WINDOWS_1252.encode(text).0.into_owned(),
                Err(_) => *bytes = encoding_rs::WINDOWS_1252.decode(bytes).0.into_owned().into_bytes(),
            },
            Mutation::ToggleBom => {
                if bytes.starts_with(b"\xEF\xBB\xBF") {
                    bytes.drain(..3);
                } else {
                    bytes.splice(0..0, *b"\xEF\xBB\xBF");
                }
            }
            Mutation::ToggleCrlf => {
                let crlf = bytes.windows(2).any(|w| w == b"\r\n");
                let mut out = Vec::with_capacity(bytes.len() + bytes.len() / 32);
                for (i, &b) in bytes.iter().enumerate() {
                    if crlf {
                        if b == b'\r' && bytes.get(i + 1) == Some(&b'\n') {
                            continue;
                        }
                    } else if b == b'\n' {
                        out.push(b'\r');
                    }
                    out.push(b);
                }
                *bytes = out;
            }
        }
    }
}

/// `bytes` with every mutation applied, in order.
pub fn mutate(bytes: &[u8], mutations: &[Mutation]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    for m in mutations {
        m.apply(&mut out);
    }
    out
}

/// The first `n` lines of `bytes` (with their line ends): small inputs keep a case fast.
pub fn head(bytes: &[u8], n: usize) -> Vec<u8> {
    lines_of(bytes).into_iter().take(n).collect::<Vec<_>>().concat()
}

/// Files under `dir` (recursively) whose name ends with one of `suffixes`, sorted.
pub fn files_under(dir: &Path, suffixes: &[&str]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| suffixes.iter().any(|s| n.ends_with(s)))
            {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// The repository's committed night folders of `system`: `fixtures/exports/<css>/<night>/<system>`.
pub fn fixture_folders(system: &str) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/exports");
    let mut out: Vec<PathBuf> = files_under(&root, &[".csv", ".jsonl"])
        .into_iter()
        .filter_map(|f| f.parent().map(Path::to_path_buf))
        .filter(|d| d.file_name().and_then(|n| n.to_str()) == Some(system))
        .collect();
    out.dedup();
    assert!(
        !out.is_empty(),
        "no committed fixtures of {system} under {}",
        root.display()
    );
    out
}

/// Number of physical lines of `bytes` (a last line without a line end counts).
pub fn physical_lines(bytes: &[u8]) -> u64 {
    let breaks = bytes.iter().filter(|&&b| b == b'\n').count() as u64;
    breaks + u64::from(!bytes.is_empty() && !bytes.ends_with(b"\n"))
}

/// Whether a delimited file whose records hold no line break (as the fixtures') is a cut file
/// by the contract: its last line has no line end and fewer fields than the header, a quote
/// left open, or (UTF-8) a character cut short. `header_fields`: the header's field count.
pub fn cut_is_expected_csv(bytes: &[u8], delimiter: u8, header_fields: usize) -> bool {
    if bytes.ends_with(b"\n") {
        return false;
    }
    let start = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let last = &bytes[start..];
    let last = last.strip_suffix(b"\r").unwrap_or(last);
    if last.is_empty() {
        return false;
    }
    let quotes = bytes.iter().filter(|&&b| b == b'"').count();
    if quotes % 2 == 1 {
        return true;
    }
    let mut fields = 1;
    let mut quoted = false;
    for &b in last {
        if b == b'"' {
            quoted = !quoted;
        } else if b == delimiter && !quoted {
            fields += 1;
        }
    }
    let cut_char = std::str::from_utf8(bytes).is_err_and(|e| e.error_len().is_none());
    fields < header_fields || cut_char
}

/// Lines of a fixture file kept for a case (the header included): enough for every kind of row,
/// few enough for a case to take milliseconds.
pub const HEAD_LINES: usize = 60;

/// What a campaign saw.
#[derive(Debug, Default)]
struct Tally {
    inputs: u64,
    rows_read: u64,
    rejects: u64,
    /// Source failures by kind.
    failures: BTreeMap<&'static str, u64>,
}

impl Tally {
    fn print(&self, target: &str, failed: bool) {
        let failures: Vec<String> = self.failures.iter().map(|(k, n)| format!("{k} {n}")).collect();
        eprintln!(
            "fuzz {target}: {} inputs tried, {} failures (rows read {}, records rejected {}, sources failed: {})",
            self.inputs,
            u64::from(failed),
            self.rows_read,
            self.rejects,
            if failures.is_empty() {
                "none".to_string()
            } else {
                failures.join(", ")
            }
        );
    }
}

/// One fixture file of a system: its path and first [`HEAD_LINES`] lines.
struct Fixture {
    name: String,
    bytes: Vec<u8>,
}

/// The committed fixture files of `system` that its contract reads, every CSS's.
fn fixtures(system: &str, contract: &Source) -> Vec<Fixture> {
    let mut out = Vec::new();
    for folder in fixture_folders(system) {
        let mut names: Vec<&str> = contract.tables.iter().map(|t| t.file.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        for name in names {
            let bytes = std::fs::read(folder.join(name)).unwrap_or_else(|e| panic!("{}: {e}", folder.display()));
            out.push(Fixture {
                name: name.to_string(),
                bytes: head(&bytes, HEAD_LINES),
            });
        }
    }
    assert!(!out.is_empty());
    out
}

/// The contract narrowed to the tables reading `file`.
fn narrowed(contract: &Source, file: &str) -> Source {
    let mut source = contract.clone();
    source.tables.retain(|t| t.file == file);
    source
}

/// Checks what a reader gave for one file `file` holding `bytes`, read with `source`: a clean
/// source failure naming the file, or, per table, records read = records typed + records
/// rejected, every reject located within the file, and the file's size and hash.
fn check_read(
    source: &Source,
    file: &str,
    bytes: &[u8],
    result: &Result<Extract, ConnectError>,
    tally: &mut Tally,
) -> Result<(), TestCaseError> {
    let lines = physical_lines(bytes);
    let first = source.tables.first().map(|t| t.name.as_str()).unwrap_or_default();
    let names = |path: &Path| path.file_name().and_then(|n| n.to_str()) == Some(file);
    let x = match result {
        Ok(x) => x,
        Err(e) => {
            let message = e.to_string();
            prop_assert!(message.contains(file), "the failure does not name {file}: {message}");
            let kind = match e {
                ConnectError::EmptyFile { table, path, .. } => {
                    prop_assert!(table == first && names(path), "{e:?}");
                    "empty file"
                }
                ConnectError::CutFile { table, path, line, .. } => {
                    prop_assert!(table == first && names(path), "{e:?}");
                    prop_assert!((1..=lines).contains(line), "line {line} of {lines}: {e:?}");
                    prop_assert!(
                        !bytes.ends_with(b"\n"),
                        "a file ending with a line break is not cut: {e:?}"
                    );
                    "cut file"
                }
                ConnectError::MissingColumn { file: f, .. } => {
                    prop_assert_eq!(f.as_str(), file);
                    "missing column"
                }
                other => return Err(TestCaseError::fail(format!("not a clean source failure: {other:?}"))),
            };
            if bytes.is_empty() {
                prop_assert_eq!(kind, "empty file");
            }
            *tally.failures.entry(kind).or_default() += 1;
            return Ok(());
        }
    };
    prop_assert!(!bytes.is_empty(), "a 0-byte file was read");
    prop_assert_eq!(x.tables.len(), source.tables.len());
    prop_assert!(!x.tables.is_empty());
    for table in &source.tables {
        let t = &x.tables[&table.name];
        let rejected = x.rejects.iter().filter(|r| r.table == table.name).count() as u64;
        let loaded: u64 = t.batches.iter().map(|b| b.num_rows() as u64).sum();
        prop_assert_eq!(loaded, t.rows_loaded, "table {}", table.name);
        prop_assert_eq!(
            t.rows_read,
            t.rows_loaded + rejected,
            "table {}: records read = typed + rejected",
            &table.name
        );
        tally.rows_read += t.rows_read;
    }
    for r in &x.rejects {
        prop_assert!(source.table(&r.table).is_some(), "{r:?}");
        prop_assert_eq!(r.file.as_str(), file);
        prop_assert!((1..=lines).contains(&r.line), "line {} of {lines}: {r:?}", r.line);
        prop_assert!(!r.message.is_empty(), "{r:?}");
    }
    tally.rejects += x.rejects.len() as u64;
    let sha = hex::encode(Sha256::digest(bytes));
    prop_assert!(!x.files.is_empty());
    for f in &x.files {
        prop_assert!(names(&f.path), "{f:?}");
        prop_assert_eq!(f.bytes, bytes.len() as u64);
        prop_assert_eq!(&f.sha256, &sha);
    }
    Ok(())
}

/// A fresh folder `case` under `dir` holding `file`.
fn write_case(dir: &Path, file: &str, bytes: &[u8]) -> PathBuf {
    let folder = dir.join("case");
    let _ = std::fs::remove_dir_all(&folder);
    std::fs::create_dir_all(&folder).expect("case folder");
    std::fs::write(folder.join(file), bytes).expect("case file");
    folder
}

/// The campaign of one reader: every committed fixture file of `system`, its first
/// [`HEAD_LINES`] lines mutated ([`mutations`]), read alone (the contract narrowed to its
/// tables) with a random declared encoding and batch size. No panic; a result is a clean source
/// failure naming the file, or tables where, per table, records read = records typed + records
/// rejected, every reject located (file, line within the file). `source_file`: `file!()`.
pub fn fuzz_reader<F, Fut>(system: &str, source_file: &'static str, read: F)
where
    F: Fn(PathBuf, Source, ReadOptions) -> Fut,
    Fut: Future<Output = Result<Extract, ConnectError>>,
{
    let contract = crate::testing::contract(system);
    let files = fixtures(system, &contract);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let tally = RefCell::new(Tally::default());
    let encodings = proptest::sample::select(vec![Encoding::Auto, Encoding::Utf8, Encoding::Windows1252]);
    let batch_sizes = proptest::sample::select(vec![1usize, 2, 7, 65536]);
    let mut runner = TestRunner::new(config(source_file));
    let result = runner.run(
        &(at(), mutations(), encodings, batch_sizes),
        |(pick, muts, encoding, batch_size)| {
            let fixture = &files[pick.index(files.len())];
            let source = narrowed(&contract, &fixture.name);
            let bytes = mutate(&fixture.bytes, &muts);
            let folder = write_case(dir.path(), &fixture.name, &bytes);
            let opts = ReadOptions { encoding, batch_size };
            let result = rt.block_on(read(folder, source.clone(), opts));
            let mut tally = tally.borrow_mut();
            tally.inputs += 1;
            check_read(&source, &fixture.name, &bytes, &result, &mut tally)
        },
    );
    tally.borrow().print(&format!("{system} reader"), result.is_err());
    if let Err(e) = result {
        panic!("{system} reader: {e}");
    }
}

/// Whether a delimited fixture cut short is a cut file ([`cut_is_expected_csv`], the header's
/// delimiter and field count sniffed from its first line).
pub fn csv_cut_rule(bytes: &[u8]) -> bool {
    let bytes_nobom = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let header = bytes_nobom.split(|&b| b == b'\n').next().unwrap_or_default();
    let delimiter = crate::split::sniff_delimiter(header);
    let fields = header.iter().filter(|&&b| b == delimiter).count() + 1;
    cut_is_expected_csv(bytes, delimiter, fields)
}

/// Clean committed fixtures of `system` (first [`HEAD_LINES`] lines) cut at a random point
/// (after the header when `has_header`): the source fails with [`ConnectError::CutFile`] at the
/// last line exactly when `cut_rule` says the file is cut, and loads otherwise.
pub fn fuzz_cut_files<F, Fut>(
    system: &str,
    source_file: &'static str,
    has_header: bool,
    cut_rule: fn(&[u8]) -> bool,
    read: F,
) where
    F: Fn(PathBuf, Source, ReadOptions) -> Fut,
    Fut: Future<Output = Result<Extract, ConnectError>>,
{
    let contract = crate::testing::contract(system);
    let files = fixtures(system, &contract);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let tally = RefCell::new(Tally::default());
    let mut runner = TestRunner::new(config(source_file));
    let result = runner.run(&(at(), at()), |(pick, at)| {
        let fixture = &files[pick.index(files.len())];
        let from = if has_header {
            fixture
                .bytes
                .iter()
                .position(|&b| b == b'\n')
                .map_or(fixture.bytes.len(), |i| i + 1)
        } else {
            1
        };
        let cut = from + at.index(fixture.bytes.len().saturating_sub(from) + 1);
        let bytes = &fixture.bytes[..cut.min(fixture.bytes.len())];
        let source = narrowed(&contract, &fixture.name);
        let folder = write_case(dir.path(), &fixture.name, bytes);
        let result = rt.block_on(read(folder, source.clone(), ReadOptions::default()));
        let mut tally = tally.borrow_mut();
        tally.inputs += 1;
        let expected = cut_rule(bytes);
        match &result {
            Err(ConnectError::CutFile { line, .. }) => {
                prop_assert!(expected, "not a cut file by the contract, failed as one: {result:?}");
                prop_assert_eq!(*line, physical_lines(bytes));
            }
            Ok(_) => prop_assert!(!expected, "a cut file loaded"),
            Err(e) => {
                return Err(TestCaseError::fail(format!(
                    "a clean file cut short failed otherwise: {e:?}"
                )));
            }
        }
        check_read(&source, &fixture.name, bytes, &result, &mut tally)
    });
    tally.borrow().print(&format!("{system} cut files"), result.is_err());
    if let Err(e) = result {
        panic!("{system} cut files: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mutations_do_what_they_say() {
        let base = b"a;b\n1;2\n3;4\n".to_vec();
        let at = At::of;
        assert_eq!(mutate(&base, &[Mutation::DeleteLine { line: at(1, 3) }]), b"a;b\n3;4\n");
        assert_eq!(
            mutate(&base, &[Mutation::DuplicateLine { line: at(2, 3) }]),
            b"a;b\n1;2\n3;4\n3;4\n"
        );
        assert_eq!(
            mutate(&base, &[Mutation::Replace { from: b';', to: b',' }]),
            b"a,b\n1,2\n3,4\n"
        );
        assert_eq!(mutate(&base, &[Mutation::ToggleCrlf]), b"a;b\r\n1;2\r\n3;4\r\n");
        assert_eq!(mutate(&base, &[Mutation::ToggleCrlf, Mutation::ToggleCrlf]), base);
        assert_eq!(mutate(&base, &[Mutation::ToggleBom])[..3], *b"\xEF\xBB\xBF");
        assert_eq!(mutate("é\n".as_bytes(), &[Mutation::Transcode]), b"\xE9\n");
        assert_eq!(mutate(b"\xE9\n", &[Mutation::Transcode]), "é\n".as_bytes());
        assert_eq!(head(&base, 2), b"a;b\n1;2\n");
        assert_eq!(
            (physical_lines(&base), physical_lines(b"a\nb"), physical_lines(b"")),
            (3, 2, 0)
        );
    }

    #[test]
    fn cut_files_are_told_from_complete_ones() {
        assert!(!cut_is_expected_csv(b"a;b;c\n1;2;3\n", b';', 3));
        assert!(!cut_is_expected_csv(b"a;b;c\n1;2;3", b';', 3));
        assert!(!cut_is_expected_csv(b"a;b;c\n1;2;3\r", b';', 3));
        assert!(cut_is_expected_csv(b"a;b;c\n1;2", b';', 3));
        assert!(cut_is_expected_csv(b"a;b;c\n1;\"2;3", b';', 3));
        assert!(!cut_is_expected_csv(b"a;b;c\n1;\"2;3\";4", b';', 3));
        assert!(cut_is_expected_csv(b"a;b;c\n1;2;\xC3", b';', 3));
        assert!(!cut_is_expected_csv(b"a;b;c\n\xE9;2;3", b';', 3));
    }
}
