//! The data-quality report of one CSS's run: per source table rows read, loaded and quarantined by
//! reason; per canonical entity the same after normalisation; anomalies worth a look.

use datafusion::arrow::array::{Array, RecordBatch, StringArray};
use serde::Serialize;
use socle_connect::{FileInfo, Reject, TypedTable};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct SourceQuality {
    pub fichier: String,
    pub encodage: String,
    pub lignes_lues: u64,
    pub lignes_chargees: u64,
    pub quarantaine: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct EntityQuality {
    pub lignes_entree: u64,
    pub lignes_chargees: u64,
    pub quarantaine: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct QualityReport {
    pub code_css: String,
    /// Source table -> counts at reading (connector).
    pub sources: BTreeMap<String, SourceQuality>,
    /// Canonical entity -> counts at normalisation.
    pub entites: BTreeMap<String, EntityQuality>,
    /// Anomalies that are loaded but reported: local student keys, unmapped local course
    /// codes, repeated fiches.
    pub anomalies: BTreeMap<String, u64>,
}

impl QualityReport {
    pub fn new(code_css: &str) -> Self {
        QualityReport {
            code_css: code_css.to_string(),
            ..Default::default()
        }
    }

    pub fn add_source(&mut self, t: &TypedTable, files: &[FileInfo], rejects: &[Reject]) {
        let info = files.iter().find(|f| f.table == t.name);
        let mut quarantaine = BTreeMap::new();
        for r in rejects.iter().filter(|r| r.table == t.name) {
            *quarantaine.entry(r.kind.as_str().to_string()).or_insert(0) += 1;
        }
        self.sources.insert(
            t.name.clone(),
            SourceQuality {
                fichier: info
                    .and_then(|f| f.path.file_name())
                    .map(|f| f.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                encodage: info.map(|f| f.encoding.clone()).unwrap_or_default(),
                lignes_lues: t.rows_read,
                lignes_chargees: t.rows_loaded,
                quarantaine,
            },
        );
    }

    pub fn add_entity(&mut self, entity: &str, rows_in: u64, rows_loaded: u64, rejected: &[RecordBatch]) {
        let mut quarantaine = BTreeMap::new();
        for b in rejected {
            if let Some(reasons) = b
                .column_by_name("_reason")
                .and_then(|c| c.as_any().downcast_ref::<StringArray>())
            {
                for i in 0..reasons.len() {
                    if reasons.is_valid(i) {
                        *quarantaine.entry(reasons.value(i).to_string()).or_insert(0) += 1;
                    }
                }
            }
        }
        self.entites.insert(
            entity.to_string(),
            EntityQuality {
                lignes_entree: rows_in,
                lignes_chargees: rows_loaded,
                quarantaine,
            },
        );
    }

    pub fn add_anomaly(&mut self, name: &str, count: u64) {
        self.anomalies.insert(name.to_string(), count);
    }

    /// Rows quarantined at reading and at normalisation.
    pub fn total_quarantined(&self) -> u64 {
        let read: u64 = self.sources.values().flat_map(|s| s.quarantaine.values()).sum();
        let norm: u64 = self.entites.values().flat_map(|e| e.quarantaine.values()).sum();
        read + norm
    }

    /// Rows loaded into canonical entities.
    pub fn total_loaded(&self) -> u64 {
        self.entites.values().map(|e| e.lignes_chargees).sum()
    }
}
