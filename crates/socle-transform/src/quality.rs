//! The data-quality report of one CSS's run: per source table rows read, loaded and quarantined by
//! reason; per canonical entity the same after normalisation, in total and per source system;
//! anomalies worth a look, per source system.

use datafusion::arrow::array::{Array, RecordBatch, StringArray};
use serde::Serialize;
use socle_connect::{FileInfo, Reject, TypedTable};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct SourceQuality {
    /// The source system of the table (`gpi`, `mozaik`, `jade`, `dofin`).
    pub systeme: String,
    pub fichier: String,
    pub encodage: String,
    pub lignes_lues: u64,
    pub lignes_chargees: u64,
    pub quarantaine: BTreeMap<String, u64>,
}

/// Counts of one entity fed by one source system.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct EntitySystemQuality {
    pub lignes_entree: u64,
    pub lignes_chargees: u64,
    pub quarantaine: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct EntityQuality {
    /// Rows out of the plans (every system), before quarantine.
    pub lignes_entree: u64,
    pub lignes_chargees: u64,
    /// Reason -> rows, every system.
    pub quarantaine: BTreeMap<String, u64>,
    /// The same counts per source system that fed the entity.
    pub par_systeme: BTreeMap<String, EntitySystemQuality>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct QualityReport {
    pub code_css: String,
    /// The source systems normalised, in the order they ran.
    pub systemes: Vec<String>,
    /// Source table -> counts at reading (connector). Table names are unique across systems
    /// (the dictionary checks it); `systeme` says which one.
    pub sources: BTreeMap<String, SourceQuality>,
    /// Canonical entity -> counts at normalisation.
    pub entites: BTreeMap<String, EntityQuality>,
    /// Source system -> anomaly -> count: rows loaded but worth a look (local student keys,
    /// unmapped local course codes, repeated fiches, superseded copies of ministry results...).
    pub anomalies: BTreeMap<String, BTreeMap<String, u64>>,
}

impl QualityReport {
    pub fn new(code_css: &str) -> Self {
        QualityReport {
            code_css: code_css.to_string(),
            ..Default::default()
        }
    }

    pub fn add_source(&mut self, system: &str, t: &TypedTable, files: &[FileInfo], rejects: &[Reject]) {
        let info = files.iter().find(|f| f.table == t.name);
        let mut quarantaine = BTreeMap::new();
        for r in rejects.iter().filter(|r| r.table == t.name) {
            *quarantaine.entry(r.kind.as_str().to_string()).or_insert(0) += 1;
        }
        self.sources.insert(
            t.name.clone(),
            SourceQuality {
                systeme: system.to_string(),
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

    /// Adds what one system's plan gave for an entity (several systems may feed one entity).
    pub fn add_entity(&mut self, system: &str, entity: &str, rows_in: u64, rows_loaded: u64, rejected: &[RecordBatch]) {
        let mut quarantaine: BTreeMap<String, u64> = BTreeMap::new();
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
        let e = self.entites.entry(entity.to_string()).or_default();
        e.lignes_entree += rows_in;
        e.lignes_chargees += rows_loaded;
        for (k, v) in &quarantaine {
            *e.quarantaine.entry(k.clone()).or_insert(0) += v;
        }
        let s = e.par_systeme.entry(system.to_string()).or_default();
        s.lignes_entree += rows_in;
        s.lignes_chargees += rows_loaded;
        for (k, v) in quarantaine {
            *s.quarantaine.entry(k).or_insert(0) += v;
        }
    }

    pub fn add_anomaly(&mut self, system: &str, name: &str, count: u64) {
        self.anomalies
            .entry(system.to_string())
            .or_default()
            .insert(name.to_string(), count);
    }

    /// An anomaly's count (0 when not reported).
    pub fn anomaly(&self, system: &str, name: &str) -> u64 {
        self.anomalies
            .get(system)
            .and_then(|a| a.get(name))
            .copied()
            .unwrap_or(0)
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
