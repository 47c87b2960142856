//! A warehouse on an object store: the same publication, Delta logs and reads against a local
//! S3 server (moto, see `moto.rs`): a night and a query, CSS committing at once, a commit
//! interrupted midway, and the run lock's lease.

use datafusion::arrow::array::Int64Array;
use socle_warehouse::{Warehouse, WarehouseError, Zone, entity_schemas};

use crate::moto::Moto;
use crate::warehouse::{
    A, B, TestResult, assert_delta_matches_manifests, eleve, four_css_commit_at_once_and_none_is_lost, info,
    publish_css, resultat, write_css,
};

/// A fresh bucket on `moto` and the location of a warehouse in it, configured for the server.
fn s3_location(moto: &Moto, name: &str) -> Result<String, Box<dyn std::error::Error>> {
    // Unique per run: the local work folder is named after the bucket and prefix.
    let bucket = format!("{name}-{}-{}", std::process::id(), moto.port);
    moto.create_bucket(&bucket)?;
    let location = format!("s3://{bucket}/entrepot");
    let options = moto.options();
    let options: Vec<(&str, &str)> = options.iter().map(|(k, v)| (*k, v.as_str())).collect();
    socle_warehouse::store::configure(&location, &options);
    Ok(location)
}

fn bucket_of(location: &str) -> &str {
    location
        .trim_start_matches("s3://")
        .split('/')
        .next()
        .unwrap_or_default()
}

async fn count(wh: &Warehouse, zone: Zone, sql: &str) -> Result<i64, Box<dyn std::error::Error>> {
    let schemas = entity_schemas(&[resultat(), eleve()]);
    let ctx = wh.session(zone, &schemas).await?;
    let batches = ctx.sql(sql).await?.collect().await?;
    let column = batches
        .first()
        .ok_or("no batch")?
        .column(0)
        .as_any()
        .downcast_ref::<Int64Array>()
        .ok_or("not a count")?
        .clone();
    Ok(column.value(0))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_night_on_s3_is_published_and_read_like_on_a_disk() -> TestResult {
    let moto = Moto::start()?;
    let location = s3_location(&moto, "nuit")?;
    let wh = Warehouse::open(&location)?;
    {
        let _lock = wh.lock_run("test")?;
        publish_css(&wh, A, "run1", &["2023-2024", "2024-2025"])?;
        publish_css(&wh, B, "run1", &["2024-2025"])?;
    }
    // The published state is on the store: manifests, data files, Delta logs.
    let bucket = bucket_of(&location);
    let keys = moto.list(bucket, "entrepot/")?;
    for wanted in [
        "entrepot/_socle/manifests/866000.json",
        "entrepot/_socle/manifests/881000.json",
        "entrepot/shared/resultat/_delta_log/00000000000000000000.json",
        "entrepot/css/866000/eleve/run1.parquet",
        "entrepot/shared/resultat/annee_scolaire=2024-2025/code_css=881000/run1.parquet",
    ] {
        assert!(keys.iter().any(|k| k == wanted), "{wanted} missing from {keys:#?}");
    }
    // ... and nothing of it in the local work folder but the (empty) staging.
    let local_parquet = walk(wh.root())
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
        .count();
    assert_eq!(local_parquet, 0, "no data file stays in the work folder");
    assert_delta_matches_manifests(&wh)?;
    // A new handle (another process would do the same) reads it back.
    let reader = Warehouse::open_existing(&location)?;
    assert_eq!(reader.manifests()?.len(), 2);
    assert_eq!(count(&reader, Zone::Shared, "SELECT count(*) FROM resultat").await?, 3);
    assert_eq!(
        count(&reader, Zone::Css(A.into()), "SELECT count(*) FROM resultat").await?,
        2
    );
    // A second night of one CSS replaces its files, the other's stay.
    {
        let _lock = wh.lock_run("test")?;
        publish_css(&wh, A, "run2", &["2024-2025"])?;
    }
    assert_eq!(count(&reader, Zone::Shared, "SELECT count(*) FROM resultat").await?, 3);
    let keys: Vec<String> = moto
        .list(bucket, "entrepot/css/866000/eleve/")?
        .into_iter()
        .filter(|k| k.ends_with(".parquet"))
        .collect();
    assert_eq!(
        keys,
        vec!["entrepot/css/866000/eleve/run2.parquet"],
        "the replaced file is deleted"
    );
    assert_delta_matches_manifests(&wh)?;
    // The audit log is one object per event under the day's prefix.
    let log = socle_warehouse::AuditLog::open(wh.root())?;
    socle_warehouse::record_read(wh.root(), Some("analyste"), "query", &Zone::Shared, "test", 3)?;
    let days = log.days()?;
    assert_eq!(days.len(), 1);
    let events = log.read_day(&days[0])?;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].who, "analyste");
    assert!(moto.list(bucket, "entrepot/_socle/audit/")?.len() == 1);
    Ok(())
}

#[test]
fn css_committing_at_once_on_s3_keep_each_others_commits() -> TestResult {
    let moto = Moto::start()?;
    let location = s3_location(&moto, "ensemble")?;
    let wh = Warehouse::open(&location)?;
    // Each Delta commit a create-only PUT: the same outcome as on a disk.
    four_css_commit_at_once_and_none_is_lost(&wh)
}

#[test]
fn a_commit_interrupted_on_s3_leaves_the_previous_night_then_is_repaired() -> TestResult {
    let moto = Moto::start()?;
    let location = s3_location(&moto, "coupure")?;
    let mut wh = Warehouse::open(&location)?;
    publish_css(&wh, A, "run1", &["2024-2025"])?;
    publish_css(&wh, B, "run1", &["2024-2025"])?;
    // Stopped after the files are uploaded and the Delta logs committed, before the swap.
    wh.set_failpoint(Some(&format!("delta:{A}")));
    let mut tx = wh.begin_css(A, "run2")?;
    write_css(&mut tx, A, &["2024-2025"])?;
    match tx.commit(info("fp1")) {
        Err(WarehouseError::Failpoint(name)) => assert_eq!(name, format!("delta:{A}")),
        other => panic!("{other:?}"),
    }
    let reader = Warehouse::open_existing(&location)?;
    assert_eq!(reader.manifest(A)?.map(|m| m.run_id).as_deref(), Some("run1"));
    let bucket = bucket_of(&location);
    assert!(
        moto.list(bucket, "entrepot/css/866000/eleve/")?
            .iter()
            .any(|k| k.ends_with("run2.parquet")),
        "the interrupted run's files were uploaded"
    );
    // The next writer (under the run lock) brings the logs back and deletes the orphans.
    let wh = Warehouse::open(&location)?;
    drop(wh.lock_run("test")?);
    assert_delta_matches_manifests(&wh)?;
    let parquet: Vec<String> = moto
        .list(bucket, "entrepot/")?
        .into_iter()
        .filter(|k| k.ends_with(".parquet"))
        .collect();
    assert!(!parquet.is_empty());
    assert!(parquet.iter().all(|k| k.contains("run1")), "{parquet:#?}");
    publish_css(&wh, A, "run3", &["2024-2025"])?;
    assert_delta_matches_manifests(&wh)?;
    Ok(())
}

#[test]
fn the_run_lock_on_s3_is_a_lease_taken_once_and_taken_over_when_expired() -> TestResult {
    let moto = Moto::start()?;
    let location = s3_location(&moto, "bail")?;
    let wh = Warehouse::open(&location)?;
    let first = wh.lock_run("socle run --exports a")?;
    let Err(err) = wh.lock_run("socle run --exports b") else {
        panic!("a second run took the lease");
    };
    let message = err.to_string();
    assert!(matches!(err, WarehouseError::RunInProgress { .. }), "{message}");
    assert!(message.contains("command `socle run --exports a`"), "{message}");
    drop(first);
    let bucket = bucket_of(&location);
    assert!(moto.list(bucket, "entrepot/_socle/run.lock")?.is_empty(), "released");
    // A lease left by a killed run: expired, it is taken over; live, it blocks.
    let lease = |expires: &str| {
        serde_json::json!({
            "host": "ailleurs", "pid": 4242, "started_at": "2026-01-01T03:00:00Z",
            "command": "socle run", "expires_at": expires
        })
        .to_string()
    };
    moto.put_object(
        bucket,
        "entrepot/_socle/run.lock",
        lease("2026-01-01T03:02:00Z").as_bytes(),
    )?;
    let taken = wh.lock_run("socle run --exports c")?;
    drop(taken);
    moto.put_object(
        bucket,
        "entrepot/_socle/run.lock",
        lease("2999-01-01T00:00:00Z").as_bytes(),
    )?;
    let Err(err) = wh.lock_run("socle run --exports d") else {
        panic!("a live lease was taken");
    };
    assert!(err.to_string().contains("process 4242"), "{err}");
    Ok(())
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}
