use crate::model::*;
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: {message}")]
    Yaml { path: PathBuf, message: String },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    version: String,
    #[allow(dead_code)]
    description: Option<String>,
}

fn read_yaml<T: DeserializeOwned>(path: &Path) -> Result<T, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    serde_saphyr::from_str(&text).map_err(|e| LoadError::Yaml {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

/// YAML files of a folder, sorted by name (a missing folder is empty).
fn yaml_files(dir: &Path) -> Result<Vec<PathBuf>, LoadError> {
    let mut out = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(source) => {
            return Err(LoadError::Io {
                path: dir.to_path_buf(),
                source,
            });
        }
    };
    for entry in entries {
        let entry = entry.map_err(|source| LoadError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let p = entry.path();
        if matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")) {
            out.push(p);
        }
    }
    out.sort();
    Ok(out)
}

impl Dictionary {
    /// Loads the dictionary from a `schemas/` folder. Parse errors name the file; semantic
    /// problems are reported by [`Dictionary::validate`].
    pub fn load(root: impl AsRef<Path>) -> Result<Self, LoadError> {
        let root = root.as_ref().to_path_buf();
        let header: Header = read_yaml(&root.join("dictionnaire.yaml"))?;
        let mut entities = Vec::new();
        for path in yaml_files(&root.join("entities"))? {
            let mut e: Entity = read_yaml(&path)?;
            e.file = path;
            entities.push(e);
        }
        let mut sources = Vec::new();
        for path in yaml_files(&root.join("sources"))? {
            let mut s: Source = read_yaml(&path)?;
            s.file = path;
            sources.push(s);
        }
        let values_path = root.join("valeurs.yaml");
        let mut values: ValueMaps = read_yaml(&values_path)?;
        values.file = values_path;
        let finance_path = root.join("finance.yaml");
        let mut finance: FinanceMap = read_yaml(&finance_path)?;
        finance.file = finance_path;
        let mut css = BTreeMap::new();
        for path in yaml_files(&root.join("css"))? {
            let mut p: CssProfile = read_yaml(&path)?;
            let stem = path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default()
                .to_string();
            if stem != p.code_css {
                return Err(LoadError::Invalid {
                    path,
                    message: format!("code_css {:?} does not match the file name {stem}.yaml", p.code_css),
                });
            }
            if let Some(f) = &mut p.finance {
                f.file = path.clone();
            }
            p.file = path;
            css.insert(p.code_css.clone(), p);
        }
        Ok(Dictionary {
            root,
            version: header.version,
            entities,
            sources,
            values,
            finance,
            css,
        })
    }
}
