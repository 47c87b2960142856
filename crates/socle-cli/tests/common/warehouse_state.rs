//! The state of a warehouse as its manifests list it, read straight from the files: the
//! manifests' JSON and the Parquet files they list. Never through `Warehouse::open`, whose
//! garbage collection would remove the orphan files a test wants to count first.
#![allow(dead_code)]

use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, BTreeSet};
use std::hash::{Hash, Hasher};
use std::path::Path;

use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use datafusion::parquet::file::reader::{FileReader, SerializedFileReader};
use socle_warehouse::{Manifest, MartsManifest, TableFiles};

/// The owner of the marts' files in a [`State`] (CSS manifests are owned by their code).
pub const MARTS: &str = "_marts";

/// One partition of a table or mart (the folder of its file, e.g.
/// `css/866000/resultat/annee_scolaire=2024-2025`): rows, and with `content` a hash of its
/// rows sorted (every column, as text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub rows: u64,
    pub content: Option<u64>,
}

/// Owner (a CSS code, or [`MARTS`]) -> partition folder -> its rows.
pub type State = BTreeMap<String, BTreeMap<String, Part>>;

/// The current manifests: every CSS's (by code) and the marts'.
pub fn manifests(warehouse: &Path) -> (BTreeMap<String, Manifest>, Option<MartsManifest>) {
    let dir = warehouse.join("_socle/manifests");
    let mut css = BTreeMap::new();
    let mut marts = None;
    for e in std::fs::read_dir(&dir).unwrap() {
        let path = e.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let Some(code) = name.strip_suffix(".json") else {
            continue;
        };
        let text = std::fs::read_to_string(&path).unwrap();
        if code == MARTS {
            marts = Some(serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}")));
        } else if code.chars().all(|c| c.is_ascii_digit()) {
            let m: Manifest = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
            css.insert(code.to_string(), m);
        }
    }
    (css, marts)
}

/// The files of every owner's manifest: owner -> (table or mart name, its files).
fn owned(warehouse: &Path) -> BTreeMap<String, Vec<(String, TableFiles)>> {
    let (css, marts) = manifests(warehouse);
    let mut out: BTreeMap<String, Vec<(String, TableFiles)>> = BTreeMap::new();
    for (code, m) in css {
        let mut tables: Vec<(String, TableFiles)> = m.tables.into_iter().collect();
        tables.push((socle_warehouse::QUARANTINE.to_string(), m.quarantine));
        out.insert(code, tables);
    }
    if let Some(m) = marts {
        out.insert(MARTS.to_string(), m.marts.into_iter().collect());
    }
    out
}

/// Every file the current manifests list, relative to the warehouse root.
pub fn listed_files(warehouse: &Path) -> BTreeSet<String> {
    owned(warehouse)
        .values()
        .flatten()
        .flat_map(|(_, t)| t.all_files().cloned().collect::<Vec<_>>())
        .collect()
}

/// Every file present in the data zones (`css/`, `shared/`, `marts/`), relative to the root.
pub fn data_files(warehouse: &Path) -> BTreeSet<String> {
    fn walk(dir: &Path, rel: &str, out: &mut BTreeSet<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for e in entries {
            let e = e.unwrap();
            let name = format!("{rel}/{}", e.file_name().to_string_lossy());
            if e.file_type().unwrap().is_dir() {
                // A table's Delta log is not a data file.
                if e.file_name() != "_delta_log" {
                    walk(&e.path(), &name, out);
                }
            } else {
                out.insert(name);
            }
        }
    }
    let mut out = BTreeSet::new();
    for zone in ["css", "shared", "marts"] {
        walk(&warehouse.join(zone), zone, &mut out);
    }
    out
}

/// Every file of the manifests (intermediate models included), by Delta table.
fn listed_by_table(warehouse: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let (css, marts) = manifests(warehouse);
    let listed: Vec<String> = css
        .values()
        .flat_map(|m| m.files().cloned().collect::<Vec<_>>())
        .chain(marts.iter().flat_map(|m| m.files().cloned().collect::<Vec<_>>()))
        .collect();
    socle_warehouse::delta::whole_tables(&listed)
}

/// The Delta tables whose active files (their latest version) are not exactly the files the
/// manifests list in that table: every table folder holding a listed file, and every folder
/// holding a `_delta_log`. Empty when the logs agree with the manifests.
#[allow(dead_code)]
pub fn delta_mismatches(warehouse: &Path) -> BTreeMap<String, (BTreeSet<String>, BTreeSet<String>)> {
    fn logs(dir: &Path, rel: &str, out: &mut BTreeSet<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for e in entries.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                let name = e.file_name().to_string_lossy().into_owned();
                if name == "_delta_log" {
                    out.insert(rel.to_string());
                } else {
                    logs(&e.path(), &format!("{rel}/{name}"), out);
                }
            }
        }
    }
    let by_table = listed_by_table(warehouse);
    let mut tables: BTreeSet<String> = by_table.keys().cloned().collect();
    for zone in ["css", "shared", "marts", "_socle/intermediate"] {
        logs(&warehouse.join(zone), zone, &mut tables);
    }
    let mut out = BTreeMap::new();
    for table in tables {
        let active = socle_warehouse::delta::active_files(warehouse, &table).unwrap();
        let wanted = by_table.get(&table).cloned().unwrap_or_default();
        if active != wanted {
            out.insert(table, (wanted, active));
        }
    }
    out
}

/// The rows of every Delta table the manifests list files in (intermediate models included),
/// summed from the footers of those files.
#[allow(dead_code)]
pub fn delta_table_rows(warehouse: &Path) -> BTreeMap<String, u64> {
    listed_by_table(warehouse)
        .into_iter()
        .map(|(table, files)| {
            let rows = files
                .iter()
                .map(|f| read_part(&warehouse.join(f), false).unwrap().rows)
                .sum();
            (table, rows)
        })
        .collect()
}

/// Files present in the data zones that no manifest lists.
pub fn orphans(warehouse: &Path) -> BTreeSet<String> {
    let listed = listed_files(warehouse);
    data_files(warehouse)
        .into_iter()
        .filter(|f| !listed.contains(f))
        .collect()
}

/// Rows of a Parquet file from its footer, and with `content` a hash of its rows sorted.
fn read_part(path: &Path, content: bool) -> Result<Part, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if !content {
        let reader = SerializedFileReader::new(file).map_err(|e| format!("{}: {e}", path.display()))?;
        let rows = reader.metadata().file_metadata().num_rows() as u64;
        return Ok(Part { rows, content: None });
    }
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .and_then(|b| b.build())
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let options = FormatOptions::default().with_null("∅");
    let mut lines = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|e| format!("{}: {e}", path.display()))?;
        let formatters: Vec<ArrayFormatter> = batch
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &options).unwrap())
            .collect();
        for row in 0..batch.num_rows() {
            let line: Vec<String> = formatters.iter().map(|f| f.value(row).to_string()).collect();
            lines.push(line.join("\u{1f}"));
        }
    }
    let rows = lines.len() as u64;
    lines.sort();
    let mut h = DefaultHasher::new();
    lines.hash(&mut h);
    Ok(Part {
        rows,
        content: Some(h.finish()),
    })
}

/// The partition folder of a listed file: its path without the file name (which is the run id).
fn part_of(rel: &str) -> String {
    rel.rsplit_once('/').map(|(d, _)| d.to_string()).unwrap_or_default()
}

/// The state the current manifests describe, read from the files they list, and the problems
/// found: a listed file missing or unreadable, rows differing from what the manifest records
/// (per table, per school year, per zone). No problem means every owner is exactly its manifest.
pub fn state(warehouse: &Path, content: bool) -> (State, Vec<String>) {
    let mut state = State::new();
    let mut problems = Vec::new();
    for (owner, tables) in owned(warehouse) {
        let parts = state.entry(owner.clone()).or_default();
        for (name, files) in tables {
            // Rows per zone and year, to compare with what the manifest records.
            let mut css_rows = 0u64;
            let mut shared_rows = 0u64;
            let mut years: BTreeMap<String, u64> = BTreeMap::new();
            for (zone_css, rel) in files
                .css_files
                .iter()
                .map(|f| (true, f))
                .chain(files.shared_files.iter().map(|f| (false, f)))
            {
                let part = match read_part(&warehouse.join(rel), content) {
                    Ok(p) => p,
                    Err(e) => {
                        problems.push(format!("{owner}: {name}: listed file unreadable or missing: {e}"));
                        continue;
                    }
                };
                if zone_css {
                    css_rows += part.rows;
                    if let Some(y) = socle_warehouse::partition_year(rel) {
                        *years.entry(y.to_string()).or_default() += part.rows;
                    }
                } else {
                    shared_rows += part.rows;
                }
                let key = part_of(rel);
                if parts.insert(key.clone(), part).is_some() {
                    problems.push(format!("{owner}: {key}: two files listed"));
                }
            }
            if css_rows != files.rows && !(owner == MARTS && files.css_files.is_empty()) {
                problems.push(format!(
                    "{owner}: {name}: {css_rows} rows in its files, {} in the manifest",
                    files.rows
                ));
            }
            if owner != MARTS && shared_rows != files.rows && !files.shared_files.is_empty() {
                problems.push(format!(
                    "{owner}: {name}: {shared_rows} rows in the shared zone, {} in the CSS zone",
                    files.rows
                ));
            }
            if owner != MARTS && years != files.partition_rows {
                problems.push(format!(
                    "{owner}: {name}: rows per school year {years:?}, the manifest says {:?}",
                    files.partition_rows
                ));
            }
        }
    }
    (state, problems)
}

/// Total rows of an owner's state.
pub fn rows(parts: &BTreeMap<String, Part>) -> u64 {
    parts.values().map(|p| p.rows).sum()
}
