//! `socle check`: the dictionary, the marts and the extracts validated together, each mart and
//! extract planned against empty tables of its zone, so a night never meets a problem a check
//! could have found.

use std::path::Path;
use std::sync::Arc;

use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;
use socle_dictionary::Dictionary;

use crate::PipelineError;

/// Every problem found, with its file, and what was checked.
pub struct ProjectCheck {
    pub problems: Vec<String>,
    /// `dictionary V (N entities, N sources, N CSS profiles), N marts, N extracts`.
    pub checked: String,
}

/// Checks the dictionary of `schemas` and the pipelines of `pipelines`: see the module.
pub async fn check_project(schemas: &Path, pipelines: &Path) -> Result<ProjectCheck, PipelineError> {
    let dict = Dictionary::load(schemas).map_err(|e| PipelineError::Other(format!("{}: {e}", schemas.display())))?;
    let mut problems: Vec<String> = dict.validate().iter().map(|p| p.to_string()).collect();
    let (project, mart_problems) = socle_marts::load(pipelines)?;
    problems.extend(mart_problems.iter().map(|p| p.to_string()));
    // Plan every mart against empty tables of its zone: the shared-zone schemas of the
    // dictionary, or a CSS zone's full schemas and its quarantine.
    let shared = SessionContext::new();
    let css = SessionContext::new();
    for e in &dict.entities {
        for (ctx, schema) in [(&shared, e.shared_arrow_schema()), (&css, e.arrow_schema())] {
            let table = MemTable::try_new(schema, vec![vec![]])?;
            ctx.register_table(e.name.as_str(), Arc::new(table))?;
        }
    }
    let quarantine = MemTable::try_new(socle_transform::quarantine_schema(), vec![vec![]])?;
    css.register_table(socle_warehouse::QUARANTINE, Arc::new(quarantine))?;
    for ctx in [&shared, &css] {
        socle_marts::register_reference(ctx, &project)?;
        socle_marts::register_nights(ctx, &[])?;
    }
    problems.extend(
        socle_marts::check(&project, &shared, &css)
            .await
            .iter()
            .map(|p| p.to_string()),
    );
    // The extracts, planned on the same sessions (the marts and intermediate models are
    // registered there, empty, by the marts' check). A CSS's zone holds every mart (its own
    // rows), whatever zone built it.
    for m in project.models() {
        let name = m.spec.name.as_str();
        if !css.table_exist(name)?
            && shared.table_exist(name)?
            && let Ok(provider) = shared.table_provider(name).await
        {
            css.register_table(name, provider)?;
        }
    }
    let (extracts, extract_problems) = socle_extracts::load(pipelines, &socle_extracts::personal_columns(&dict))
        .map_err(|e| PipelineError::Other(e.to_string()))?;
    problems.extend(extract_problems.iter().map(|p| p.to_string()));
    problems.extend(
        socle_extracts::check(&extracts, &shared, &css)
            .await
            .iter()
            .map(|p| p.to_string()),
    );
    let checked = format!(
        "dictionary {} ({} entities, {} sources, {} CSS profiles), {} marts, {} extracts",
        dict.version,
        dict.entities.len(),
        dict.sources.len(),
        dict.css.len(),
        project.marts.len(),
        extracts.len()
    );
    Ok(ProjectCheck { problems, checked })
}
