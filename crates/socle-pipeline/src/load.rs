//! Loading one CSS's night: read every source present with its connector, normalise them
//! together, publish atomically.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::record_batch::RecordBatch;
use socle_connect::{ConnectError, Extract, ReadOptions};
use socle_dictionary::{Dictionary, Source};
use socle_warehouse::{DropRecord, InputFile, ManifestInfo, SourceFailure, SourceState};
use tracing::Instrument;

use crate::discover::{NightPlan, fingerprint_inputs, same_inputs};
use crate::guard;
use crate::{Pipeline, PipelineError};

/// What became of one source of a CSS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceOutcome {
    pub system: String,
    pub files: u64,
    pub bytes: u64,
    pub rows_read: u64,
    /// Rows of this source quarantined, at reading and at normalisation.
    pub rows_quarantined: u64,
    /// Why the whole source failed (missing file or column...), if it did.
    pub error: Option<String>,
    /// Whether the drop guard held this source: read, but its tables keep their previous state
    /// (see [`CssOutcome::held_drops`]).
    pub held: bool,
}

/// What became of a CSS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CssStatus {
    /// Published; every source it sent was read.
    Published,
    /// Published, but some source failed or was held by the drop guard: the tables it feeds
    /// keep their previous state.
    PartiallyPublished,
    /// The night's files are those already loaded (same SHA-256): nothing to do.
    Unchanged,
    /// Nothing published for this CSS: its previous state is kept.
    Failed(String),
}

/// Time spent in each stage of a CSS.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StageTimes {
    pub read: Duration,
    pub normalise: Duration,
    pub write: Duration,
}

/// What was read of one table of a source (for the run's figures).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableStat {
    pub system: String,
    pub table: String,
    pub bytes: u64,
    pub rows_read: u64,
    /// Reading and typing.
    pub read: Duration,
}

/// What became of one canonical entity (for the run's figures).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntityStat {
    pub entity: String,
    pub rows: u64,
    pub normalise: Duration,
    /// Zero when the entity was not republished.
    pub write: Duration,
}

/// The outcome of one CSS.
#[derive(Debug, Clone, PartialEq)]
pub struct CssOutcome {
    pub code_css: String,
    /// The night loaded, `-` when none was found.
    pub night: String,
    pub status: CssStatus,
    pub sources: Vec<SourceOutcome>,
    /// Rows loaded into canonical tables by this run.
    pub rows_loaded: u64,
    pub rows_quarantined: u64,
    /// Input bytes read.
    pub bytes: u64,
    /// Path of the quality report, relative to the warehouse root.
    pub quality_report: Option<String>,
    pub times: StageTimes,
    pub tables: Vec<TableStat>,
    pub entities: Vec<EntityStat>,
    /// The drops the guard held: their sources keep their previous state.
    pub held_drops: Vec<DropRecord>,
    /// The drops accepted (`--accept-drop`) and published.
    pub accepted_drops: Vec<DropRecord>,
}

impl CssOutcome {
    pub(crate) fn failed(code_css: &str, night: &str, error: String) -> Self {
        CssOutcome {
            code_css: code_css.to_string(),
            night: night.to_string(),
            status: CssStatus::Failed(error),
            sources: Vec::new(),
            rows_loaded: 0,
            rows_quarantined: 0,
            bytes: 0,
            quality_report: None,
            times: StageTimes::default(),
            tables: Vec::new(),
            entities: Vec::new(),
            held_drops: Vec::new(),
            accepted_drops: Vec::new(),
        }
    }

    /// Whether this CSS is now as the night says (published, or already loaded).
    pub fn is_ok(&self) -> bool {
        matches!(self.status, CssStatus::Published | CssStatus::Unchanged)
    }
}

/// The canonical entities each source system feeds, from the contracts' `maps_to`.
pub fn entities_fed(dictionary: &Dictionary) -> BTreeMap<String, BTreeSet<String>> {
    let mut fed: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for source in &dictionary.sources {
        for table in &source.tables {
            for column in &table.columns {
                for target in &column.maps_to {
                    if let Some((entity, _)) = target.split_once('.') {
                        fed.entry(entity.to_string()).or_default().insert(source.system.clone());
                    }
                }
            }
        }
    }
    fed
}

async fn read_source(source: &Source, plan: &NightPlan, opts: &ReadOptions) -> Result<Extract, ConnectError> {
    let folder = plan.dir.join(&source.folder);
    match source.system.as_str() {
        socle_connect_mozaik::SYSTEM => socle_connect_mozaik::read_mozaik(&folder, source, opts).await,
        socle_connect_jade::SYSTEM => socle_connect_jade::read_jade(&folder, source, opts).await,
        socle_connect_dofin::SYSTEM => socle_connect_dofin::read_dofin(&folder, source, opts).await,
        socle_connect_gpi::SYSTEM => socle_connect_gpi::read_gpi(&folder, source, opts).await,
        // A contract for a system without a connector of its own: it is delimited text.
        _ => socle_connect::read_delimited(&folder, source, opts).await,
    }
}

/// Loads one CSS's night. Never returns an error: a failure is the outcome's status, with the
/// CSS's previous state kept.
pub async fn load_css(p: &Pipeline, plan: &NightPlan) -> CssOutcome {
    let span = tracing::info_span!("css", code_css = %plan.code_css, night = %plan.night);
    match load_css_inner(p, plan).instrument(span).await {
        Ok(outcome) => outcome,
        Err(e) => {
            let message = e.to_string();
            tracing::error!(code_css = %plan.code_css, error = %message, "CSS not published: its previous state is kept");
            CssOutcome::failed(&plan.code_css, &plan.night, message)
        }
    }
}

async fn load_css_inner(p: &Pipeline, plan: &NightPlan) -> Result<CssOutcome, PipelineError> {
    let css = plan.code_css.as_str();
    if p.registry.organisation(css).is_none() {
        return Err(PipelineError::UnknownCss(css.to_string()));
    }
    let dict = &*p.dictionary;
    let previous = p.warehouse.manifest(css)?;

    // A night older than the one loaded would replace newer data.
    if let Some(loaded) = &previous
        && plan.night < loaded.night
        && !p.options.allow_older_night
    {
        return Err(PipelineError::OlderNight {
            code_css: css.to_string(),
            night: plan.night.clone(),
            loaded: loaded.night.clone(),
        });
    }

    // Incremental nights: the same files (SHA-256) as the published state, under the same
    // dictionary and key, are skipped.
    if !p.options.force
        && let Some(previous) = &previous
        && previous.dictionary_version == dict.version
        && previous.key_fingerprint == p.pseudonymiser.fingerprint()
        && let Some(inputs) = fingerprint_inputs(plan, dict)?
        && same_inputs(&inputs, &previous.inputs)
    {
        tracing::info!(code_css = css, night = %plan.night, loaded = %previous.night, "export files unchanged since the last load: skipped");
        return Ok(CssOutcome {
            code_css: css.to_string(),
            night: plan.night.clone(),
            status: CssStatus::Unchanged,
            sources: Vec::new(),
            rows_loaded: 0,
            rows_quarantined: 0,
            bytes: 0,
            quality_report: None,
            times: StageTimes::default(),
            tables: Vec::new(),
            entities: Vec::new(),
            held_drops: Vec::new(),
            accepted_drops: Vec::new(),
        });
    }

    // Read: every source on its own; a source that fails does not stop the others.
    let t_read = Instant::now();
    let profile = dict.profile(css);
    let opts = ReadOptions {
        encoding: profile.encoding,
        batch_size: p.options.batch_size,
    };
    let mut extracts = Vec::new();
    let mut outcomes: Vec<SourceOutcome> = Vec::new();
    for system in &plan.systems {
        let Some(source) = dict.source(system) else {
            continue;
        };
        let started = Instant::now();
        match read_source(source, plan, &opts).await {
            Ok(extract) => {
                let rows_read: u64 = extract.tables.values().map(|t| t.rows_read).sum();
                tracing::info!(
                    system = %system,
                    rows_read,
                    rejected = extract.rejects.len(),
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "source read"
                );
                outcomes.push(SourceOutcome {
                    system: system.clone(),
                    // A file read as several tables (Mozaïk's legends) counts once.
                    files: distinct_files(&extract).len() as u64,
                    bytes: distinct_files(&extract).values().sum(),
                    rows_read,
                    rows_quarantined: 0,
                    error: None,
                    held: false,
                });
                extracts.push(extract);
            }
            Err(e) => {
                let message = format!("{system}: {e}");
                tracing::error!(system = %system, error = %message, "source failed: the tables it feeds keep their previous state");
                outcomes.push(SourceOutcome {
                    system: system.clone(),
                    files: 0,
                    bytes: 0,
                    rows_read: 0,
                    rows_quarantined: 0,
                    error: Some(message),
                    held: false,
                });
            }
        }
    }
    if extracts.is_empty() {
        let errors: Vec<String> = outcomes.iter().filter_map(|o| o.error.clone()).collect();
        return Err(PipelineError::AllSourcesFailed(errors.join("; ")));
    }
    let inputs: Vec<InputFile> = {
        let mut seen = BTreeMap::new();
        for e in &extracts {
            let folder = dict
                .source(&e.system)
                .map(|s| s.folder.clone())
                .unwrap_or_else(|| e.system.clone());
            for f in &e.files {
                let name = f
                    .path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let rel = format!("{folder}/{name}");
                seen.entry(rel.clone()).or_insert(InputFile {
                    path: rel,
                    sha256: f.sha256.clone(),
                    bytes: f.bytes,
                    rows: f.rows_read,
                });
            }
        }
        seen.into_values().collect()
    };
    let read_time = t_read.elapsed();
    let tables: Vec<TableStat> = extracts
        .iter()
        .flat_map(|e| {
            e.files.iter().map(|f| TableStat {
                system: e.system.clone(),
                table: f.table.clone(),
                bytes: f.bytes,
                rows_read: f.rows_read,
                read: f.elapsed,
            })
        })
        .collect();

    // Normalise every source together: one canonical model.
    let t_norm = Instant::now();
    let cx = socle_transform::NormaliseContext {
        code_css: css,
        dictionary: dict,
        registry: &p.registry,
        pseudonymiser: &p.pseudonymiser,
    };
    let normalised = socle_transform::normalise(&cx, extracts).await?;
    let normalise_time = t_norm.elapsed();
    let by_source = quarantine_by_source(&normalised.quarantine);
    for o in &mut outcomes {
        o.rows_quarantined = by_source.get(&o.system).copied().unwrap_or(0);
    }

    // An entity is republished only if a source feeding it was read and none failed: a
    // failed source's tables keep the previous night rather than lose its rows.
    let failed: BTreeSet<String> = outcomes
        .iter()
        .filter(|o| o.error.is_some())
        .map(|o| o.system.clone())
        .collect();
    let read: BTreeSet<String> = outcomes
        .iter()
        .filter(|o| o.error.is_none())
        .map(|o| o.system.clone())
        .collect();
    let fed = entities_fed(dict);
    let fed_by = |name: &str, blocked: &BTreeSet<String>| match fed.get(name) {
        Some(f) => f.iter().any(|s| read.contains(s)) && !f.iter().any(|s| blocked.contains(s)),
        None => true,
    };

    // The drop guard, before anything is written: an entity falling against the night already
    // loaded holds the sources feeding it, unless the operator accepted that drop.
    let mut held_drops: Vec<DropRecord> = Vec::new();
    let mut accepted_drops: Vec<DropRecord> = Vec::new();
    if let Some(loaded) = &previous {
        let mut night_rows = BTreeMap::new();
        for (name, batches) in &normalised.tables {
            if fed_by(name, &failed) {
                let partitioned = dict
                    .entity(name)
                    .is_some_and(|e| e.partitioning == socle_dictionary::Partitioning::AnneeScolaire);
                night_rows.insert(name.clone(), guard::rows_by_year(batches, partitioned)?);
            }
        }
        for fall in guard::find_falls(dict, css, loaded, &night_rows) {
            let sources: Vec<String> = fed
                .get(&fall.entity)
                .map(|f| f.iter().filter(|s| read.contains(*s)).cloned().collect())
                .unwrap_or_default();
            let accept = guard::accept_drop_command(css, &fall.entity);
            let record = DropRecord {
                entity: fall.entity.clone(),
                annee_scolaire: fall.annee_scolaire.clone(),
                rows_before: fall.rows_before,
                rows_now: fall.rows_now,
                baisse_max: fall.baisse_max,
                sources,
                night: plan.night.clone(),
                run_id: p.run_id.clone(),
                accepted_at: None,
            };
            if p.options.accept_drops.contains(&(css.to_string(), fall.entity.clone())) {
                accepted_drops.push(record);
            } else {
                tracing::error!(
                    entity = %fall.entity,
                    annee_scolaire = fall.annee_scolaire.as_deref().unwrap_or("-"),
                    rows_before = fall.rows_before,
                    rows_now = fall.rows_now,
                    baisse_max = fall.baisse_max,
                    sources = %record.sources.join(","),
                    "drop guard: {}; its sources are held and keep their previous state; if the drop is real: {accept}",
                    fall.describe()
                );
                held_drops.push(record);
            }
        }
    }
    let held_entities: BTreeSet<&str> = held_drops.iter().map(|d| d.entity.as_str()).collect();
    let held: BTreeSet<String> = held_drops.iter().flat_map(|d| d.sources.iter().cloned()).collect();
    let blocked: BTreeSet<String> = failed.union(&held).cloned().collect();
    for o in &mut outcomes {
        o.held = held.contains(&o.system);
    }

    let t_write = Instant::now();
    let mut tx = p.warehouse.begin_css(css, &p.run_id)?;
    let mut entities = Vec::new();
    let mut published: BTreeSet<&str> = BTreeSet::new();
    for (name, batches) in &normalised.tables {
        let mut stat = EntityStat {
            entity: name.clone(),
            rows: batches.iter().map(|b| b.num_rows() as u64).sum(),
            normalise: normalised.elapsed.get(name).copied().unwrap_or_default(),
            write: Duration::ZERO,
        };
        let publish = fed_by(name, &blocked) && !held_entities.contains(name.as_str());
        if !publish {
            tracing::debug!(entity = %name, "not republished (no source of it read, or one failed or is held)");
            entities.push(stat);
            continue;
        }
        let entity = dict
            .entity(name)
            .ok_or_else(|| PipelineError::UnknownEntity(name.clone()))?;
        let started = Instant::now();
        tx.write_table(entity, batches)?;
        stat.write = started.elapsed();
        entities.push(stat);
        published.insert(name.as_str());
    }
    // An acceptance counts only where the entity is published (another hold may keep it back).
    accepted_drops.retain(|d| published.contains(d.entity.as_str()));
    for d in &accepted_drops {
        tracing::warn!(
            entity = %d.entity,
            annee_scolaire = d.annee_scolaire.as_deref().unwrap_or("-"),
            rows_before = d.rows_before,
            rows_now = d.rows_now,
            "drop accepted with --accept-drop: {}; published",
            guard::describe_drop(&d.entity, d.annee_scolaire.as_deref(), d.rows_before, d.rows_now, d.baisse_max)
        );
    }
    tx.write_quarantine(&normalised.quarantine)?;
    let quality = serde_json::to_value(&normalised.quality).map_err(PipelineError::Json)?;
    tx.write_quality_report(&quality)?;
    let rows_loaded = normalised.quality.total_loaded();
    let rows_quarantined = normalised.quality.total_quarantined();
    let mut sources = BTreeMap::new();
    for o in &outcomes {
        if o.held {
            // A held source keeps the state of the night it last loaded.
            continue;
        }
        let state = match &o.error {
            None => SourceState {
                night: plan.night.clone(),
                run_id: p.run_id.clone(),
                files: o.files,
                bytes: o.bytes,
                rows_read: o.rows_read,
                rows_quarantined: o.rows_quarantined,
                last_failure: None,
            },
            Some(error) => {
                let mut state = previous
                    .as_ref()
                    .and_then(|m| m.sources.get(&o.system).cloned())
                    .unwrap_or_default();
                state.last_failure = Some(SourceFailure {
                    night: plan.night.clone(),
                    run_id: p.run_id.clone(),
                    error: error.clone(),
                });
                state
            }
        };
        sources.insert(o.system.clone(), state);
    }
    tx.commit(ManifestInfo {
        night: plan.night.clone(),
        dictionary_version: dict.version.clone(),
        key_fingerprint: p.pseudonymiser.fingerprint(),
        demo_key: p.pseudonymiser.is_demo(),
        // A held source's files are not recorded: the same night again is not "unchanged",
        // it is checked (and held) again until accepted.
        inputs: inputs
            .into_iter()
            .filter(|f| {
                !held.iter().any(|system| {
                    dict.source(system)
                        .is_some_and(|s| f.path.starts_with(&format!("{}/", s.folder)))
                })
            })
            .collect(),
        quality,
        sources,
        held_drops: held_drops.clone(),
        accepted_drops: accepted_drops.clone(),
    })?;
    let write_time = t_write.elapsed();
    for (table, q) in &normalised.quality.sources {
        if !q.quarantaine.is_empty() {
            tracing::warn!(table = %table, quarantined = ?q.quarantaine, "rows quarantined at reading");
        }
    }
    for (entity, q) in &normalised.quality.entites {
        if !q.quarantaine.is_empty() {
            tracing::warn!(entity = %entity, quarantined = ?q.quarantaine, "rows quarantined at normalisation");
        }
    }
    tracing::info!(
        rows_loaded,
        rows_quarantined,
        read_ms = read_time.as_millis() as u64,
        normalise_ms = normalise_time.as_millis() as u64,
        write_ms = write_time.as_millis() as u64,
        "CSS published"
    );
    Ok(CssOutcome {
        code_css: css.to_string(),
        night: plan.night.clone(),
        status: if failed.is_empty() && held.is_empty() {
            CssStatus::Published
        } else {
            CssStatus::PartiallyPublished
        },
        bytes: outcomes.iter().map(|o| o.bytes).sum(),
        sources: outcomes,
        rows_loaded,
        rows_quarantined,
        quality_report: Some(format!("_socle/runs/{}/{css}-quality.json", p.run_id)),
        times: StageTimes {
            read: read_time,
            normalise: normalise_time,
            write: write_time,
        },
        tables,
        entities,
        held_drops,
        accepted_drops,
    })
}

/// The files of an extract and their sizes, each file once.
fn distinct_files(extract: &Extract) -> BTreeMap<&std::path::Path, u64> {
    extract.files.iter().map(|f| (f.path.as_path(), f.bytes)).collect()
}

/// Quarantined rows per source system (the quarantine's `source` column).
fn quarantine_by_source(batches: &[RecordBatch]) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for b in batches {
        let Some(col) = b.column_by_name("source") else {
            continue;
        };
        let Some(values) = col.as_string_opt::<i32>() else {
            continue;
        };
        for i in 0..values.len() {
            if values.is_valid(i) {
                *out.entry(values.value(i).to_string()).or_default() += 1;
            }
        }
    }
    out
}
