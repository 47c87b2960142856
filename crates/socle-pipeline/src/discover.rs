//! Finding each CSS's night in an exports root: `<root>/<CSS code>/<YYYY-MM-DD>/<source>/`.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use socle_dictionary::Dictionary;
use socle_warehouse::InputFile;

use crate::PipelineError;

/// The night of one CSS to load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NightPlan {
    pub code_css: String,
    /// `YYYY-MM-DD`.
    pub night: String,
    /// The night folder.
    pub dir: PathBuf,
    /// The source systems whose folder is in the night folder, in the dictionary's order.
    pub systems: Vec<String>,
}

/// A CSS asked for, and its night, or why it has none.
pub type Planned = (String, Result<NightPlan, String>);

/// The night folder of each CSS: `night` if given, else the latest. `css` restricts the CSS
/// (default: every 6-digit folder of the root). A CSS without a usable night is returned with
/// the reason, so the run reports it and goes on with the others.
pub fn discover(
    root: &Path,
    css: &[String],
    night: Option<&str>,
    dictionary: &Dictionary,
) -> Result<Vec<Planned>, PipelineError> {
    let entries = std::fs::read_dir(root).map_err(|source| PipelineError::Io {
        what: "reading the exports root".into(),
        path: root.to_path_buf(),
        source,
    })?;
    let mut found = BTreeMap::new();
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.len() == 6 && name.bytes().all(|b| b.is_ascii_digit()) && e.path().is_dir() {
            found.insert(name, e.path());
        }
    }
    let wanted: Vec<String> = if css.is_empty() {
        found.keys().cloned().collect()
    } else {
        css.to_vec()
    };
    let mut out = Vec::new();
    for code in wanted {
        let Some(dir) = found.get(&code) else {
            out.push((code.clone(), Err(format!("no export folder {}/{code}", root.display()))));
            continue;
        };
        let mut nights: Vec<String> = std::fs::read_dir(dir)
            .map(|rd| {
                rd.flatten()
                    .filter(|e| e.path().is_dir())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| chrono::NaiveDate::parse_from_str(n, "%Y-%m-%d").is_ok())
                    .collect()
            })
            .unwrap_or_default();
        nights.sort();
        let chosen = match night {
            Some(n) if nights.iter().any(|x| x == n) => Ok(n.to_string()),
            Some(n) => Err(format!("no night {n} in {}", dir.display())),
            None => nights
                .last()
                .cloned()
                .ok_or_else(|| format!("no night folder (YYYY-MM-DD) in {}", dir.display())),
        };
        let plan = chosen.and_then(|n| {
            let night_dir = dir.join(&n);
            let systems: Vec<String> = dictionary
                .sources
                .iter()
                .filter(|s| night_dir.join(&s.folder).is_dir())
                .map(|s| s.system.clone())
                .collect();
            if systems.is_empty() {
                let folders: Vec<&str> = dictionary.sources.iter().map(|s| s.folder.as_str()).collect();
                Err(format!(
                    "no source folder ({}) in {}",
                    folders.join("/, ") + "/",
                    night_dir.display()
                ))
            } else {
                Ok(NightPlan {
                    code_css: code.clone(),
                    night: n,
                    dir: night_dir,
                    systems,
                })
            }
        });
        out.push((code, plan));
    }
    Ok(out)
}

/// The contract files of the night's sources with their SHA-256, as the manifest records them
/// (`gpi/gpm_e_ele.csv`). `None` if a contract file is missing: that night cannot be
/// "unchanged" (it will fail, and say why).
pub fn fingerprint_inputs(plan: &NightPlan, dictionary: &Dictionary) -> Result<Option<Vec<InputFile>>, PipelineError> {
    let mut out: BTreeMap<String, InputFile> = BTreeMap::new();
    for system in &plan.systems {
        let Some(source) = dictionary.source(system) else {
            continue;
        };
        for table in &source.tables {
            let rel = format!("{}/{}", source.folder, table.file);
            if out.contains_key(&rel) {
                continue;
            }
            let path = plan.dir.join(&source.folder).join(&table.file);
            if !path.is_file() {
                return Ok(None);
            }
            let (sha256, bytes) = sha256_file(&path)?;
            out.insert(
                rel.clone(),
                InputFile {
                    path: rel,
                    sha256,
                    bytes,
                    rows: 0,
                },
            );
        }
    }
    Ok(Some(out.into_values().collect()))
}

fn sha256_file(path: &Path) -> Result<(String, u64), PipelineError> {
    let io = |source| PipelineError::Io {
        what: "hashing".into(),
        path: path.to_path_buf(),
        source,
    };
    let mut file = File::open(path).map_err(io)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut bytes = 0u64;
    loop {
        let n = file.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        bytes += n as u64;
    }
    Ok((hex::encode(hasher.finalize()), bytes))
}

/// Whether two input lists name the same files with the same content.
pub fn same_inputs(a: &[InputFile], b: &[InputFile]) -> bool {
    let key = |v: &[InputFile]| {
        let mut k: Vec<(String, String)> = v.iter().map(|f| (f.path.clone(), f.sha256.clone())).collect();
        k.sort();
        k
    };
    key(a) == key(b)
}
