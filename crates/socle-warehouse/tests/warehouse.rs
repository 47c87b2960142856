//! Publication, layout, garbage collection and query sessions, end to end on a temporary folder.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, BooleanArray, Int64Array, StringArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field as ArrowField, Schema, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::parquet::basic::Compression;
use datafusion::parquet::file::reader::{FileReader, SerializedFileReader};
use datafusion::prelude::SessionContext;
use socle_dictionary::{Entity, Field, FieldType, Partitioning, PersonalClass, Text};
use socle_warehouse::{CssTransaction, ManifestInfo, MartOutput, Warehouse, WarehouseError, Zone, entity_schemas};

pub(crate) type TestResult = Result<(), Box<dyn std::error::Error>>;

pub(crate) const A: &str = "866000";
pub(crate) const B: &str = "881000";

fn field(name: &str, field_type: FieldType, personal: PersonalClass) -> Field {
    Field {
        name: name.to_string(),
        field_type,
        description: Text::default(),
        nullable: true,
        personal,
        domain: None,
    }
}

fn entity(name: &str, partitioning: Partitioning, fields: Vec<Field>) -> Entity {
    Entity {
        name: name.to_string(),
        description: Text::default(),
        grain: String::new(),
        partitioning,
        fields,
        baisse_max: None,
        file: PathBuf::new(),
    }
}

/// `resultat`: by school year; `fiche` is a local identifier (never shared).
pub(crate) fn resultat() -> Entity {
    entity(
        "resultat",
        Partitioning::AnneeScolaire,
        vec![
            field("annee_scolaire", FieldType::Text, PersonalClass::None),
            field("code_css", FieldType::Text, PersonalClass::None),
            field("cle_eleve", FieldType::Text, PersonalClass::Pseudonymous),
            field("fiche", FieldType::Int, PersonalClass::LocalIdentifier),
            field("note", FieldType::Int, PersonalClass::None),
        ],
    )
}

/// `eleve`: by CSS only; `nom` is a name (never shared).
pub(crate) fn eleve() -> Entity {
    entity(
        "eleve",
        Partitioning::Css,
        vec![
            field("code_css", FieldType::Text, PersonalClass::None),
            field("cle_eleve", FieldType::Text, PersonalClass::Pseudonymous),
            field("nom", FieldType::Text, PersonalClass::Name),
            field("sexe", FieldType::Text, PersonalClass::None),
        ],
    )
}

/// `absence`: never written by the tests (registered empty from its schema).
fn absence() -> Entity {
    entity(
        "absence",
        Partitioning::AnneeScolaire,
        vec![
            field("annee_scolaire", FieldType::Text, PersonalClass::None),
            field("code_css", FieldType::Text, PersonalClass::None),
            field("fiche", FieldType::Int, PersonalClass::LocalIdentifier),
            field("periode", FieldType::Int, PersonalClass::None),
        ],
    )
}

fn strings(values: &[&str]) -> ArrayRef {
    Arc::new(StringArray::from(values.to_vec()))
}

/// Columns in an order different from the dictionary's (`note` first), to check the shared
/// projection goes by name and follows dictionary order.
fn resultat_batch(code: &str, years: &[&str], notes: &[i64]) -> Result<RecordBatch, Box<dyn std::error::Error>> {
    let n = years.len();
    let schema = Arc::new(Schema::new(vec![
        ArrowField::new("note", DataType::Int64, true),
        ArrowField::new("annee_scolaire", DataType::Utf8, false),
        ArrowField::new("code_css", DataType::Utf8, false),
        ArrowField::new("cle_eleve", DataType::Utf8, false),
        ArrowField::new("fiche", DataType::Int64, false),
    ]));
    let keys: Vec<String> = (0..n).map(|i| format!("{i:032x}")).collect();
    let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
    Ok(RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int64Array::from(notes.to_vec())),
            strings(years),
            strings(&vec![code; n]),
            strings(&keys),
            Arc::new(Int64Array::from_iter_values(1000..1000 + n as i64)),
        ],
    )?)
}

fn eleve_batch(code: &str, n: usize) -> Result<RecordBatch, Box<dyn std::error::Error>> {
    let schema = Arc::new(Schema::new(vec![
        ArrowField::new("code_css", DataType::Utf8, false),
        ArrowField::new("cle_eleve", DataType::Utf8, false),
        ArrowField::new("nom", DataType::Utf8, true),
        ArrowField::new("sexe", DataType::Utf8, true),
    ]));
    let keys: Vec<String> = (0..n).map(|i| format!("{i:032x}")).collect();
    let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
    Ok(RecordBatch::try_new(
        schema,
        vec![
            strings(&vec![code; n]),
            strings(&keys),
            strings(&vec!["Tremblay"; n]),
            strings(&vec!["F"; n]),
        ],
    )?)
}

fn quarantine_batch(n: usize) -> Result<RecordBatch, Box<dyn std::error::Error>> {
    let schema = Arc::new(Schema::new(vec![
        ArrowField::new("fichier", DataType::Utf8, false),
        ArrowField::new("ligne", DataType::Int64, false),
        ArrowField::new("raison", DataType::Utf8, false),
    ]));
    Ok(RecordBatch::try_new(
        schema,
        vec![
            strings(&vec!["gpi/gpm_e_ele.csv"; n]),
            Arc::new(Int64Array::from_iter_values(2..2 + n as i64)),
            strings(&vec!["code permanent mal formé"; n]),
        ],
    )?)
}

pub(crate) fn info(fingerprint: &str) -> ManifestInfo {
    ManifestInfo {
        night: "2025-11-20".into(),
        dictionary_version: "1.0".into(),
        key_fingerprint: fingerprint.into(),
        demo_key: true,
        inputs: vec![],
        quality: serde_json::json!({"rows_quarantined": 1}),
        sources: BTreeMap::new(),
        ..Default::default()
    }
}

/// Publishes one CSS: `resultat` over the given years, `eleve`, a quarantine and a report.
pub(crate) fn publish_css(wh: &Warehouse, code: &str, run: &str, years: &[&str]) -> TestResult {
    let mut tx = wh.begin_css(code, run)?;
    write_css(&mut tx, code, years)?;
    tx.commit(info("fp1"))?;
    Ok(())
}

pub(crate) fn write_css(tx: &mut CssTransaction, code: &str, years: &[&str]) -> TestResult {
    let notes: Vec<i64> = (0..years.len() as i64).map(|i| 60 + i).collect();
    tx.write_table(&resultat(), &[resultat_batch(code, years, &notes)?])?;
    tx.write_table(&eleve(), &[eleve_batch(code, 2)?])?;
    tx.write_quarantine(&[quarantine_batch(1)?])?;
    tx.write_quality_report(&serde_json::json!({"code_css": code}))?;
    Ok(())
}

/// Every file under `dir`, relative to `root`, `/` separators, sorted.
fn files_under(root: &Path, dir: &str) -> Vec<String> {
    fn walk(p: &Path, out: &mut Vec<PathBuf>) {
        if let Ok(entries) = std::fs::read_dir(p) {
            for e in entries.flatten() {
                let path = e.path();
                if path.is_dir() {
                    // A table's Delta log is not a data file.
                    if !path.ends_with(socle_warehouse::delta::LOG_DIR) {
                        walk(&path, out);
                    }
                } else {
                    out.push(path);
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(&root.join(dir), &mut out);
    let mut rels: Vec<String> = out
        .iter()
        .filter_map(|p| p.strip_prefix(root).ok())
        .map(|p| {
            p.components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/")
        })
        .collect();
    rels.sort();
    rels
}

fn data_files(root: &Path) -> Vec<String> {
    let mut all = files_under(root, "css");
    all.extend(files_under(root, "shared"));
    all.extend(files_under(root, "marts"));
    all
}

async fn collect(ctx: &SessionContext, table: &str) -> Result<Vec<RecordBatch>, Box<dyn std::error::Error>> {
    Ok(ctx.table(table).await?.collect().await?)
}

async fn count(ctx: &SessionContext, table: &str) -> Result<usize, Box<dyn std::error::Error>> {
    Ok(collect(ctx, table).await?.iter().map(RecordBatch::num_rows).sum())
}

async fn columns(ctx: &SessionContext, table: &str) -> Result<Vec<String>, Box<dyn std::error::Error>> {
    let df = ctx.table(table).await?;
    Ok(df.schema().fields().iter().map(|f| f.name().clone()).collect())
}

/// Distinct values of a string column over a table.
async fn distinct(ctx: &SessionContext, table: &str, column: &str) -> Result<Vec<String>, Box<dyn std::error::Error>> {
    let mut values = std::collections::BTreeSet::new();
    for b in collect(ctx, table).await? {
        let idx = b.schema().index_of(column)?;
        let arr = cast(b.column(idx), &DataType::Utf8)?;
        let arr = arr
            .as_any()
            .downcast_ref::<StringArray>()
            .ok_or("not a string column")?;
        values.extend(arr.iter().flatten().map(str::to_string));
    }
    Ok(values.into_iter().collect())
}

fn mart_batches() -> Result<(SchemaRef, Vec<RecordBatch>), Box<dyn std::error::Error>> {
    let schema = Arc::new(Schema::new(vec![
        ArrowField::new("code_css", DataType::Utf8, false),
        ArrowField::new("taux", DataType::Int64, false),
        ArrowField::new("supprime", DataType::Boolean, false),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            strings(&[A, B, A]),
            Arc::new(Int64Array::from(vec![80, 75, 90])),
            Arc::new(BooleanArray::from(vec![false, false, true])),
        ],
    )?;
    Ok((schema, vec![batch]))
}

fn mart(name: &str, schema: SchemaRef, shared: Vec<RecordBatch>, css: Vec<RecordBatch>) -> MartOutput {
    MartOutput {
        name: name.to_string(),
        schema,
        shared: Some(shared),
        css,
    }
}

fn provincial_mart() -> Result<(SchemaRef, Vec<RecordBatch>), Box<dyn std::error::Error>> {
    let schema = Arc::new(Schema::new(vec![ArrowField::new("taux", DataType::Int64, false)]));
    let batch = RecordBatch::try_new(schema.clone(), vec![Arc::new(Int64Array::from(vec![78]))])?;
    Ok((schema, vec![batch]))
}

#[tokio::test(flavor = "multi_thread")]
async fn publish_then_query_both_zones() -> TestResult {
    let dir = tempfile::tempdir()?;
    let wh = Warehouse::open(dir.path())?;
    let root = wh.root().to_path_buf();
    publish_css(&wh, A, "run1", &["2024-2025", "2023-2024", "2024-2025"])?;
    publish_css(&wh, B, "run1", &["2024-2025"])?;
    let (schema, batches) = mart_batches()?;
    let (pschema, pbatches) = provincial_mart()?;
    let marts = wh.publish_marts(
        "run1",
        vec![
            mart("reussite", schema, batches.clone(), batches),
            mart("province", pschema, pbatches, vec![]),
            mart(
                "vide",
                Arc::new(Schema::new(vec![ArrowField::new("code_css", DataType::Utf8, false)])),
                vec![],
                vec![],
            ),
        ],
        &[A.to_string(), B.to_string()],
    )?;
    assert_eq!(marts.marts["reussite"].rows, 3);
    assert_eq!(marts.marts["vide"].rows, 0);

    // Layout, exactly.
    assert_eq!(
        data_files(&root),
        vec![
            "css/866000/eleve/run1.parquet",
            "css/866000/marts/reussite/run1.parquet",
            "css/866000/marts/vide/run1.parquet",
            "css/866000/quarantaine/run1.parquet",
            "css/866000/resultat/annee_scolaire=2023-2024/run1.parquet",
            "css/866000/resultat/annee_scolaire=2024-2025/run1.parquet",
            "css/881000/eleve/run1.parquet",
            "css/881000/marts/reussite/run1.parquet",
            "css/881000/marts/vide/run1.parquet",
            "css/881000/quarantaine/run1.parquet",
            "css/881000/resultat/annee_scolaire=2024-2025/run1.parquet",
            "shared/eleve/code_css=866000/run1.parquet",
            "shared/eleve/code_css=881000/run1.parquet",
            "shared/resultat/annee_scolaire=2023-2024/code_css=866000/run1.parquet",
            "shared/resultat/annee_scolaire=2024-2025/code_css=866000/run1.parquet",
            "shared/resultat/annee_scolaire=2024-2025/code_css=881000/run1.parquet",
            "marts/province/run1.parquet",
            "marts/reussite/run1.parquet",
            "marts/vide/run1.parquet",
        ]
    );
    assert!(root.join("_socle/manifests/866000.json").is_file());
    assert!(root.join("_socle/manifests/_marts.json").is_file());
    assert!(root.join("_socle/runs/run1/866000-quality.json").is_file());
    assert!(files_under(&root, "_socle/staging").is_empty());

    // Manifest as written on disk equals what manifest() returns; files listed are the ones above.
    let m = wh.manifest(A)?.ok_or("no manifest")?;
    assert_eq!(m.format, socle_warehouse::MANIFEST_FORMAT);
    assert_eq!(m.run_id, "run1");
    assert_eq!(m.tables["resultat"].rows, 3);
    assert_eq!(m.tables["eleve"].rows, 2);
    assert_eq!(m.quarantine.rows, 1);
    assert_eq!(
        m.tables["resultat"].shared_files,
        vec![
            "shared/resultat/annee_scolaire=2023-2024/code_css=866000/run1.parquet",
            "shared/resultat/annee_scolaire=2024-2025/code_css=866000/run1.parquet",
        ]
    );
    assert!(m.published_at.ends_with('Z'));
    let manifests = wh.manifests()?;
    assert_eq!(
        manifests.iter().map(|m| m.code_css.as_str()).collect::<Vec<_>>(),
        vec![A, B]
    );

    // Files: zstd, partition columns kept inside, shared zone in dictionary order.
    let file = std::fs::File::open(root.join("shared/resultat/annee_scolaire=2024-2025/code_css=866000/run1.parquet"))?;
    let reader = SerializedFileReader::new(file)?;
    let meta = reader.metadata();
    assert_eq!(meta.file_metadata().num_rows(), 2);
    let rg = meta.row_group(0);
    assert!(matches!(rg.column(0).compression(), Compression::ZSTD(_)));
    assert!(rg.column(0).statistics().is_some());
    let names: Vec<&str> = meta
        .file_metadata()
        .schema_descr()
        .columns()
        .iter()
        .map(|c| c.name())
        .collect();
    assert_eq!(names, vec!["annee_scolaire", "code_css", "cle_eleve", "note"]);

    let schemas = entity_schemas([&resultat(), &eleve(), &absence()]);

    // Shared zone: every CSS, shared fields only, marts, no quarantine.
    let shared = wh.session(Zone::Shared, &schemas).await?;
    assert_eq!(count(&shared, "resultat").await?, 4);
    assert_eq!(
        columns(&shared, "resultat").await?,
        vec!["annee_scolaire", "code_css", "cle_eleve", "note"]
    );
    assert_eq!(distinct(&shared, "resultat", "code_css").await?, vec![A, B]);
    assert_eq!(columns(&shared, "eleve").await?, vec!["code_css", "cle_eleve", "sexe"]);
    assert_eq!(count(&shared, "eleve").await?, 4);
    assert!(shared.table("quarantaine").await.is_err());
    assert_eq!(count(&shared, "reussite").await?, 3);
    assert_eq!(count(&shared, "province").await?, 1);
    assert_eq!(count(&shared, "vide").await?, 0);
    // Never written: empty, with the shared fields of its schema only.
    assert_eq!(count(&shared, "absence").await?, 0);
    assert_eq!(
        columns(&shared, "absence").await?,
        vec!["annee_scolaire", "code_css", "periode"]
    );

    // CSS zone: its own rows, every column, quarantine, marts restricted to it.
    let css = wh.session(Zone::Css(A.to_string()), &schemas).await?;
    assert_eq!(count(&css, "resultat").await?, 3);
    assert!(columns(&css, "resultat").await?.contains(&"fiche".to_string()));
    assert_eq!(distinct(&css, "resultat", "code_css").await?, vec![A]);
    assert_eq!(
        distinct(&css, "resultat", "annee_scolaire").await?,
        vec!["2023-2024", "2024-2025"]
    );
    assert!(columns(&css, "eleve").await?.contains(&"nom".to_string()));
    assert_eq!(count(&css, "quarantaine").await?, 1);
    assert_eq!(count(&css, "reussite").await?, 2);
    assert_eq!(distinct(&css, "reussite", "code_css").await?, vec![A]);
    assert!(css.table("province").await.is_err());
    assert_eq!(count(&css, "absence").await?, 0);
    assert!(columns(&css, "absence").await?.contains(&"fiche".to_string()));

    // Without schemas, tables never written are skipped.
    let bare = wh.session(Zone::Shared, &BTreeMap::new()).await?;
    assert!(bare.table("absence").await.is_err());
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn rerun_replaces_only_that_css() -> TestResult {
    let dir = tempfile::tempdir()?;
    let wh = Warehouse::open(dir.path())?;
    let root = wh.root().to_path_buf();
    publish_css(&wh, A, "run1", &["2023-2024", "2024-2025"])?;
    publish_css(&wh, B, "run1", &["2024-2025"])?;
    let b_before = wh.manifest(B)?.ok_or("no manifest")?;
    let b_files: Vec<String> = data_files(&root).into_iter().filter(|f| f.contains(B)).collect();

    publish_css(&wh, A, "run2", &["2024-2025", "2024-2025", "2024-2025"])?;
    let files = data_files(&root);
    // The night held 2024-2025 only: that year is replaced, 2023-2024 is kept as run1 wrote it.
    let a_files: Vec<&String> = files.iter().filter(|f| f.contains("866000")).collect();
    assert!(
        a_files
            .iter()
            .all(|f| f.contains("run2") || f.contains("annee_scolaire=2023-2024")),
        "{a_files:?}"
    );
    assert!(
        root.join("css/866000/resultat/annee_scolaire=2023-2024/run1.parquet")
            .exists()
    );
    assert!(
        !root
            .join("css/866000/resultat/annee_scolaire=2024-2025/run1.parquet")
            .exists()
    );
    let a = wh.manifest(A)?.ok_or("no manifest")?;
    let resultat_files = &a.tables["resultat"];
    assert_eq!(resultat_files.rows, 4);
    assert_eq!(
        resultat_files.partition_rows,
        BTreeMap::from([("2023-2024".to_string(), 1), ("2024-2025".to_string(), 3)])
    );
    // B untouched.
    assert_eq!(
        files.iter().filter(|f| f.contains(B)).cloned().collect::<Vec<_>>(),
        b_files
    );
    assert_eq!(wh.manifest(B)?, Some(b_before));

    let shared = wh.session(Zone::Shared, &BTreeMap::new()).await?;
    assert_eq!(count(&shared, "resultat").await?, 5);
    Ok(())
}

/// A table the night does not write (its source failed) keeps its files; source states merge.
#[tokio::test(flavor = "multi_thread")]
async fn unwritten_tables_and_other_sources_are_kept() -> TestResult {
    let dir = tempfile::tempdir()?;
    let wh = Warehouse::open(dir.path())?;
    let root = wh.root().to_path_buf();
    let mut tx = wh.begin_css(A, "run1")?;
    write_css(&mut tx, A, &["2024-2025"])?;
    let mut first = info("fp1");
    for system in ["gpi", "dofin"] {
        first.sources.insert(
            system.to_string(),
            socle_warehouse::SourceState {
                night: "2025-11-20".into(),
                run_id: "run1".into(),
                files: 1,
                ..Default::default()
            },
        );
    }
    tx.commit(first)?;

    // run2 writes only `eleve` (as if the source of `resultat` had failed).
    let mut tx = wh.begin_css(A, "run2")?;
    tx.write_table(&eleve(), &[eleve_batch(A, 3)?])?;
    tx.write_quarantine(&[])?;
    let mut second = info("fp1");
    second.sources.insert(
        "gpi".to_string(),
        socle_warehouse::SourceState {
            night: "2025-11-21".into(),
            run_id: "run2".into(),
            files: 1,
            ..Default::default()
        },
    );
    tx.commit(second)?;

    let m = wh.manifest(A)?.ok_or("no manifest")?;
    assert_eq!(m.tables["eleve"].rows, 3);
    assert_eq!(m.tables["resultat"].rows, 1, "resultat kept from run1");
    assert!(m.tables["resultat"].css_files.iter().all(|f| f.contains("run1")));
    assert_eq!(m.sources["gpi"].night, "2025-11-21");
    assert_eq!(
        m.sources["dofin"].night, "2025-11-20",
        "a source not attempted keeps its state"
    );
    for f in m.files() {
        assert!(root.join(f).exists(), "{f} listed but missing");
    }
    let shared = wh.session(Zone::Shared, &BTreeMap::new()).await?;
    assert_eq!(count(&shared, "resultat").await?, 1);
    assert_eq!(count(&shared, "eleve").await?, 3);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn failed_commit_keeps_previous_state_and_open_collects_orphans() -> TestResult {
    let dir = tempfile::tempdir()?;
    let wh = Warehouse::open(dir.path())?;
    let root = wh.root().to_path_buf();
    publish_css(&wh, A, "run1", &["2024-2025"])?;
    let before_manifest = wh.manifest(A)?;
    let before_files = data_files(&root);
    let before_rows = count(&wh.session(Zone::Shared, &BTreeMap::new()).await?, "resultat").await?;

    let mut tx = wh.begin_css(A, "run2")?;
    tx.set_failpoint(Some("commit:866000"));
    write_css(&mut tx, A, &["2024-2025", "2024-2025", "2025-2026"])?;
    let err = tx.commit(info("fp1"));
    assert!(matches!(err, Err(WarehouseError::Failpoint(_))), "{err:?}");

    // Previous manifest, files and query results intact; the new files are orphans.
    assert_eq!(wh.manifest(A)?, before_manifest);
    let after = data_files(&root);
    assert!(before_files.iter().all(|f| after.contains(f)));
    assert!(after.iter().any(|f| f.contains("run2")));
    let shared = wh.session(Zone::Shared, &BTreeMap::new()).await?;
    assert_eq!(count(&shared, "resultat").await?, before_rows);
    assert_eq!(
        distinct(&shared, "resultat", "annee_scolaire").await?,
        vec!["2024-2025"]
    );

    // The next open removes the orphans (and the empty folders they were in).
    let wh = Warehouse::open(dir.path())?;
    assert_eq!(data_files(&root), before_files);
    assert!(!root.join("css/866000/resultat/annee_scolaire=2025-2026").exists());
    assert_eq!(wh.manifest(A)?, before_manifest);

    // A run after that publishes normally: it replaces the year it holds (2024-2025).
    publish_css(&wh, A, "run3", &["2024-2025"])?;
    assert!(
        data_files(&root).iter().all(|f| f.contains("run3")),
        "{:?}",
        data_files(&root)
    );
    Ok(())
}

#[test]
fn warehouse_failpoints_reach_transactions_and_marts() -> TestResult {
    let dir = tempfile::tempdir()?;
    let mut wh = Warehouse::open(dir.path())?;
    wh.set_failpoint(Some("write:866000"));
    let mut tx = wh.begin_css(A, "run1")?;
    assert!(matches!(
        tx.write_table(&resultat(), &[resultat_batch(A, &["2024-2025"], &[1])?]),
        Err(WarehouseError::Failpoint(_))
    ));
    drop(tx);
    // Another CSS is not affected.
    publish_css(&wh, B, "run1", &["2024-2025"])?;

    wh.set_failpoint(Some("commit:_marts"));
    let (schema, batches) = mart_batches()?;
    assert!(matches!(
        wh.publish_marts(
            "run1",
            vec![mart("reussite", schema, batches.clone(), batches)],
            &[A.to_string(), B.to_string()]
        ),
        Err(WarehouseError::Failpoint(_))
    ));
    assert!(wh.marts_manifest()?.is_none());
    assert!(!files_under(wh.root(), "marts").is_empty());
    let wh = Warehouse::open(dir.path())?;
    assert!(files_under(wh.root(), "marts").is_empty());
    Ok(())
}

/// Each step of a commit has its failpoint, for a CSS and for the marts: `staged` moves
/// nothing, `renamed` leaves the moved files as orphans of the previous state, `swapped` has
/// committed the new state and leaves the previous files as orphans. The next open collects them.
#[test]
fn failpoints_stop_a_commit_at_each_step() -> TestResult {
    let dir = tempfile::tempdir()?;
    let mut wh = Warehouse::open(dir.path())?;
    let root = wh.root().to_path_buf();
    publish_css(&wh, A, "run1", &["2024-2025"])?;
    // B is not committed again: its run id contains "m1" to be kept like the marts' files.
    publish_css(&wh, B, "m1b", &["2024-2025"])?;
    let codes = [A.to_string(), B.to_string()];
    let (schema, batches) = mart_batches()?;
    let marts = |batches: &Vec<RecordBatch>| vec![mart("reussite", schema.clone(), batches.clone(), batches.clone())];
    wh.publish_marts("m1", marts(&batches), &codes)?;
    let run1 = data_files(&root);
    assert_eq!(run1.len(), 13, "{run1:?}");
    assert!(run1.iter().all(|f| f.contains("run1") || f.contains("m1")), "{run1:?}");

    for (step, run, manifest_run, files_after) in [
        ("staged", "run2", "run1", 13),
        ("renamed", "run3", "run1", 13 + 5),
        ("swapped", "run4", "run4", 5 + 5 + 5 + 3),
    ] {
        wh.set_failpoint(Some(format!("{step}:{A}").as_str()));
        let mut tx = wh.begin_css(A, run)?;
        write_css(&mut tx, A, &["2024-2025"])?;
        match tx.commit(info("fp1")) {
            Err(WarehouseError::Failpoint(name)) => assert_eq!(name, format!("{step}:{A}")),
            other => panic!("{step}: {other:?}"),
        }
        assert_eq!(
            wh.manifest(A)?.map(|m| m.run_id).as_deref(),
            Some(manifest_run),
            "{step}"
        );
        assert_eq!(data_files(&root).len(), files_after, "{step}: {:?}", data_files(&root));
        // The next open keeps exactly the current manifests' files.
        wh = Warehouse::open(dir.path())?;
        let kept = data_files(&root);
        assert!(!kept.is_empty());
        assert!(
            kept.iter().all(|f| f.contains(manifest_run) || f.contains("m1")),
            "{step}: {kept:?}"
        );
        assert!(files_under(&root, "_socle/staging").is_empty(), "{step}");
    }

    // The marts, at the same steps.
    for (step, run, manifest_run) in [("staged", "m2", "m1"), ("renamed", "m3", "m1"), ("swapped", "m4", "m4")] {
        wh.set_failpoint(Some(format!("{step}:_marts").as_str()));
        match wh.publish_marts(run, marts(&batches), &codes) {
            Err(WarehouseError::Failpoint(name)) => assert_eq!(name, format!("{step}:_marts")),
            other => panic!("{step}: {other:?}"),
        }
        assert_eq!(wh.marts_manifest()?.map(|m| m.run_id).as_deref(), Some(manifest_run));
        wh = Warehouse::open(dir.path())?;
        let marts_files = files_under(&root, "marts");
        assert_eq!(marts_files.len(), 1, "{step}: {marts_files:?}");
        assert!(marts_files[0].contains(manifest_run), "{step}: {marts_files:?}");
    }
    // The marts recorded the CSS run they were built from: the current one.
    assert_eq!(
        wh.marts_manifest()?.map(|m| m.css_runs),
        Some(BTreeMap::from([
            (A.to_string(), "run4".to_string()),
            (B.to_string(), "m1b".to_string())
        ]))
    );
    assert!(wh.marts_state()?.is_current());
    publish_css(&wh, A, "run5", &["2024-2025"])?;
    assert_eq!(
        wh.marts_state()?,
        socle_warehouse::MartsState::Stale {
            css: vec![A.to_string()]
        }
    );
    Ok(())
}

#[test]
fn dropped_transaction_leaves_nothing() -> TestResult {
    let dir = tempfile::tempdir()?;
    let wh = Warehouse::open(dir.path())?;
    let root = wh.root().to_path_buf();
    {
        let mut tx = wh.begin_css(A, "run1")?;
        write_css(&mut tx, A, &["2024-2025"])?;
        assert!(!files_under(&root, "_socle/staging").is_empty());
    }
    assert!(files_under(&root, "_socle/staging").is_empty());
    assert!(!root.join("_socle/staging/run1").exists());
    assert!(data_files(&root).is_empty());
    assert!(wh.manifest(A)?.is_none());
    assert!(files_under(&root, "_socle/runs").is_empty());
    Ok(())
}

#[test]
fn key_fingerprint_mismatch_is_refused() -> TestResult {
    let dir = tempfile::tempdir()?;
    let wh = Warehouse::open(dir.path())?;
    let root = wh.root().to_path_buf();
    publish_css(&wh, A, "run1", &["2024-2025"])?;
    let before = data_files(&root);

    let mut tx = wh.begin_css(B, "run1")?;
    write_css(&mut tx, B, &["2024-2025"])?;
    let err = tx.commit(info("fp2"));
    assert!(matches!(err, Err(WarehouseError::KeyMismatch { .. })), "{err:?}");
    assert!(wh.manifest(B)?.is_none());
    assert_eq!(data_files(&root), before);
    assert_eq!(wh.key_fingerprint(None)?, Some((A.to_string(), "fp1".to_string())));

    // Alone in the warehouse, a CSS may change key.
    let mut tx = wh.begin_css(A, "run2")?;
    write_css(&mut tx, A, &["2024-2025"])?;
    let m = tx.commit(info("fp2"))?;
    assert_eq!(m.key_fingerprint, "fp2");
    Ok(())
}

#[test]
fn bad_input_is_refused() -> TestResult {
    let dir = tempfile::tempdir()?;
    let wh = Warehouse::open(dir.path())?;
    let mut tx = wh.begin_css(A, "run1")?;

    // A shared field missing.
    let batch = resultat_batch(A, &["2024-2025"], &[1])?;
    let without_key = batch.project(&[0, 1, 2, 4])?;
    assert!(matches!(
        tx.write_table(&resultat(), &[without_key]),
        Err(WarehouseError::MissingSharedField { field, .. }) if field == "cle_eleve"
    ));
    // Rows of another CSS.
    assert!(matches!(
        tx.write_table(&resultat(), &[resultat_batch(B, &["2024-2025"], &[1])?]),
        Err(WarehouseError::ForeignRows { rows: 1, .. })
    ));
    // Twice the same table.
    tx.write_table(&resultat(), std::slice::from_ref(&batch))?;
    assert!(matches!(
        tx.write_table(&resultat(), &[batch]),
        Err(WarehouseError::AlreadyWritten { .. })
    ));
    // Empty input: no file, 0 rows.
    tx.write_table(&eleve(), &[])?;
    assert_eq!(tx.tables()["eleve"].rows, 0);
    let m = tx.commit(info("fp1"))?;
    assert_eq!(m.tables["eleve"].rows, 0);
    assert!(m.tables["eleve"].css_files.is_empty());

    // A run id already published.
    assert!(matches!(
        wh.begin_css(A, "run1"),
        Err(WarehouseError::RunIdReused { .. })
    ));
    // Names that are not path components.
    assert!(matches!(
        wh.begin_css("../x", "run2"),
        Err(WarehouseError::InvalidName { .. })
    ));
    assert!(matches!(
        wh.begin_css(A, "a/b"),
        Err(WarehouseError::InvalidName { .. })
    ));
    Ok(())
}

#[test]
fn open_spares_a_transaction_in_progress() -> TestResult {
    let dir = tempfile::tempdir()?;
    let wh = Warehouse::open(dir.path())?;
    let mut tx = wh.begin_css(A, "run1")?;
    write_css(&mut tx, A, &["2024-2025"])?;
    // Another opener (another process, say) must not collect the staged files.
    let _other = Warehouse::open(dir.path())?;
    let m = tx.commit(info("fp1"))?;
    assert_eq!(m.tables["resultat"].rows, 1);
    assert!(wh.root().join(&m.tables["resultat"].css_files[0]).is_file());
    Ok(())
}

#[test]
fn run_ids_sort_by_time() {
    let a = socle_warehouse::new_run_id();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let b = socle_warehouse::new_run_id();
    assert!(a < b, "{a} {b}");
}

#[test]
fn null_year_is_refused() -> TestResult {
    let dir = tempfile::tempdir()?;
    let wh = Warehouse::open(dir.path())?;
    let mut tx = wh.begin_css(A, "run1")?;
    let batch = resultat_batch(A, &["2024-2025", "x"], &[1, 2])?;
    let years: ArrayRef = Arc::new(StringArray::from(vec![Some("2024-2025"), None]));
    let mut cols = batch.columns().to_vec();
    cols[1] = years;
    let schema = Arc::new(Schema::new(
        batch
            .schema()
            .fields()
            .iter()
            .map(|f| f.as_ref().clone().with_nullable(true))
            .collect::<Vec<_>>(),
    ));
    let batch = RecordBatch::try_new(schema, cols)?;
    assert!(batch.column(1).null_count() == 1);
    assert!(matches!(
        tx.write_table(&resultat(), &[batch]),
        Err(WarehouseError::NullPartitionValue { rows: 1, .. })
    ));
    Ok(())
}

#[test]
fn session_future_is_send() -> TestResult {
    fn assert_send<T: Send>(_: &T) {}
    let dir = tempfile::tempdir()?;
    let wh = Warehouse::open(dir.path())?;
    let schemas = BTreeMap::new();
    let fut = wh.session(Zone::Shared, &schemas);
    assert_send(&fut);
    let tx = wh.begin_css(A, "run1")?;
    assert_send(&tx);
    Ok(())
}

/// Every file of the current manifests (intermediate models included), by Delta table.
fn listed_by_table(
    wh: &Warehouse,
) -> Result<BTreeMap<String, std::collections::BTreeSet<String>>, Box<dyn std::error::Error>> {
    let mut listed: Vec<String> = Vec::new();
    for m in wh.manifests()? {
        listed.extend(m.files().cloned());
    }
    if let Some(m) = wh.marts_manifest()? {
        listed.extend(m.files().cloned());
    }
    Ok(socle_warehouse::delta::whole_tables(&listed))
}

/// Every table's Delta log holds exactly the files the manifests list there, and each table's
/// latest version is the highest version a manifest records for it.
pub(crate) fn assert_delta_matches_manifests(wh: &Warehouse) -> TestResult {
    let root = wh.root();
    let mut recorded: BTreeMap<String, u64> = BTreeMap::new();
    for d in wh
        .manifests()?
        .into_iter()
        .map(|m| m.delta)
        .chain(wh.marts_manifest()?.map(|m| m.delta))
    {
        for (t, v) in d {
            let e = recorded.entry(t).or_insert(v);
            *e = (*e).max(v);
        }
    }
    let tables = listed_by_table(wh)?;
    assert!(!tables.is_empty());
    for (table, files) in &tables {
        assert_eq!(&socle_warehouse::delta::active_files(root, table)?, files, "{table}");
        assert!(recorded.contains_key(table), "{table} has no recorded version");
    }
    Ok(())
}

/// The commit infos of a table's log, oldest first.
/// Every action of a table's Delta log, commit by commit, in version order.
fn log_actions(root: &Path, table: &str) -> Result<Vec<serde_json::Value>, Box<dyn std::error::Error>> {
    let mut logs: Vec<PathBuf> = std::fs::read_dir(root.join(table).join("_delta_log"))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    logs.sort();
    let mut out = Vec::new();
    for log in logs {
        for line in std::fs::read_to_string(&log)?.lines() {
            out.push(serde_json::from_str(line)?);
        }
    }
    Ok(out)
}

fn commit_infos(root: &Path, table: &str) -> Result<Vec<serde_json::Value>, Box<dyn std::error::Error>> {
    Ok(log_actions(root, table)?
        .into_iter()
        .filter_map(|v| v.get("commitInfo").cloned())
        .collect())
}

#[test]
fn every_table_is_a_delta_table_and_a_night_replaces_only_its_partitions() -> TestResult {
    let dir = tempfile::tempdir()?;
    let wh = Warehouse::open(dir.path())?;
    let root = wh.root().to_path_buf();
    publish_css(&wh, A, "run1", &["2024-2025", "2023-2024"])?;
    publish_css(&wh, B, "run1", &["2024-2025"])?;
    let (schema, batches) = mart_batches()?;
    wh.publish_marts(
        "m1",
        vec![mart("reussite", schema, batches.clone(), batches)],
        &[A.to_string(), B.to_string()],
    )?;
    assert_delta_matches_manifests(&wh)?;
    let tables = listed_by_table(&wh)?;
    for table in [
        "shared/resultat",
        "css/866000/resultat",
        "css/866000/quarantaine",
        "marts/reussite",
        "css/881000/marts/reussite",
    ] {
        assert!(tables.contains_key(table), "{table}: {:?}", tables.keys());
    }
    // A's new night of 2024-2025 only: its 2023-2024 partition and B's stay as they were.
    publish_css(&wh, A, "run2", &["2024-2025"])?;
    assert_delta_matches_manifests(&wh)?;
    let shared = socle_warehouse::delta::active_files(&root, "shared/resultat")?;
    assert_eq!(
        shared.into_iter().collect::<Vec<_>>(),
        vec![
            "shared/resultat/annee_scolaire=2023-2024/code_css=866000/run1.parquet",
            "shared/resultat/annee_scolaire=2024-2025/code_css=866000/run2.parquet",
            "shared/resultat/annee_scolaire=2024-2025/code_css=881000/run1.parquet",
        ]
    );
    // The commit is a replace-where on A's partitions, and names the run and the CSS.
    let infos = commit_infos(&root, "shared/resultat")?;
    let last = infos.last().ok_or("no commit")?;
    assert_eq!(last["operation"], "WRITE", "{last}");
    assert_eq!(last["operationParameters"]["mode"], "Overwrite", "{last}");
    assert_eq!(
        last["operationParameters"]["predicate"], "code_css = '866000'",
        "{last}"
    );
    assert_eq!(last["socle.run_id"], "run2", "{last}");
    assert_eq!(last["socle.owner"], A, "{last}");
    let v = socle_warehouse::delta::latest_version(&root, "shared/resultat");
    assert_eq!(wh.manifest(A)?.ok_or("A")?.delta.get("shared/resultat").copied(), v);
    // The log holds no personal value: file statistics are row counts only.
    for line in std::fs::read_to_string(root.join("shared/eleve/_delta_log/00000000000000000000.json"))?.lines() {
        assert!(!line.contains("minValues") && !line.contains("maxValues"), "{line}");
    }
    Ok(())
}

#[test]
fn a_kill_after_the_delta_commits_is_undone_by_the_next_open() -> TestResult {
    let dir = tempfile::tempdir()?;
    let mut wh = Warehouse::open(dir.path())?;
    let root = wh.root().to_path_buf();
    publish_css(&wh, A, "run1", &["2024-2025"])?;
    publish_css(&wh, B, "run1", &["2024-2025"])?;
    wh.set_failpoint(Some(&format!("delta:{A}")));
    let mut tx = wh.begin_css(A, "run2")?;
    write_css(&mut tx, A, &["2024-2025"])?;
    match tx.commit(info("fp1")) {
        Err(WarehouseError::Failpoint(name)) => assert_eq!(name, format!("delta:{A}")),
        other => panic!("{other:?}"),
    }
    // The manifest is still run1's; the Delta log is already run2's.
    assert_eq!(wh.manifest(A)?.map(|m| m.run_id).as_deref(), Some("run1"));
    let active = socle_warehouse::delta::active_files(&root, "css/866000/eleve")?;
    assert_eq!(
        active.into_iter().collect::<Vec<_>>(),
        vec!["css/866000/eleve/run2.parquet"]
    );
    // The next open brings every table back to the manifests, then deletes the orphans.
    let wh = Warehouse::open(dir.path())?;
    assert_delta_matches_manifests(&wh)?;
    assert!(data_files(&root).iter().all(|f| f.contains("run1")));
    let infos = commit_infos(&root, "css/866000/eleve")?;
    assert_eq!(infos.last().ok_or("commit")?["socle.operation"], "reprise");
    // And the next night commits on top of the repaired table.
    publish_css(&wh, A, "run3", &["2024-2025"])?;
    assert_delta_matches_manifests(&wh)?;
    Ok(())
}

#[test]
fn css_committing_at_once_keep_each_others_commits() -> TestResult {
    let dir = tempfile::tempdir()?;
    let wh = Warehouse::open(dir.path())?;
    four_css_commit_at_once_and_none_is_lost(&wh)
}

/// Four CSS publish at once into `wh` (a folder or a bucket): every table's log equals the
/// manifests, and the shared table they all write holds one creation and three commits on top
/// of it, none lost.
pub(crate) fn four_css_commit_at_once_and_none_is_lost(wh: &Warehouse) -> TestResult {
    let codes = ["711000", "751000", "762000", "866000"];
    std::thread::scope(|s| {
        let handles: Vec<_> = codes
            .iter()
            .map(|code| {
                let wh = wh.clone();
                s.spawn(move || publish_css(&wh, code, "run1", &["2024-2025"]).map_err(|e| e.to_string()))
            })
            .collect();
        for h in handles {
            h.join().expect("thread").expect("publication");
        }
    });
    assert_delta_matches_manifests(wh)?;
    assert_eq!(
        socle_warehouse::delta::latest_version(wh.root(), "shared/resultat"),
        Some(3)
    );
    assert_eq!(
        socle_warehouse::delta::active_files(wh.root(), "shared/resultat")?.len(),
        4
    );
    Ok(())
}

#[test]
fn a_warehouse_without_logs_gets_them_at_open() -> TestResult {
    let dir = tempfile::tempdir()?;
    let wh = Warehouse::open(dir.path())?;
    let root = wh.root().to_path_buf();
    publish_css(&wh, A, "run1", &["2024-2025"])?;
    publish_css(&wh, B, "run1", &["2024-2025"])?;
    let (schema, batches) = mart_batches()?;
    wh.publish_marts(
        "m1",
        vec![mart("reussite", schema, batches.clone(), batches)],
        &[A.to_string(), B.to_string()],
    )?;
    // A warehouse of an earlier version: no log, no recorded version.
    for table in listed_by_table(&wh)?.keys() {
        std::fs::remove_dir_all(root.join(table).join("_delta_log"))?;
    }
    let wh = Warehouse::open(dir.path())?;
    for (table, files) in listed_by_table(&wh)? {
        assert_eq!(socle_warehouse::delta::active_files(&root, &table)?, files, "{table}");
    }
    Ok(())
}

#[test]
fn a_checkpoint_every_ten_commits_keeps_logs_short() -> TestResult {
    let dir = tempfile::tempdir()?;
    let wh = Warehouse::open(dir.path())?;
    let root = wh.root().to_path_buf();
    for night in 1..=10 {
        publish_css(&wh, A, &format!("run{night:02}"), &["2024-2025"])?;
    }
    let log = root.join("css/866000/eleve/_delta_log");
    assert_eq!(
        socle_warehouse::delta::latest_version(&root, "css/866000/eleve"),
        Some(9)
    );
    assert!(log.join("_last_checkpoint").is_file(), "no checkpoint after 10 commits");
    assert!(log.join("00000000000000000009.checkpoint.parquet").is_file());
    assert_delta_matches_manifests(&wh)?;
    Ok(())
}

/// Run ids shaped like real ones, in time order: two nights, each followed by its marts.
const NIGHT1: &str = "20261201T031500Z-0a1b2c3d";
const MARTS1: &str = "20261201T033000Z-1a1b2c3d";
const NIGHT2: &str = "20261202T031500Z-2a1b2c3d";
const MARTS2: &str = "20261202T033000Z-3a1b2c3d";

/// Two nights with their marts, replaced files kept for a week (as `socle run` does).
fn two_nights(root: &Path) -> Result<Warehouse, Box<dyn std::error::Error>> {
    let mut wh = Warehouse::open(root)?;
    wh.set_replaced_grace(std::time::Duration::from_secs(7 * 86_400));
    let (schema, batches) = mart_batches()?;
    let codes = [A.to_string(), B.to_string()];
    publish_css(&wh, A, NIGHT1, &["2024-2025"])?;
    publish_css(&wh, B, NIGHT1, &["2024-2025"])?;
    wh.publish_marts(
        MARTS1,
        vec![mart("reussite", schema.clone(), batches.clone(), batches.clone())],
        &codes,
    )?;
    // The second night reloads A only, with one more school year.
    publish_css(&wh, A, NIGHT2, &["2024-2025", "2025-2026"])?;
    wh.publish_marts(MARTS2, vec![mart("reussite", schema, batches.clone(), batches)], &codes)?;
    Ok(wh)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_past_night_reads_as_it_was_until_vacuumed() -> TestResult {
    let dir = tempfile::tempdir()?;
    let wh = two_nights(dir.path())?;
    let none = BTreeMap::new();
    let now = wh.session(Zone::Css(A.into()), &none).await?;
    assert_eq!(count(&now, "resultat").await?, 2);

    // As night 1 left it: A's first night, B, and the marts built from them.
    let past = wh.at(NIGHT1)?;
    assert_eq!(past.as_of(), Some(NIGHT1));
    assert_eq!(past.manifest(A)?.map(|m| m.run_id).as_deref(), Some(NIGHT1));
    assert_eq!(past.manifest(B)?.map(|m| m.run_id).as_deref(), Some(NIGHT1));
    assert_eq!(past.marts_manifest()?.map(|m| m.run_id).as_deref(), Some(MARTS1));
    let ctx = past.session(Zone::Css(A.into()), &none).await?;
    assert_eq!(count(&ctx, "resultat").await?, 1, "night 1 had one school year of A");
    assert_eq!(distinct(&ctx, "resultat", "annee_scolaire").await?, vec!["2024-2025"]);
    let shared = past.session(Zone::Shared, &none).await?;
    assert_eq!(count(&shared, "resultat").await?, 2, "A and B, one row each");
    assert_eq!(count(&shared, "reussite").await?, 3);
    // Night 2's own marts read with it; a date reads the end of that day (UTC).
    assert_eq!(wh.at(MARTS1)?.manifest(A)?.map(|m| m.run_id).as_deref(), Some(NIGHT1));
    assert_eq!(
        wh.at(NIGHT2)?.marts_manifest()?.map(|m| m.run_id).as_deref(),
        Some(MARTS2)
    );
    let by_date = wh.at("2026-12-01")?;
    assert_eq!(by_date.manifest(A)?.map(|m| m.run_id).as_deref(), Some(NIGHT1));
    assert_eq!(by_date.marts_manifest()?.map(|m| m.run_id).as_deref(), Some(MARTS1));
    assert_eq!(
        wh.at("2026-12-02T03:20:00Z")?.manifest(A)?.map(|m| m.run_id).as_deref(),
        Some(NIGHT2)
    );
    // Nothing then, an unknown run, a malformed one.
    assert!(matches!(wh.at("2026-11-30"), Err(WarehouseError::UnknownAsOf(_))));
    assert!(matches!(
        wh.at("20261130T000000Z-00000000"),
        Err(WarehouseError::UnknownAsOf(_))
    ));
    assert!(matches!(wh.at("hier"), Err(WarehouseError::InvalidAsOf(_))));
    // A past state is read-only.
    assert!(matches!(past.begin_css(A, "x"), Err(WarehouseError::PinnedReadOnly(_))));
    assert!(matches!(past.begin_marts("x"), Err(WarehouseError::PinnedReadOnly(_))));
    assert!(matches!(
        past.lock_run("socle run"),
        Err(WarehouseError::PinnedReadOnly(_))
    ));
    assert!(matches!(
        past.vacuum(std::time::Duration::ZERO),
        Err(WarehouseError::PinnedReadOnly(_))
    ));
    let runs: Vec<String> = wh.history()?.into_iter().map(|e| e.run_id).collect();
    assert_eq!(runs, [NIGHT1, MARTS1, NIGHT2, MARTS2]);

    // A week's window keeps everything; a vacuum of everything replaced forgets night 1.
    let kept = wh.vacuum(std::time::Duration::from_secs(7 * 86_400))?;
    assert_eq!((kept.files_deleted, kept.history_forgotten), (0, 0));
    assert!(wh.at(NIGHT1).is_ok());
    let gone = wh.vacuum(std::time::Duration::ZERO)?;
    assert!(gone.files_deleted > 0, "{gone:?}");
    assert_eq!(gone.history_forgotten, 2, "A's night 1 and the first marts");
    assert!(matches!(wh.at(NIGHT1), Err(WarehouseError::Vacuumed { .. })));
    assert!(matches!(wh.at("2026-12-01"), Err(WarehouseError::Vacuumed { .. })));
    assert_eq!(wh.at(NIGHT2)?.manifest(A)?.map(|m| m.run_id).as_deref(), Some(NIGHT2));
    // Only what the manifests list is left.
    let listed: Vec<String> = listed_by_table(&wh)?.into_values().flatten().collect();
    let on_disk = data_files(wh.root());
    assert!(on_disk.iter().all(|f| listed.contains(f)), "{on_disk:?}");
    Ok(())
}

#[test]
fn a_new_generation_forgets_every_past_state() -> TestResult {
    let dir = tempfile::tempdir()?;
    let wh = two_nights(dir.path())?;
    assert!(wh.at(NIGHT1).is_ok());
    let replaced = data_files(wh.root()).len();
    let generation = "20261203T120000Z-4a1b2c3d";
    wh.begin_generation(generation)?.commit("rekey")?;
    // The files kept for time travel are gone with the history, at once.
    assert!(data_files(wh.root()).len() < replaced);
    let listed: Vec<String> = listed_by_table(&wh)?.into_values().flatten().collect();
    assert!(data_files(wh.root()).iter().all(|f| listed.contains(f)));
    for as_of in [NIGHT1, NIGHT2, "2026-12-02"] {
        assert!(matches!(wh.at(as_of), Err(WarehouseError::Forgotten { .. })), "{as_of}");
    }
    assert!(wh.history()?.is_empty());
    // The state after the switch reads by date.
    assert_eq!(
        wh.at("2026-12-04")?.manifest(A)?.map(|m| m.run_id).as_deref(),
        Some(NIGHT2)
    );
    Ok(())
}

/// A manifest file of the current generation, as JSON.
fn manifest_json(root: &Path, owner: &str) -> Result<(PathBuf, serde_json::Value), Box<dyn std::error::Error>> {
    let path = root.join("_socle/manifests").join(format!("{owner}.json"));
    let json = serde_json::from_slice(&std::fs::read(&path)?)?;
    Ok((path, json))
}

#[test]
fn migrate_converts_a_warehouse_from_before_delta_in_place() -> TestResult {
    let dir = tempfile::tempdir()?;
    let wh = two_nights(dir.path())?;
    let root = wh.root().to_path_buf();
    // A warehouse of an earlier version: no log, no recorded version.
    for table in listed_by_table(&wh)?.keys() {
        std::fs::remove_dir_all(root.join(table).join("_delta_log"))?;
    }
    for owner in [A, B, "_marts"] {
        let (path, mut json) = manifest_json(&root, owner)?;
        json.as_object_mut().ok_or("not an object")?.remove("delta");
        std::fs::write(path, serde_json::to_vec(&json)?)?;
    }
    let tables = listed_by_table(&wh)?.len();
    // Killed after the logs, before the manifests: nothing Socle reads has changed.
    let mut killed = Warehouse::open(&root)?;
    killed.set_failpoint(Some("migrate:*"));
    assert!(matches!(killed.migrate(), Err(WarehouseError::Failpoint(_))));
    assert!(manifest_json(&root, A)?.1.get("delta").is_none());
    // Run again, it finishes: every table a Delta table, its version in the manifests.
    let wh = Warehouse::open(&root)?;
    let report = wh.migrate()?;
    assert_eq!(report.tables, tables);
    assert_eq!(report.tables_converted, tables);
    assert_eq!(report.manifests_updated, 3);
    assert_delta_matches_manifests(&wh)?;
    for m in wh.manifests()? {
        for (table, version) in &m.delta {
            assert_eq!(
                socle_warehouse::delta::latest_version(&root, table),
                Some(*version),
                "{table}"
            );
        }
        assert!(!m.delta.is_empty());
    }
    // Idempotent.
    let again = wh.migrate()?;
    assert_eq!((again.tables_converted, again.manifests_updated), (0, 0));
    Ok(())
}

/// The field names of a Delta table's schema, from the last `metaData` action of its log.
fn delta_fields(root: &Path, table: &str) -> Result<Vec<String>, Box<dyn std::error::Error>> {
    let schema = log_actions(root, table)?
        .iter()
        .rev()
        .find_map(|v| v.pointer("/metaData/schemaString").and_then(|s| s.as_str()))
        .map(str::to_string);
    let schema: serde_json::Value = serde_json::from_str(&schema.ok_or("no metaData")?)?;
    Ok(schema["fields"]
        .as_array()
        .ok_or("no fields")?
        .iter()
        .filter_map(|f| f["name"].as_str().map(str::to_string))
        .collect())
}

/// A new dictionary field (`mention`) reaches the Delta tables' schemas with the night that
/// first writes it, and a CSS still published without it keeps it there (schemas merge).
#[test]
fn a_new_field_widens_the_delta_schema() -> TestResult {
    let dir = tempfile::tempdir()?;
    let wh = Warehouse::open(dir.path())?;
    let root = wh.root().to_path_buf();
    publish_css(&wh, A, "run1", &["2024-2025"])?;
    publish_css(&wh, B, "run1", &["2024-2025"])?;
    assert!(!delta_fields(&root, "shared/resultat")?.contains(&"mention".to_string()));
    // Night 2 of A: the dictionary has a new shared field.
    let mut wider = resultat();
    wider
        .fields
        .push(field("mention", FieldType::Text, PersonalClass::None));
    let base = resultat_batch(A, &["2024-2025"], &[70])?;
    let mut fields: Vec<ArrowField> = base.schema().fields().iter().map(|f| f.as_ref().clone()).collect();
    fields.push(ArrowField::new("mention", DataType::Utf8, true));
    let mut columns = base.columns().to_vec();
    columns.push(strings(&["excellent"]));
    let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)?;
    let mut tx = wh.begin_css(A, "run2")?;
    tx.write_table(&wider, &[batch])?;
    tx.commit(info("fp1"))?;
    for table in ["shared/resultat", "css/866000/resultat"] {
        assert!(delta_fields(&root, table)?.contains(&"mention".to_string()), "{table}");
    }
    // B again without the field: the table keeps it.
    publish_css(&wh, B, "run2", &["2024-2025"])?;
    let fields = delta_fields(&root, "shared/resultat")?;
    assert!(
        fields.contains(&"mention".to_string()) && fields.contains(&"note".to_string()),
        "{fields:?}"
    );
    assert_delta_matches_manifests(&wh)?;
    Ok(())
}
