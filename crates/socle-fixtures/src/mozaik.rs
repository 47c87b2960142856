//! Mozaïk-style youth exports (`formats/mozaik.md`): one JSON Lines file per table, UTF-8, ISO
//! dates, JSON numbers, booleans and nulls of the contract's types, one object per line.
//!
//! The facts are the youth generator's (`css.rs`); this module only writes them, and injects
//! EXTRA bad lines (never corruptions of clean lines), each logged with its 1-based line and the
//! name of the `socle_connect::RejectKind` the connector should report.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use chrono::{Datelike, NaiveDate};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::GenerateError;
use crate::rng;
use crate::writer::{BAD_KEY_BASE, BadRowLog, TableStats};

/// JSON type of a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum J {
    Int,
    Dec,
    Str,
    Bool,
    Date,
    /// Pre-serialised JSON (the nested `codes` array of `legendes`).
    Raw,
}

/// Static description of one Mozaïk file.
pub(crate) struct MSpec {
    pub name: &'static str,
    pub columns: &'static [(&'static str, J)],
    /// Integer key column given a reserved value in bad lines.
    pub fresh_col: usize,
    /// A required column set to null in `missing_value` lines.
    pub required_col: usize,
    pub date_cols: &'static [usize],
    /// Number and boolean columns that get an array or object in `wrong type` lines.
    pub typed_cols: &'static [usize],
    /// A column with a closed domain (or pattern), and values outside it.
    pub domain: Option<(usize, &'static [&'static str])>,
    /// Column changed in a `duplicate_key` copy; `None` where duplicates are legal.
    pub dup_col: Option<usize>,
    /// String column that receives invalid UTF-8.
    pub text_col: usize,
}

pub(crate) const M_ETAB: usize = 0;
pub(crate) const M_ELEVES: usize = 1;
pub(crate) const M_COURS: usize = 2;
pub(crate) const M_FREQ: usize = 3;
pub(crate) const M_RES: usize = 4;
pub(crate) const M_LEG: usize = 5;
pub(crate) const M_ABS: usize = 6;
pub(crate) const M_CAL: usize = 7;
pub(crate) const N_MOZAIK: usize = 8;

use J::{Bool, Date, Dec, Int, Raw, Str};

pub(crate) const MOZAIK_TABLES: [MSpec; N_MOZAIK] = [
    MSpec {
        name: "etablissements",
        columns: &[
            ("etablissement_id", Int),
            ("code_organisme", Str),
            ("nom", Str),
            ("annee_scolaire", Str),
            ("fictif", Bool),
        ],
        fresh_col: 0,
        required_col: 0,
        date_cols: &[],
        typed_cols: &[0, 4],
        domain: Some((3, &["2024/2025", "2024_25", "24-25"])),
        dup_col: Some(2),
        text_col: 2,
    },
    MSpec {
        name: "eleves",
        columns: &[
            ("eleve_id", Int),
            ("code_permanent", Str),
            ("nom", Str),
            ("prenom", Str),
            ("genre", Str),
            ("date_naissance", Date),
        ],
        fresh_col: 0,
        required_col: 0,
        date_cols: &[5],
        typed_cols: &[0],
        domain: None,
        dup_col: None,
        text_col: 2,
    },
    MSpec {
        name: "cours",
        columns: &[
            ("etablissement_id", Int),
            ("code_cours", Str),
            ("description", Str),
            ("unites", Int),
        ],
        fresh_col: 0,
        required_col: 1,
        date_cols: &[],
        typed_cols: &[0, 3],
        domain: None,
        dup_col: Some(2),
        text_col: 2,
    },
    MSpec {
        name: "frequentations",
        columns: &[
            ("eleve_id", Int),
            ("etablissement_id", Int),
            ("annee_scolaire", Str),
            ("ordre_enseignement", Str),
            ("niveau", Int),
            ("groupe_repere", Str),
            ("plan_intervention", Bool),
            ("code_difficulte", Str),
            ("date_debut", Date),
            ("date_fin", Date),
            ("active", Bool),
            ("motif_depart", Str),
        ],
        fresh_col: 0,
        required_col: 1,
        date_cols: &[8, 9],
        typed_cols: &[0, 1, 4, 6, 10],
        domain: Some((3, &["collegial", "adulte", "maternelle"])),
        // Repeated enrolments are legal (`duplicates: keep`).
        dup_col: None,
        text_col: 5,
    },
    MSpec {
        name: "resultats",
        columns: &[
            ("eleve_id", Int),
            ("etablissement_id", Int),
            ("annee_scolaire", Str),
            ("code_cours", Str),
            ("groupe", Str),
            ("etape", Str),
            ("resultat", Str),
            ("legende", Str),
            ("unites_obtenues", Int),
            ("reprise", Bool),
            ("etat", Str),
        ],
        fresh_col: 0,
        required_col: 3,
        date_cols: &[],
        typed_cols: &[0, 1, 8, 9],
        domain: Some((5, &["4", "0", "annuel"])),
        dup_col: Some(6),
        text_col: 4,
    },
    MSpec {
        name: "legendes",
        columns: &[
            ("etablissement_id", Int),
            ("legende", Str),
            ("seuil_reussite", Dec),
            ("codes", Raw),
        ],
        fresh_col: 0,
        required_col: 1,
        date_cols: &[],
        typed_cols: &[0, 2],
        domain: None,
        dup_col: Some(2),
        text_col: 1,
    },
    MSpec {
        name: "absences",
        columns: &[
            ("eleve_id", Int),
            ("etablissement_id", Int),
            ("date", Date),
            ("periode", Int),
            ("motif", Str),
            ("categorie", Str),
        ],
        fresh_col: 0,
        required_col: 2,
        date_cols: &[2],
        typed_cols: &[0, 1, 3],
        domain: Some((5, &["excusee", "autre", "absent"])),
        dup_col: Some(4),
        text_col: 4,
    },
    MSpec {
        name: "calendrier",
        columns: &[
            ("etablissement_id", Int),
            ("date", Date),
            ("jour_classe", Bool),
            ("nb_periodes", Int),
        ],
        fresh_col: 0,
        required_col: 1,
        date_cols: &[1],
        typed_cols: &[0, 2, 3],
        domain: None,
        dup_col: Some(3),
        text_col: 1,
    },
];

/// Kinds of injected bad lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MozaikBadKind {
    /// A line that is not a JSON object.
    MalformedJson,
    /// A number or boolean field given as an array or an object.
    WrongType,
    UnparsableDate,
    OutOfDomain,
    DuplicateKey,
    /// A required field set to `null`.
    MissingValue,
    /// Bytes that are not UTF-8 inside a string.
    InvalidUtf8,
}

impl MozaikBadKind {
    pub const ALL: [MozaikBadKind; 7] = [
        MozaikBadKind::MalformedJson,
        MozaikBadKind::WrongType,
        MozaikBadKind::UnparsableDate,
        MozaikBadKind::OutOfDomain,
        MozaikBadKind::DuplicateKey,
        MozaikBadKind::MissingValue,
        MozaikBadKind::InvalidUtf8,
    ];

    /// The name written in `bad_rows.csv`: the `socle_connect::RejectKind` the connector
    /// reports (a field of the wrong JSON shape is `malformed_json`, as the kind's doc says).
    pub fn as_str(self) -> &'static str {
        match self {
            MozaikBadKind::MalformedJson | MozaikBadKind::WrongType => "malformed_json",
            MozaikBadKind::UnparsableDate => "unparsable_date",
            MozaikBadKind::OutOfDomain => "out_of_domain",
            MozaikBadKind::DuplicateKey => "duplicate_key",
            MozaikBadKind::MissingValue => "missing_value",
            MozaikBadKind::InvalidUtf8 => "invalid_encoding",
        }
    }

    fn applies_to(self, spec: &MSpec) -> bool {
        match self {
            MozaikBadKind::MalformedJson | MozaikBadKind::MissingValue | MozaikBadKind::InvalidUtf8 => true,
            MozaikBadKind::WrongType => !spec.typed_cols.is_empty(),
            MozaikBadKind::UnparsableDate => !spec.date_cols.is_empty(),
            MozaikBadKind::OutOfDomain => spec.domain.is_some(),
            MozaikBadKind::DuplicateKey => spec.dup_col.is_some(),
        }
    }
}

/// One object being built: the text of each column and whether it is null.
#[derive(Debug, Clone)]
pub(crate) struct MRow {
    pub vals: Vec<String>,
    pub null: Vec<bool>,
}

impl MRow {
    fn new(n: usize) -> Self {
        MRow {
            vals: vec![String::new(); n],
            null: vec![false; n],
        }
    }

    pub(crate) fn int(&mut self, c: usize, n: impl std::fmt::Display) {
        self.vals[c].clear();
        let _ = write!(self.vals[c], "{n}");
        self.null[c] = false;
    }

    pub(crate) fn str(&mut self, c: usize, s: &str) {
        self.vals[c].clear();
        self.vals[c].push_str(s);
        self.null[c] = false;
    }

    /// A string, or null when empty.
    pub(crate) fn opt_str(&mut self, c: usize, s: &str) {
        self.str(c, s);
        self.null[c] = s.is_empty();
    }

    pub(crate) fn bool(&mut self, c: usize, b: bool) {
        self.str(c, if b { "true" } else { "false" });
    }

    pub(crate) fn date(&mut self, c: usize, d: Option<NaiveDate>) {
        self.vals[c].clear();
        match d {
            Some(d) => {
                let _ = write!(self.vals[c], "{:04}-{:02}-{:02}", d.year(), d.month(), d.day());
                self.null[c] = false;
            }
            None => self.null[c] = true,
        }
    }

    pub(crate) fn null(&mut self, c: usize) {
        self.vals[c].clear();
        self.null[c] = true;
    }

    /// Pre-serialised JSON.
    pub(crate) fn raw(&mut self, c: usize, json: &str) {
        self.str(c, json);
    }
}

/// Appends `s` as a JSON string.
pub(crate) fn push_json_str(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'"');
    for &b in s {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0..0x20 => {
                let _ = write!(out, "\\u{b:04x}");
            }
            _ => out.push(b),
        }
    }
    out.push(b'"');
}

/// Serialises a row as one JSON object (no line end). `raw`: a column whose JSON value is given
/// as bytes (bad lines only).
fn serialize(spec: &MSpec, row: &MRow, raw: Option<(usize, &[u8])>, out: &mut Vec<u8>) {
    out.push(b'{');
    for (i, (name, ty)) in spec.columns.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        push_json_str(out, name.as_bytes());
        out.push(b':');
        if let Some((c, bytes)) = raw
            && c == i
        {
            out.extend_from_slice(bytes);
            continue;
        }
        if row.null[i] {
            out.extend_from_slice(b"null");
            continue;
        }
        match ty {
            J::Int | J::Dec | J::Bool | J::Raw => out.extend_from_slice(row.vals[i].as_bytes()),
            J::Str | J::Date => push_json_str(out, row.vals[i].as_bytes()),
        }
    }
    out.push(b'}');
}

/// Bad-line injection state of one file.
pub(crate) struct MInjector {
    rng: ChaCha8Rng,
    rate: f64,
    gap: u64,
    kinds: Vec<MozaikBadKind>,
    forced: Vec<(u64, MozaikBadKind)>,
    fresh: u64,
    dup_values: [String; 2],
}

impl MInjector {
    pub(crate) fn new(
        mut rng: ChaCha8Rng,
        table: usize,
        rate: f64,
        forced: &[MozaikBadKind],
        dup_values: [String; 2],
    ) -> Self {
        let spec = &MOZAIK_TABLES[table];
        let kinds: Vec<MozaikBadKind> = MozaikBadKind::ALL
            .iter()
            .copied()
            .filter(|k| k.applies_to(spec))
            .collect();
        // (A last line cut short is not injected: it is a cut file, which fails its whole
        // source, not a bad line of a night.)
        let mut inline = Vec::new();
        for k in forced {
            inline.push((rng.random_range(1..=25u64), *k));
        }
        inline.sort();
        let gap = rng::geometric(&mut rng, rate);
        MInjector {
            rng,
            rate,
            gap,
            kinds,
            forced: inline,
            fresh: 0,
            dup_values,
        }
    }
}

const CHUNK: usize = 1 << 16;

/// Streaming writer of one `.jsonl` file.
pub(crate) struct MozaikWriter {
    table: usize,
    spec: &'static MSpec,
    path: PathBuf,
    file: BufWriter<File>,
    buf: Vec<u8>,
    /// Lines written so far.
    lines: u64,
    clean: u64,
    bad: u64,
    last: MRow,
    has_last: bool,
    injector: Option<MInjector>,
    /// (line, kind, index of the spoiled column) of every bad line written.
    bad_log: Vec<(u64, MozaikBadKind, Option<usize>)>,
}

fn io_err(path: &Path, e: impl std::fmt::Display) -> GenerateError {
    GenerateError::Write {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

impl MozaikWriter {
    pub(crate) fn create(dir: &Path, table: usize, injector: Option<MInjector>) -> Result<Self, GenerateError> {
        let spec = &MOZAIK_TABLES[table];
        let path = dir.join(format!("{}.jsonl", spec.name));
        let file = File::create(&path).map_err(|e| io_err(&path, e))?;
        Ok(MozaikWriter {
            table,
            spec,
            path,
            file: BufWriter::with_capacity(CHUNK, file),
            buf: Vec::with_capacity(1024),
            lines: 0,
            clean: 0,
            bad: 0,
            last: MRow::new(spec.columns.len()),
            has_last: false,
            injector,
            bad_log: Vec::new(),
        })
    }

    fn put_line(&mut self) -> Result<(), GenerateError> {
        self.buf.push(b'\n');
        self.file.write_all(&self.buf).map_err(|e| io_err(&self.path, e))?;
        self.buf.clear();
        self.lines += 1;
        Ok(())
    }

    /// Writes one clean object, then maybe bad lines after it.
    pub(crate) fn write(&mut self, row: &MRow) -> Result<(), GenerateError> {
        self.buf.clear();
        serialize(self.spec, row, None, &mut self.buf);
        self.put_line()?;
        self.clean += 1;
        if self.injector.is_none() {
            return Ok(());
        }
        for (dst, src) in self.last.vals.iter_mut().zip(&row.vals) {
            dst.clone_from(src);
        }
        self.last.null.copy_from_slice(&row.null);
        self.has_last = true;
        let mut todo: Vec<MozaikBadKind> = Vec::new();
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
                    todo.push(inj.kinds[inj.rng.random_range(0..inj.kinds.len())]);
                }
                inj.gap = rng::geometric(&mut inj.rng, inj.rate);
            } else if inj.gap != u64::MAX {
                inj.gap -= 1;
            }
        }
        for k in todo {
            self.bad_line(k)?;
        }
        Ok(())
    }

    /// The last clean row with a fresh key (or the same key for a duplicate). A bad `legendes`
    /// line never carries codes, so that it only ever produces one rejected record.
    fn template(&mut self, keep_key: bool) -> MRow {
        let mut row = self.last.clone();
        if let Some(inj) = self.injector.as_mut()
            && !keep_key
        {
            row.int(self.spec.fresh_col, BAD_KEY_BASE + inj.fresh);
            inj.fresh += 1;
        }
        if self.table == M_LEG {
            row.raw(3, "[]");
        }
        row
    }

    fn bad_line(&mut self, kind: MozaikBadKind) -> Result<(), GenerateError> {
        if !self.has_last {
            return Ok(());
        }
        let mut row = self.template(kind == MozaikBadKind::DuplicateKey);
        let spec = self.spec;
        let Some(inj) = self.injector.as_mut() else {
            return Ok(());
        };
        let mut raw: Option<(usize, Vec<u8>)> = None;
        let mut out = Vec::with_capacity(256);
        let mut spoiled: Option<usize> = None;
        match kind {
            MozaikBadKind::MalformedJson => {
                serialize(spec, &row, None, &mut out);
                match inj.rng.random_range(0..3u8) {
                    // A trailing comma.
                    0 => {
                        out.pop();
                        out.extend_from_slice(b",}");
                    }
                    // The first key unquoted.
                    1 => {
                        let name = spec.columns[0].0;
                        let mut fixed = b"{".to_vec();
                        fixed.extend_from_slice(name.as_bytes());
                        fixed.extend_from_slice(&out[name.len() + 3..]);
                        out = fixed;
                    }
                    // The closing brace lost.
                    _ => {
                        out.pop();
                    }
                }
            }
            MozaikBadKind::WrongType => {
                let c = spec.typed_cols[inj.rng.random_range(0..spec.typed_cols.len())];
                spoiled = Some(c);
                let v = if row.null[c] { "null" } else { row.vals[c].as_str() };
                let wrapped = if inj.rng.random_bool(0.5) {
                    format!("[{v}]")
                } else {
                    format!("{{\"valeur\":{v}}}")
                };
                raw = Some((c, wrapped.into_bytes()));
            }
            MozaikBadKind::UnparsableDate => {
                let c = spec.date_cols[inj.rng.random_range(0..spec.date_cols.len())];
                let bad = ["2024-13-45", "2024-02-30", "2023-00-12", "hier", "20241345x"];
                row.str(c, bad[inj.rng.random_range(0..bad.len())]);
                spoiled = Some(c);
            }
            MozaikBadKind::OutOfDomain => {
                if let Some((c, values)) = spec.domain {
                    row.str(c, values[inj.rng.random_range(0..values.len())]);
                    spoiled = Some(c);
                }
            }
            MozaikBadKind::DuplicateKey => {
                if let Some(c) = spec.dup_col {
                    let v = if row.vals[c] != inj.dup_values[0] {
                        inj.dup_values[0].clone()
                    } else {
                        inj.dup_values[1].clone()
                    };
                    row.vals[c] = v;
                    row.null[c] = false;
                }
            }
            MozaikBadKind::MissingValue => {
                row.null(spec.required_col);
                spoiled = Some(spec.required_col);
            }
            MozaikBadKind::InvalidUtf8 => {
                let c = spec.text_col;
                let s = &row.vals[c];
                let mut at = s.len() / 2;
                while at > 0 && !s.is_char_boundary(at) {
                    at -= 1;
                }
                let mut bytes = Vec::with_capacity(s.len() + 4);
                let mut inner = s.as_bytes().to_vec();
                inner.splice(at..at, [0xFF, 0xFE]);
                push_json_str(&mut bytes, &inner);
                raw = Some((c, bytes));
                spoiled = Some(c);
            }
        }
        if out.is_empty() {
            serialize(spec, &row, raw.as_ref().map(|(c, b)| (*c, b.as_slice())), &mut out);
        }
        self.buf = out;
        self.put_line()?;
        self.bad += 1;
        self.bad_log.push((self.lines, kind, spoiled));
        Ok(())
    }

    pub(crate) fn finish(mut self) -> Result<TableStats, GenerateError> {
        let forced = match self.injector.as_mut() {
            Some(inj) => std::mem::take(&mut inj.forced),
            None => Vec::new(),
        };
        for (_, k) in forced {
            self.bad_line(k)?;
        }
        self.file.flush().map_err(|e| io_err(&self.path, e))?;
        Ok(TableStats {
            table: self.spec.name,
            file: format!("{}.jsonl", self.spec.name),
            clean: self.clean,
            bad: self.bad,
            bad_log: self
                .bad_log
                .into_iter()
                .map(|(line, kind, column)| BadRowLog {
                    line,
                    kind: kind.as_str(),
                    column: column.and_then(|c| self.spec.columns.get(c)).map(|(name, _)| *name),
                })
                .collect(),
        })
    }
}

/// The kinds each file of one CSS must receive, so that every kind occurs in every CSS.
pub(crate) fn forced_plan(ci: usize) -> Vec<Vec<MozaikBadKind>> {
    let mut plan: Vec<Vec<MozaikBadKind>> = vec![Vec::new(); N_MOZAIK];
    let r = ci;
    const DATE_T: [usize; 4] = [M_ELEVES, M_FREQ, M_ABS, M_CAL];
    const DOM_T: [usize; 4] = [M_ETAB, M_FREQ, M_RES, M_ABS];
    const DUP_T: [usize; 6] = [M_ETAB, M_COURS, M_RES, M_LEG, M_ABS, M_CAL];
    plan[r % N_MOZAIK].push(MozaikBadKind::MalformedJson);
    plan[(r + 3) % N_MOZAIK].push(MozaikBadKind::WrongType);
    plan[DATE_T[r % DATE_T.len()]].push(MozaikBadKind::UnparsableDate);
    plan[DOM_T[r % DOM_T.len()]].push(MozaikBadKind::OutOfDomain);
    plan[DUP_T[r % DUP_T.len()]].push(MozaikBadKind::DuplicateKey);
    plan[(r + 5) % N_MOZAIK].push(MozaikBadKind::MissingValue);
    plan[(r + 6) % N_MOZAIK].push(MozaikBadKind::InvalidUtf8);
    plan
}

/// The Mozaïk files of one CSS and their row buffers.
pub(crate) struct MozaikOut {
    pub w: Vec<MozaikWriter>,
    pub rows: Vec<MRow>,
}

impl MozaikOut {
    pub(crate) fn create(
        dir: &Path,
        seed: u64,
        css_label: u64,
        ci: usize,
        bad_rate: f64,
        dup_values: impl Fn(usize) -> [String; 2],
    ) -> Result<Self, GenerateError> {
        let plan = if bad_rate > 0.0 {
            forced_plan(ci)
        } else {
            vec![Vec::new(); N_MOZAIK]
        };
        let mut w = Vec::with_capacity(N_MOZAIK);
        for (t, forced) in plan.iter().enumerate() {
            let injector = (bad_rate > 0.0).then(|| {
                MInjector::new(
                    rng::stream(seed, &[rng::SALT_BAD, css_label, 100 + t as u64]),
                    t,
                    bad_rate,
                    forced,
                    dup_values(t),
                )
            });
            w.push(MozaikWriter::create(dir, t, injector)?);
        }
        Ok(MozaikOut {
            w,
            rows: MOZAIK_TABLES.iter().map(|t| MRow::new(t.columns.len())).collect(),
        })
    }

    pub(crate) fn emit(&mut self, table: usize) -> Result<(), GenerateError> {
        self.w[table].write(&self.rows[table])
    }

    pub(crate) fn finish(self) -> Result<Vec<TableStats>, GenerateError> {
        self.w.into_iter().map(MozaikWriter::finish).collect()
    }
}
