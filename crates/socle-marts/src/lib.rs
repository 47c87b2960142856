//! Marts: SQL files under `pipelines/marts/`, each with a YAML description (definition in words,
//! grain, columns, exclusions), run by DataFusion over a warehouse session.
//!
//! [`load`] reads and pairs the files, [`check`] verifies each mart against the tables it would
//! run on (it plans, and its output columns are exactly its documented columns), [`build`] runs them.

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::prelude::SessionContext;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

#[derive(Debug, thiserror::Error)]
pub enum MartError {
    #[error("cannot read {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error("mart {name} ({path}) failed: {source}")]
    Engine {
        name: String,
        path: PathBuf,
        source: datafusion::error::DataFusionError,
    },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Text {
    pub fr: String,
    pub en: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MartColumn {
    pub name: String,
    pub description: String,
}

/// Where a mart runs: over the shared zone (all CSS, pseudonymous) or a CSS's own zone.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum MartZone {
    Shared,
}

/// The YAML description of a mart.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MartSpec {
    pub name: String,
    pub title: Text,
    pub zone: MartZone,
    pub grain: String,
    pub definition: Text,
    #[serde(default)]
    pub excluded: Vec<String>,
    #[serde(default)]
    pub suppression: Option<String>,
    pub columns: Vec<MartColumn>,
}

#[derive(Debug, Clone)]
pub struct Mart {
    pub spec: MartSpec,
    pub sql: String,
    pub sql_path: PathBuf,
    pub yaml_path: PathBuf,
}

/// One problem of a pipeline definition, with its file.
#[derive(Debug, Clone)]
pub struct Problem {
    pub file: PathBuf,
    pub path: String,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}: {}", self.file.display(), self.path, self.message)
    }
}

/// Loads `<pipelines>/marts/*.yaml` with their `.sql`. Missing pairs and YAML errors are
/// problems, returned beside the marts that loaded.
pub fn load(pipelines: &Path) -> Result<(Vec<Mart>, Vec<Problem>), MartError> {
    let dir = pipelines.join("marts");
    let mut marts = Vec::new();
    let mut problems = Vec::new();
    let mut entries: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map_err(|source| MartError::Io {
            path: dir.clone(),
            source,
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for path in &entries {
        match path.extension().and_then(|e| e.to_str()) {
            Some("sql") if !path.with_extension("yaml").exists() => {
                problems.push(Problem {
                    file: path.clone(),
                    path: String::new(),
                    message: "SQL file without its YAML description (definition, grain, columns)".into(),
                });
            }
            Some("yaml" | "yml") => {
                let sql_path = path.with_extension("sql");
                let text = std::fs::read_to_string(path).map_err(|source| MartError::Io {
                    path: path.clone(),
                    source,
                })?;
                let spec: MartSpec = match serde_saphyr::from_str(&text) {
                    Ok(s) => s,
                    Err(e) => {
                        problems.push(Problem {
                            file: path.clone(),
                            path: String::new(),
                            message: e.to_string(),
                        });
                        continue;
                    }
                };
                let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
                if spec.name != stem {
                    problems.push(Problem {
                        file: path.clone(),
                        path: "name".into(),
                        message: format!("name {:?} must match the file name {stem}", spec.name),
                    });
                }
                if spec.definition.fr.trim().is_empty() || spec.definition.en.trim().is_empty() {
                    problems.push(Problem {
                        file: path.clone(),
                        path: "definition".into(),
                        message: "a definition in words (fr and en) is required".into(),
                    });
                }
                let sql = match std::fs::read_to_string(&sql_path) {
                    Ok(s) => s,
                    Err(_) => {
                        problems.push(Problem {
                            file: path.clone(),
                            path: String::new(),
                            message: format!("missing SQL file {}", sql_path.display()),
                        });
                        continue;
                    }
                };
                marts.push(Mart {
                    spec,
                    sql,
                    sql_path,
                    yaml_path: path.clone(),
                });
            }
            _ => {}
        }
    }
    Ok((marts, problems))
}

/// Plans every mart on `ctx` (tables registered, possibly empty) and compares its output columns
/// with its documented columns.
pub async fn check(marts: &[Mart], ctx: &SessionContext) -> Vec<Problem> {
    let mut problems = Vec::new();
    for m in marts {
        match ctx.sql(&m.sql).await {
            Err(e) => problems.push(Problem {
                file: m.sql_path.clone(),
                path: String::new(),
                message: format!("does not plan: {e}"),
            }),
            Ok(df) => {
                let produced: Vec<String> = df.schema().fields().iter().map(|f| f.name().clone()).collect();
                let documented: Vec<String> = m.spec.columns.iter().map(|c| c.name.clone()).collect();
                for c in &produced {
                    if !documented.contains(c) {
                        problems.push(Problem {
                            file: m.yaml_path.clone(),
                            path: "columns".into(),
                            message: format!("column {c} is produced by the SQL but not documented"),
                        });
                    }
                }
                for c in &documented {
                    if !produced.contains(c) {
                        problems.push(Problem {
                            file: m.yaml_path.clone(),
                            path: "columns".into(),
                            message: format!("documented column {c} is not produced by the SQL"),
                        });
                    }
                }
            }
        }
    }
    problems
}

/// A built mart: name, schema and rows.
pub type Built = (String, SchemaRef, Vec<RecordBatch>);

/// Runs every mart on `ctx`.
pub async fn build(marts: &[Mart], ctx: &SessionContext) -> Result<Vec<Built>, MartError> {
    let mut out = Vec::new();
    for m in marts {
        let started = Instant::now();
        let err = |source| MartError::Engine {
            name: m.spec.name.clone(),
            path: m.sql_path.clone(),
            source,
        };
        let df = ctx.sql(&m.sql).await.map_err(err)?;
        let schema: SchemaRef = Arc::new(df.schema().as_arrow().clone());
        let batches = df.collect().await.map_err(err)?;
        let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
        tracing::info!(mart = %m.spec.name, rows, elapsed_ms = started.elapsed().as_millis() as u64, "mart built");
        out.push((m.spec.name.clone(), schema, batches));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{BooleanArray, Int64Array, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use datafusion::datasource::MemTable;

    fn pipelines() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../pipelines")
    }

    /// A tiny `resultat` with every case the definition names.
    #[allow(clippy::type_complexity)]
    fn resultat_ctx() -> SessionContext {
        let schema = Arc::new(Schema::new(vec![
            Field::new("annee_scolaire", DataType::Utf8, true),
            Field::new("code_css", DataType::Utf8, true),
            Field::new("code_etablissement", DataType::Utf8, true),
            Field::new("code_cours", DataType::Utf8, true),
            Field::new("etape", DataType::Utf8, true),
            Field::new("statut_resultat", DataType::Utf8, true),
            Field::new("evalue", DataType::Boolean, true),
            Field::new("reussi", DataType::Boolean, true),
            Field::new("reprise", DataType::Boolean, true),
            Field::new("etat", DataType::Int64, true),
            Field::new("ecole_bidon", DataType::Boolean, true),
        ]));
        //               statut,        evalue, reussi,      reprise, etat, bidon
        let rows: Vec<(&str, bool, Option<bool>, bool, i64, bool)> = vec![
            ("reussi", true, Some(true), false, 1, false),
            ("reussi", true, Some(true), false, 1, false),
            ("echec", true, Some(false), false, 1, false),
            ("absent", false, None, false, 1, false),
            ("exempte", false, None, false, 1, false),
            ("non_evalue", false, None, false, 1, false),
            ("vide", false, None, false, 1, false),
            ("reussi", true, Some(true), true, 1, false), // retake: excluded
            ("echec", true, Some(false), false, 0, false), // inactive: excluded
            ("echec", true, Some(false), false, 1, true), // dummy school: excluded
        ];
        let n = rows.len();
        let s = |v: &str| Arc::new(StringArray::from(vec![v; n])) as _;
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                s("2024-2025"),
                s("866000"),
                s("866012"),
                s("132406"),
                s("1"),
                Arc::new(StringArray::from(rows.iter().map(|r| r.0).collect::<Vec<_>>())),
                Arc::new(BooleanArray::from(rows.iter().map(|r| r.1).collect::<Vec<_>>())),
                Arc::new(BooleanArray::from(rows.iter().map(|r| r.2).collect::<Vec<_>>())),
                Arc::new(BooleanArray::from(rows.iter().map(|r| r.3).collect::<Vec<_>>())),
                Arc::new(Int64Array::from(rows.iter().map(|r| r.4).collect::<Vec<_>>())),
                Arc::new(BooleanArray::from(rows.iter().map(|r| r.5).collect::<Vec<_>>())),
            ],
        )
        .unwrap();
        let ctx = SessionContext::new();
        ctx.register_table(
            "resultat",
            Arc::new(MemTable::try_new(schema, vec![vec![batch]]).unwrap()),
        )
        .unwrap();
        ctx
    }

    #[tokio::test]
    async fn committed_pipelines_load_and_check() {
        let (marts, problems) = load(&pipelines()).unwrap();
        assert!(problems.is_empty(), "{problems:?}");
        assert!(marts.iter().any(|m| m.spec.name == "taux_reussite"));
        let problems = check(&marts, &resultat_ctx()).await;
        assert!(problems.is_empty(), "{problems:?}");
    }

    #[tokio::test]
    async fn taux_reussite_counts_as_its_definition_says() {
        let (marts, _) = load(&pipelines()).unwrap();
        let built = build(&marts, &resultat_ctx()).await.unwrap();
        let (_, _, batches) = built.iter().find(|b| b.0 == "taux_reussite").unwrap();
        let ctx = SessionContext::new();
        let schema = batches[0].schema();
        ctx.register_table("m", Arc::new(MemTable::try_new(schema, vec![batches.clone()]).unwrap()))
            .unwrap();
        let out = ctx
            .sql("SELECT nb_evalues, nb_reussites, taux_reussite, nb_absents, nb_exemptes, nb_non_evalues, nb_vides FROM m")
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        let text = datafusion::arrow::util::pretty::pretty_format_batches(&out)
            .unwrap()
            .to_string();
        // 3 evaluated (2 passed, 1 failed): retake, inactive and dummy-school rows excluded.
        assert!(text.contains("| 3          | 2            | 0.6666666666666666 | 1          | 1           | 1              | 1        |"), "{text}");
    }

    #[tokio::test]
    async fn undocumented_columns_and_bad_sql_are_problems() {
        let tmp = std::env::temp_dir().join(format!("socle-marts-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        std::fs::create_dir_all(tmp.join("marts")).unwrap();
        std::fs::write(
            tmp.join("marts/a.sql"),
            "SELECT code_css, count(*) AS n FROM resultat GROUP BY code_css",
        )
        .unwrap();
        std::fs::write(
            tmp.join("marts/a.yaml"),
            "name: a\ntitle: {fr: A, en: A}\nzone: shared\ngrain: g\ndefinition: {fr: d, en: d}\ncolumns:\n  - {name: code_css, description: c}\n  - {name: missing, description: m}\n",
        )
        .unwrap();
        std::fs::write(tmp.join("marts/b.sql"), "SELECT nope FROM resultat").unwrap();
        std::fs::write(
            tmp.join("marts/b.yaml"),
            "name: b\ntitle: {fr: B, en: B}\nzone: shared\ngrain: g\ndefinition: {fr: d, en: d}\ncolumns: []\n",
        )
        .unwrap();
        std::fs::write(tmp.join("marts/c.sql"), "SELECT 1").unwrap();
        let (marts, load_problems) = load(&tmp).unwrap();
        assert_eq!(load_problems.len(), 1, "{load_problems:?}");
        assert!(load_problems[0].to_string().contains("c.sql"));
        let problems: Vec<String> = check(&marts, &resultat_ctx())
            .await
            .iter()
            .map(|p| p.to_string())
            .collect();
        assert!(
            problems
                .iter()
                .any(|p| p.contains("a.yaml") && p.contains("column n is produced")),
            "{problems:?}"
        );
        assert!(
            problems
                .iter()
                .any(|p| p.contains("a.yaml") && p.contains("missing is not produced")),
            "{problems:?}"
        );
        assert!(
            problems
                .iter()
                .any(|p| p.contains("b.sql") && p.contains("does not plan")),
            "{problems:?}"
        );
        std::fs::remove_dir_all(&tmp).unwrap();
    }
}
