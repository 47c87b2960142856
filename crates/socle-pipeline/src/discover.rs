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

#[cfg(test)]
mod tests {
    use super::*;

    fn dictionary() -> Dictionary {
        let schemas = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas");
        Dictionary::load(&schemas).expect("the repository's dictionary loads")
    }

    fn touch(path: &Path) {
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
        std::fs::write(path, b"x").expect("write");
    }

    #[test]
    fn the_latest_night_and_its_sources_are_found() -> Result<(), Box<dyn std::error::Error>> {
        let dict = dictionary();
        let root = tempfile::tempdir()?;
        for night in ["2025-11-19", "2025-11-20"] {
            std::fs::create_dir_all(root.path().join("866000").join(night).join("gpi"))?;
        }
        std::fs::create_dir_all(root.path().join("866000/2025-11-20/dofin"))?;
        std::fs::create_dir_all(root.path().join("866000/not-a-night"))?;
        std::fs::create_dir_all(root.path().join("881000/2025-11-20/autre"))?;
        std::fs::create_dir_all(root.path().join("readme"))?;
        let plan = discover(root.path(), &[], None, &dict)?;
        assert_eq!(plan.len(), 2);
        let (code, p) = &plan[0];
        assert_eq!(code, "866000");
        let p = p.as_ref().map_err(|e| e.clone())?;
        assert_eq!(p.night, "2025-11-20");
        let mut systems = p.systems.clone();
        systems.sort();
        assert_eq!(systems, vec!["dofin".to_string(), "gpi".to_string()]);
        let (_, none) = &plan[1];
        let err = none.as_ref().err().ok_or("881000 has no source folder")?;
        assert!(err.contains("no source folder") && err.contains("mozaik/"), "{err}");

        let plan = discover(
            root.path(),
            &["866000".into(), "999000".into()],
            Some("2025-11-19"),
            &dict,
        )?;
        let first = plan[0].1.as_ref().map_err(|e| e.clone())?;
        assert_eq!(first.night, "2025-11-19");
        assert_eq!(first.systems, vec!["gpi".to_string()]);
        assert!(plan[1].1.as_ref().is_err_and(|e| e.contains("no export folder")));
        let missing = discover(root.path(), &["866000".into()], Some("2024-01-01"), &dict)?;
        assert!(missing[0].1.as_ref().is_err_and(|e| e.contains("no night 2024-01-01")));
        Ok(())
    }

    #[test]
    fn inputs_are_fingerprinted_by_content_and_compared_in_any_order() -> Result<(), Box<dyn std::error::Error>> {
        let dict = dictionary();
        let root = tempfile::tempdir()?;
        let night = root.path().join("866000/2025-11-20");
        let source = dict.source("dofin").ok_or("no dofin contract")?;
        for t in &source.tables {
            touch(&night.join("dofin").join(&t.file));
        }
        let plan = NightPlan {
            code_css: "866000".into(),
            night: "2025-11-20".into(),
            dir: night.clone(),
            systems: vec!["dofin".into()],
        };
        let a = fingerprint_inputs(&plan, &dict)?.ok_or("all files are there")?;
        assert_eq!(a.len(), source.tables.len());
        assert!(
            a.iter()
                .all(|f| f.path.starts_with("dofin/") && f.bytes == 1 && f.sha256.len() == 64)
        );
        let mut reversed = a.clone();
        reversed.reverse();
        assert!(same_inputs(&a, &reversed));
        std::fs::write(night.join("dofin").join(&source.tables[0].file), b"y")?;
        let b = fingerprint_inputs(&plan, &dict)?.ok_or("all files are there")?;
        assert!(!same_inputs(&a, &b), "a changed file is a changed night");
        std::fs::remove_file(night.join("dofin").join(&source.tables[1].file))?;
        assert!(
            fingerprint_inputs(&plan, &dict)?.is_none(),
            "a missing file is never unchanged"
        );
        Ok(())
    }

    #[test]
    fn entities_know_the_sources_that_feed_them() {
        let fed = crate::entities_fed(&dictionary());
        let set = |e: &str| fed.get(e).cloned().unwrap_or_default();
        assert!(set("eleve").is_superset(&["gpi", "mozaik", "jade"].iter().map(|s| s.to_string()).collect()));
        assert!(set("resultat").contains("mozaik") && set("resultat").contains("gpi"));
        assert_eq!(
            set("ecriture").into_iter().collect::<Vec<_>>(),
            vec!["dofin".to_string()]
        );
        assert_eq!(
            set("sanction").into_iter().collect::<Vec<_>>(),
            vec!["jade".to_string()]
        );
    }
}
