//! Streaming writer of one table file: CSS conventions (delimiter, line ending, header case,
//! column layout, encoding) and injection of EXTRA bad rows, each logged with its line number.

use std::cell::RefCell;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::Encoding;
use crate::GenerateError;
use crate::conventions::{Conventions, DateFormat, Slot};
use crate::rng;
use crate::tables::{BadKind, E_MAT_ELE, Fresh, TABLES, TableSpec};

const CHUNK: usize = 1 << 16;
/// Keys of bad rows start here: clean keys never get that high.
pub(crate) const BAD_KEY_BASE: u64 = 900_000_000;

/// What a finished table reports.
#[derive(Debug, Clone)]
pub(crate) struct TableStats {
    /// Table name (`gpm_e_ele`, `eleves`, `e_freq`...).
    pub table: &'static str,
    /// File name in its system's folder (`gpm_e_ele.csv`, `eleves.jsonl`...).
    pub file: String,
    pub clean: u64,
    pub bad: u64,
    /// Every injected bad row, as logged in `bad_rows.csv`.
    pub bad_log: Vec<BadRowLog>,
}

/// One injected bad row of `bad_rows.csv`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BadRowLog {
    /// 1-based physical line.
    pub line: u64,
    /// The kind's name (`BadKind::as_str`, or the reject kind the connector reports).
    pub kind: &'static str,
    /// The contract column the reader names in its reject, when the row was spoiled in one
    /// column (a date, a number, a domain, undecodable bytes, a missing value...); `None` for
    /// record-level kinds (field count, quote, malformed JSON) and duplicate keys (the reject
    /// names the contract's key, which the generator does not know).
    pub column: Option<&'static str>,
}

/// Bad-row injection state of one table.
pub(crate) struct Injector {
    rng: ChaCha8Rng,
    rate: f64,
    gap: u64,
    kinds: Vec<BadKind>,
    /// Forced inline kinds: (after this many clean rows, kind).
    forced: Vec<(u64, BadKind)>,
    end: Option<BadKind>,
    fresh: u64,
    dup_values: [String; 2],
}

impl Injector {
    /// `forced`: kinds that must appear in this table (at most one end-of-file kind).
    pub(crate) fn new(
        mut rng: ChaCha8Rng,
        table: usize,
        rate: f64,
        allow_undecodable: bool,
        forced: &[BadKind],
        dup_values: [String; 2],
    ) -> Self {
        let kinds: Vec<BadKind> = BadKind::ALL
            .iter()
            .copied()
            .filter(|k| !k.is_end_of_file() && k.applies_to(table, allow_undecodable))
            .collect();
        let mut inline: Vec<(u64, BadKind)> = Vec::new();
        let mut end = None;
        for k in forced {
            if k.is_end_of_file() {
                end = Some(*k);
            } else {
                inline.push((rng.random_range(1..=25u64), *k));
            }
        }
        inline.sort();
        let gap = rng::geometric(&mut rng, rate);
        Injector {
            rng,
            rate,
            gap,
            kinds,
            forced: inline,
            end,
            fresh: 0,
            dup_values,
        }
    }
}

/// The byte sink of the CSV writer, shared so that raw (invalid CSV) bytes can be appended
/// between records.
#[derive(Clone, Default)]
struct Sink(Rc<RefCell<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

pub(crate) struct TableWriter<'c> {
    table: usize,
    spec: &'static TableSpec,
    conv: &'c Conventions,
    path: PathBuf,
    file: BufWriter<File>,
    csv: csv::Writer<Sink>,
    sink: Sink,
    /// Physical lines written so far (the header is line 1).
    lines: u64,
    clean: u64,
    bad: u64,
    last: Vec<String>,
    has_last: bool,
    injector: Option<Injector>,
    /// (line, kind, index of the spoiled column) of every bad row written.
    bad_log: Vec<(u64, BadKind, Option<usize>)>,
}

fn io_err(path: &Path, e: impl std::fmt::Display) -> GenerateError {
    GenerateError::Write {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

fn needs_quotes(s: &str, delimiter: u8) -> bool {
    s.bytes()
        .any(|b| b == delimiter || b == b'"' || b == b'\n' || b == b'\r')
}

fn quoted(s: &str, delimiter: u8) -> String {
    if needs_quotes(s, delimiter) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

impl<'c> TableWriter<'c> {
    pub(crate) fn create(
        dir: &Path,
        table: usize,
        conv: &'c Conventions,
        injector: Option<Injector>,
    ) -> Result<Self, GenerateError> {
        let spec = &TABLES[table];
        let path = dir.join(format!("{}.csv", spec.name));
        let file = File::create(&path).map_err(|e| io_err(&path, e))?;
        let terminator = if conv.crlf {
            csv::Terminator::CRLF
        } else {
            csv::Terminator::Any(b'\n')
        };
        let sink = Sink(Rc::new(RefCell::new(Vec::with_capacity(CHUNK * 2))));
        let csv = csv::WriterBuilder::new()
            .delimiter(conv.delimiter)
            .quote_style(csv::QuoteStyle::Necessary)
            .terminator(terminator)
            .flexible(true)
            .has_headers(false)
            .from_writer(sink.clone());
        let mut w = TableWriter {
            table,
            spec,
            conv,
            path,
            file: BufWriter::with_capacity(CHUNK, file),
            csv,
            sink,
            lines: 1,
            clean: 0,
            bad: 0,
            last: vec![String::new(); spec.columns.len()],
            has_last: false,
            injector,
            bad_log: Vec::new(),
        };
        if conv.encoding == Encoding::Utf8Bom {
            w.file.write_all(b"\xEF\xBB\xBF").map_err(|e| io_err(&w.path, e))?;
        }
        let layout = &conv.layouts[table];
        let header: Vec<String> = layout
            .slots
            .iter()
            .map(|s| {
                let name = match s {
                    Slot::Col(i) => spec.columns[*i],
                    Slot::Extra(j) => layout.extras[*j].0.as_str(),
                };
                if conv.upper_header {
                    name.to_uppercase()
                } else {
                    name.to_string()
                }
            })
            .collect();
        w.csv.write_record(&header).map_err(|e| io_err(&w.path, e))?;
        Ok(w)
    }

    /// Writes one clean row (contract column order), then maybe bad rows after it.
    pub(crate) fn write(&mut self, row: &[String]) -> Result<(), GenerateError> {
        let layout = &self.conv.layouts[self.table];
        self.csv
            .write_record(layout.slots.iter().map(|s| match s {
                Slot::Col(i) => row[*i].as_bytes(),
                Slot::Extra(j) => layout.extras[*j].1.as_bytes(),
            }))
            .map_err(|e| io_err(&self.path, e))?;
        self.lines += 1;
        self.clean += 1;
        if self.injector.is_some() {
            for (dst, src) in self.last.iter_mut().zip(row) {
                dst.clone_from(src);
            }
            self.has_last = true;
            self.after_clean_row()?;
        }
        if self.sink.0.borrow().len() >= CHUNK {
            self.drain()?;
        }
        Ok(())
    }

    fn after_clean_row(&mut self) -> Result<(), GenerateError> {
        let mut todo: Vec<BadKind> = Vec::new();
        if let Some(inj) = self.injector.as_mut() {
            while let Some(&(at, kind)) = inj.forced.first() {
                if at > self.clean {
                    break;
                }
                inj.forced.remove(0);
                todo.push(kind);
            }
            if inj.gap == 0 {
                if !inj.kinds.is_empty() {
                    let k = inj.kinds[inj.rng.random_range(0..inj.kinds.len())];
                    todo.push(k);
                }
                inj.gap = rng::geometric(&mut inj.rng, inj.rate);
            } else if inj.gap != u64::MAX {
                inj.gap -= 1;
            }
        }
        for k in todo {
            self.inline_bad_row(k)?;
        }
        Ok(())
    }

    fn log_bad(&mut self, kind: BadKind, column: Option<usize>) {
        self.bad_log.push((self.lines + 1, kind, column));
        self.lines += 1;
        self.bad += 1;
    }

    /// The template of a bad row: the last clean row with a fresh key.
    fn template(&mut self, keep_key: bool) -> Vec<String> {
        let mut row = self.last.clone();
        if let Some(inj) = self.injector.as_mut()
            && !keep_key
        {
            let n = inj.fresh;
            match self.spec.fresh {
                Fresh::Int(c) => row[c] = (BAD_KEY_BASE + n).to_string(),
                Fresh::CodePerm(c) => row[c] = format!("ZZZZ9{:07}", n % 10_000_000),
                Fresh::Code(c) => row[c] = format!("Z{:04}", n % 10_000),
            }
            inj.fresh += 1;
        }
        row
    }

    fn bad_date(rng: &mut ChaCha8Rng, format: DateFormat) -> String {
        let options: &[&str] = match format {
            DateFormat::Iso => &["2024-13-45", "2024-02-30", "2023-00-12", "2024-13-45x"],
            DateFormat::Compact => &["20241345", "20240230", "2024011", "20231301x"],
            DateFormat::Dmy => &["31/02/2024x", "45/13/2024", "31/02/2024", "00/00/0000"],
        };
        options[rng.random_range(0..options.len())].to_string()
    }

    fn inline_bad_row(&mut self, kind: BadKind) -> Result<(), GenerateError> {
        if !self.has_last {
            return Ok(());
        }
        let mut row = self.template(kind == BadKind::DuplicateKey);
        let spec = self.spec;
        let Some(inj) = self.injector.as_mut() else {
            return Ok(());
        };
        let mut delta: i8 = 0;
        let mut raw_col: Option<(usize, Vec<u8>)> = None;
        let mut spoiled: Option<usize> = None;
        match kind {
            BadKind::WrongColumnCount => delta = if inj.rng.random_bool(0.5) { 1 } else { -1 },
            BadKind::UnparsableDate => {
                let c = spec.date_cols[inj.rng.random_range(0..spec.date_cols.len())];
                row[c] = Self::bad_date(&mut inj.rng, self.conv.date_format);
                spoiled = Some(c);
            }
            BadKind::UnparsableNumber => {
                let c = spec.int_cols[inj.rng.random_range(0..spec.int_cols.len())];
                spoiled = Some(c);
                let suffix = ["a", "x", "b"][inj.rng.random_range(0..3)];
                row[c] = if row[c].trim().is_empty() {
                    format!("12{suffix}")
                } else {
                    format!("{}{suffix}", row[c])
                };
            }
            BadKind::OutOfDomain => {
                if let Some((c, values)) = spec.domain {
                    row[c] = values[inj.rng.random_range(0..values.len())].to_string();
                    spoiled = Some(c);
                }
            }
            BadKind::DuplicateKey => {
                if let Some(c) = spec.dup_col {
                    row[c] = if row[c] != inj.dup_values[0] {
                        inj.dup_values[0].clone()
                    } else {
                        inj.dup_values[1].clone()
                    };
                }
            }
            BadKind::UnknownResultCode => {
                // Every étape cell gets an unknown code: Socle quarantines results cell by cell,
                // so a row with one bad cell would still load its other étapes, and the truth
                // (clean rows only) would no longer be exact.
                if self.table == E_MAT_ELE {
                    for cell in &mut row[7..11] {
                        *cell = ["ZZ", "XQ", "??", "A++"][inj.rng.random_range(0..4)].to_string();
                    }
                    // Each cell is quarantined on its own: the first one is logged.
                    spoiled = Some(7);
                }
            }
            BadKind::UndecodableBytes => {
                let c = spec.text_col;
                let mut bytes = row[c].as_bytes().to_vec();
                let mut at = bytes.len() / 2;
                while at > 0 && !row[c].is_char_boundary(at) {
                    at -= 1;
                }
                bytes.splice(at..at, [0xFF, 0xFE]);
                raw_col = Some((c, bytes));
                spoiled = Some(c);
            }
            BadKind::UnterminatedQuote => return Ok(()),
        }
        let layout = &self.conv.layouts[self.table];
        let mut fields: Vec<&[u8]> = layout
            .slots
            .iter()
            .map(|s| match s {
                Slot::Col(i) => match &raw_col {
                    Some((c, b)) if c == i => b.as_slice(),
                    _ => row[*i].as_bytes(),
                },
                Slot::Extra(j) => layout.extras[*j].1.as_bytes(),
            })
            .collect();
        match delta {
            1 => fields.push(b"X"),
            -1 => {
                fields.pop();
            }
            _ => {}
        }
        self.csv.write_record(&fields).map_err(|e| io_err(&self.path, e))?;
        self.log_bad(kind, spoiled);
        Ok(())
    }

    /// The fields of a bad end-of-file row, in output order, already quoted where needed,
    /// and the index of the slot holding the text column.
    fn raw_fields(&mut self) -> (Vec<String>, usize) {
        let row = self.template(false);
        let d = self.conv.delimiter;
        let layout = &self.conv.layouts[self.table];
        let mut text_pos = 0;
        let fields = layout
            .slots
            .iter()
            .enumerate()
            .map(|(k, s)| match s {
                Slot::Col(i) => {
                    if *i == self.spec.text_col {
                        text_pos = k;
                    }
                    quoted(&row[*i], d)
                }
                Slot::Extra(j) => quoted(&layout.extras[*j].1, d),
            })
            .collect();
        (fields, text_pos)
    }

    fn write_raw(&mut self, bytes: &[u8]) -> Result<(), GenerateError> {
        self.csv.flush().map_err(|e| io_err(&self.path, e))?;
        self.sink.0.borrow_mut().extend_from_slice(bytes);
        Ok(())
    }

    /// The last record of the file: a quote never closed, the line ended (a record cut short
    /// without a line end is a cut file, not injected).
    fn end_bad_row(&mut self, kind: BadKind) -> Result<(), GenerateError> {
        if !self.has_last {
            return Ok(());
        }
        let (mut fields, text_pos) = self.raw_fields();
        let delim = char::from(self.conv.delimiter);
        let terminator = if self.conv.crlf { "\r\n" } else { "\n" };
        let plain = self.last[self.spec.text_col].replace('"', "");
        fields[text_pos] = format!("\"{plain} (suite");
        let mut line = fields.join(&delim.to_string());
        line.push_str(terminator);
        self.write_raw(line.as_bytes())?;
        self.log_bad(kind, None);
        Ok(())
    }

    fn drain(&mut self) -> Result<(), GenerateError> {
        self.csv.flush().map_err(|e| io_err(&self.path, e))?;
        let mut buf = self.sink.0.borrow_mut();
        if buf.is_empty() {
            return Ok(());
        }
        match self.conv.encoding {
            Encoding::Windows1252 => {
                let s = std::str::from_utf8(&buf).map_err(|e| io_err(&self.path, e))?;
                let (bytes, _, _) = encoding_rs::WINDOWS_1252.encode(s);
                self.file.write_all(&bytes).map_err(|e| io_err(&self.path, e))?;
            }
            Encoding::Utf8 | Encoding::Utf8Bom => {
                self.file.write_all(&buf).map_err(|e| io_err(&self.path, e))?;
            }
        }
        buf.clear();
        Ok(())
    }

    /// Writes the remaining forced bad rows and the end-of-file one, flushes, closes.
    pub(crate) fn finish(mut self) -> Result<TableStats, GenerateError> {
        let (forced, end) = match self.injector.as_mut() {
            Some(inj) => (std::mem::take(&mut inj.forced), inj.end.take()),
            None => (Vec::new(), None),
        };
        for (_, k) in forced {
            self.inline_bad_row(k)?;
        }
        if let Some(k) = end {
            self.end_bad_row(k)?;
        }
        self.drain()?;
        self.file.flush().map_err(|e| io_err(&self.path, e))?;
        let spec_columns = self.spec.columns;
        Ok(TableStats {
            table: self.spec.name,
            file: format!("{}.csv", self.spec.name),
            clean: self.clean,
            bad: self.bad,
            bad_log: self
                .bad_log
                .into_iter()
                .map(|(line, kind, column)| BadRowLog {
                    line,
                    kind: kind.as_str(),
                    column: column.and_then(|c| spec_columns.get(c).copied()),
                })
                .collect(),
        })
    }
}
