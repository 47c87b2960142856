//! Marts as dashboards read them: grouped by CSS with a row group each, so a read filtered to
//! one CSS returns exactly that CSS's rows and skips the others'; the marts-only session.

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, Int64Array, RecordBatch, StringArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::parquet::file::reader::{FileReader, SerializedFileReader};
use datafusion::physical_plan::metrics::MetricValue;
use datafusion::physical_plan::{ExecutionPlan, collect};
use datafusion::prelude::SessionContext;
use socle_warehouse::{MartOutput, Warehouse, Zone};

type TestResult = Result<(), Box<dyn std::error::Error>>;

const CSS: [&str; 3] = ["881000", "751000", "866000"];
const YEARS: [&str; 2] = ["2023-2024", "2024-2025"];

/// A mart in the order its SQL gives (year first, then CSS), several batches, each CSS with a
/// different row count: row `n` has `rang = n`.
fn mart() -> Result<(SchemaRef, Vec<RecordBatch>), Box<dyn std::error::Error>> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("annee_scolaire", DataType::Utf8, false),
        Field::new("code_css", DataType::Utf8, false),
        Field::new("rang", DataType::Int64, false),
    ]));
    let mut batches = Vec::new();
    let mut n = 0i64;
    for year in YEARS {
        let (mut years, mut codes, mut ranks) = (Vec::new(), Vec::new(), Vec::new());
        for (i, code) in CSS.iter().enumerate() {
            for _ in 0..(i + 1) * 100 {
                years.push(year);
                codes.push(*code);
                ranks.push(n);
                n += 1;
            }
        }
        batches.push(RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(StringArray::from(years)) as ArrayRef,
                Arc::new(StringArray::from(codes)),
                Arc::new(Int64Array::from(ranks)),
            ],
        )?);
    }
    Ok((schema, batches))
}

/// The `rang` of each row of `batches`, in order, with its CSS.
fn ranks(batches: &[RecordBatch]) -> Result<Vec<(String, i64)>, Box<dyn std::error::Error>> {
    let mut out = Vec::new();
    for b in batches {
        // Read back as Utf8View: cast to compare.
        let codes = cast(b.column_by_name("code_css").ok_or("code_css")?, &DataType::Utf8)?;
        let codes = codes.as_any().downcast_ref::<StringArray>().ok_or("code_css")?;
        let ranks = b
            .column_by_name("rang")
            .and_then(|c| c.as_any().downcast_ref::<Int64Array>())
            .ok_or("rang")?;
        for i in 0..b.num_rows() {
            out.push((codes.value(i).to_string(), ranks.value(i)));
        }
    }
    Ok(out)
}

/// The items pruned by pruning metric `name`, summed over a physical plan.
fn pruned(plan: &Arc<dyn ExecutionPlan>, name: &str) -> usize {
    let own: usize = plan
        .metrics()
        .map(|m| {
            m.iter()
                .filter_map(|metric| match metric.value() {
                    MetricValue::PruningMetrics {
                        name: n,
                        pruning_metrics,
                    } if n == name => Some(pruning_metrics.pruned()),
                    _ => None,
                })
                .sum()
        })
        .unwrap_or(0);
    own + plan.children().iter().map(|c| pruned(c, name)).sum::<usize>()
}

/// Runs `sql`; returns the rows and the row groups the scan skipped on statistics.
async fn run(ctx: &SessionContext, sql: &str) -> Result<(Vec<(String, i64)>, usize), Box<dyn std::error::Error>> {
    let plan = ctx.sql(sql).await?.create_physical_plan().await?;
    let batches = collect(plan.clone(), ctx.task_ctx()).await?;
    Ok((ranks(&batches)?, pruned(&plan, "row_groups_pruned_statistics")))
}

/// A mart published in both zones: the same rows (suppression is the marts crate's business).
fn both(name: &str, schema: SchemaRef, batches: Vec<RecordBatch>) -> MartOutput {
    MartOutput {
        name: name.to_string(),
        schema,
        shared: Some(batches.clone()),
        css: batches,
    }
}

fn css_codes() -> Vec<String> {
    CSS.iter().map(|c| c.to_string()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_mart_read_for_one_css_returns_its_rows_and_skips_the_others() -> TestResult {
    let dir = tempfile::tempdir()?;
    let wh = Warehouse::open(dir.path())?;
    let (schema, batches) = mart()?;
    let all = ranks(&batches)?;
    let manifest = wh.publish_marts("run1", vec![both("reussite", schema, batches)], &css_codes())?;
    assert_eq!(manifest.marts["reussite"].rows, 1200);

    // The file: grouped by CSS in code order, one row group per CSS with its code as bounds.
    let file = dir.path().join("marts/reussite/run1.parquet");
    let reader = SerializedFileReader::new(std::fs::File::open(&file)?)?;
    let groups: Vec<(Vec<u8>, Vec<u8>, i64)> = reader
        .metadata()
        .row_groups()
        .iter()
        .map(|rg| {
            let s = rg.column(1).statistics();
            (
                s.and_then(|s| s.min_bytes_opt()).unwrap_or_default().to_vec(),
                s.and_then(|s| s.max_bytes_opt()).unwrap_or_default().to_vec(),
                rg.num_rows(),
            )
        })
        .collect();
    assert_eq!(
        groups,
        vec![
            (b"751000".to_vec(), b"751000".to_vec(), 400),
            (b"866000".to_vec(), b"866000".to_vec(), 600),
            (b"881000".to_vec(), b"881000".to_vec(), 200),
        ]
    );

    // The whole mart: every row once, the mart's own order kept within each CSS.
    let shared = wh.marts_session(Zone::Shared).await?;
    let (rows, _) = run(&shared, "SELECT * FROM reussite").await?;
    let mut by_css: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for (code, rank) in &all {
        by_css.entry(code.clone()).or_default().push(*rank);
    }
    let expected_file_order: Vec<(String, i64)> = by_css
        .iter()
        .flat_map(|(c, rs)| rs.iter().map(move |r| (c.clone(), *r)))
        .collect();
    assert_eq!(rows, expected_file_order);

    for code in CSS {
        let expected: Vec<(String, i64)> = all.iter().filter(|(c, _)| c == code).cloned().collect();
        // A dashboard over the shared zone's marts: only that CSS's row group is read.
        let (rows, pruned) = run(&shared, &format!("SELECT * FROM reussite WHERE code_css = '{code}'")).await?;
        assert_eq!(rows, expected, "{code}");
        assert_eq!(pruned, 2, "{code}: the two other CSS's row groups are skipped");
        // The CSS zone's mart: its own file, with its rows only (marts-only session and full
        // session alike).
        let own = SerializedFileReader::new(std::fs::File::open(
            dir.path().join(format!("css/{code}/marts/reussite/run1.parquet")),
        )?)?;
        assert_eq!(own.metadata().file_metadata().num_rows() as usize, expected.len());
        let css = wh.marts_session(Zone::Css(code.to_string())).await?;
        let (rows, _) = run(&css, "SELECT * FROM reussite").await?;
        assert_eq!(rows, expected, "{code}");
        let full = wh.session(Zone::Css(code.to_string()), &BTreeMap::new()).await?;
        assert_eq!(run(&full, "SELECT * FROM reussite").await?.0, expected, "{code}");
    }
    let (rows, _) = run(&shared, "SELECT * FROM reussite WHERE code_css = '999999'").await?;
    assert!(rows.is_empty());
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn marts_session_holds_only_the_marts() -> TestResult {
    let dir = tempfile::tempdir()?;
    let wh = Warehouse::open(dir.path())?;
    // Before any mart: an empty session, not an error.
    let ctx = wh.marts_session(Zone::Shared).await?;
    assert!(ctx.table_exist("reussite").is_ok_and(|e| !e));

    let (schema, batches) = mart()?;
    let provincial = Arc::new(Schema::new(vec![Field::new("taux", DataType::Int64, false)]));
    let p = RecordBatch::try_new(
        provincial.clone(),
        vec![Arc::new(Int64Array::from(vec![78])) as ArrayRef],
    )?;
    wh.publish_marts(
        "run1",
        vec![
            both("reussite", schema, batches),
            MartOutput {
                name: "province".to_string(),
                schema: provincial,
                shared: Some(vec![p]),
                css: vec![],
            },
        ],
        &css_codes(),
    )?;
    let shared = wh.marts_session(Zone::Shared).await?;
    assert!(shared.table_exist("reussite")? && shared.table_exist("province")?);
    assert!(!shared.table_exist("resultat")?);
    // A mart without code_css is written as it came and stays out of a CSS zone.
    let rows = shared.sql("SELECT taux FROM province").await?.collect().await?;
    assert_eq!(rows.iter().map(|b| b.num_rows()).sum::<usize>(), 1);
    let css = wh.marts_session(Zone::Css("866000".to_string())).await?;
    assert!(css.table_exist("reussite")? && !css.table_exist("province")?);
    assert!(wh.marts_session(Zone::Css("../x".to_string())).await.is_err());
    let batches = css.sql("SELECT count(*) AS n FROM reussite").await?.collect().await?;
    let n = batches[0]
        .column(0)
        .as_any()
        .downcast_ref::<Int64Array>()
        .ok_or("count")?
        .value(0);
    assert_eq!(n, 600);
    assert_eq!(batches[0].column(0).null_count(), 0);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_nominative_mart_stays_in_the_css_zones() -> TestResult {
    let dir = tempfile::tempdir()?;
    let wh = Warehouse::open(dir.path())?;
    let (schema, batches) = mart()?;
    let nominative = MartOutput {
        name: "liste".to_string(),
        schema: schema.clone(),
        shared: None,
        css: batches.clone(),
    };
    // Rows of a CSS without a zone are refused, and nothing is published.
    let only_two: Vec<String> = css_codes().into_iter().take(2).collect();
    assert!(matches!(
        wh.publish_marts("run1", vec![nominative.clone()], &only_two),
        Err(socle_warehouse::WarehouseError::MartCss { .. })
    ));
    assert!(wh.marts_manifest()?.is_none());

    let manifest = wh.publish_marts("run2", vec![nominative], &css_codes())?;
    assert!(manifest.marts["liste"].shared_files.is_empty());
    assert_eq!(manifest.marts["liste"].css_files.len(), 3);
    assert!(!dir.path().join("marts/liste").exists());
    let shared = wh.marts_session(Zone::Shared).await?;
    assert!(!shared.table_exist("liste")?);
    let css = wh.marts_session(Zone::Css("751000".to_string())).await?;
    let (rows, _) = run(&css, "SELECT * FROM liste").await?;
    assert_eq!(rows.len(), 400);
    assert!(rows.iter().all(|(c, _)| c == "751000"));
    Ok(())
}
