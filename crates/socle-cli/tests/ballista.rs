//! The marts and a query on a Ballista cluster of Socle's own roles, on loopback: `socle
//! scheduler` and two `socle executor`s (child processes, stopped when the test ends); the
//! fixtures' night with `--engine ballista://...` gives exactly the warehouse of the same night
//! built in one process (every mart and model, row for row), and `socle query --engine` the same
//! answer. With the warehouse in an S3 bucket (moto), the same, and the executors read every
//! model from the bucket, never from the batch machine's staging folder.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::warehouse_state::{MARTS, state};
use crate::common::{load_command, root, socle_binary, socle_command, text};
use crate::moto::Moto;

/// Child processes killed when dropped.
struct Cluster {
    children: Vec<Child>,
    port: u16,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// `command`'s output, or a panic if it has not ended within `limit`: a job the cluster never
/// finishes must fail the test, not hang CI.
fn output_within(mut command: Command, limit: Duration) -> std::process::Output {
    let mut child = command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    // Drained on their own threads: a full pipe would stop the child.
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = out.read_to_end(&mut b);
        b
    });
    let err = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = err.read_to_end(&mut b);
        b
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            let stderr = err.join().unwrap();
            panic!(
                "not finished within {limit:?} on the cluster:\n{}",
                String::from_utf8_lossy(&stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    std::process::Output {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// `GET /readyz` of the scheduler: 200 once its executors are registered.
fn ready(port: u16) -> bool {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let request = format!("GET /readyz HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    if s.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut response = String::new();
    let _ = s.read_to_string(&mut response);
    response.starts_with("HTTP/1.1 200")
}

/// A scheduler and `executors` executors, each command given `configure` (the store's
/// environment and `--warehouse`, for a warehouse on an object store).
fn start_cluster(work: &Path, executors: usize, configure: impl Fn(&mut Command)) -> Cluster {
    let port = free_port();
    let mut cluster = Cluster {
        children: Vec::new(),
        port,
    };
    let log = |name: &str| std::fs::File::create(work.join(format!("{name}.log"))).unwrap();
    let mut scheduler = Command::new(socle_binary());
    scheduler.args([
        "scheduler",
        "--port",
        &port.to_string(),
        "--min-executors",
        &executors.to_string(),
    ]);
    configure(&mut scheduler);
    let scheduler = scheduler
        .stdout(Stdio::null())
        .stderr(log("scheduler"))
        .spawn()
        .unwrap();
    cluster.children.push(scheduler);
    for i in 0..executors {
        let mut executor = Command::new(socle_binary());
        executor
            .args(["executor", "--scheduler", &format!("127.0.0.1:{port}")])
            .args([
                "--flight-port",
                &free_port().to_string(),
                "--grpc-port",
                &free_port().to_string(),
            ])
            .args(["--vcores", "2", "--memory-max-mib", "1024", "--work-dir"])
            .arg(work.join(format!("executor-{i}")));
        configure(&mut executor);
        let executor = executor
            .stdout(Stdio::null())
            .stderr(log(&format!("executor-{i}")))
            .spawn()
            .unwrap();
        cluster.children.push(executor);
    }
    let started = Instant::now();
    while !ready(port) {
        for c in &mut cluster.children {
            if let Ok(Some(status)) = c.try_wait() {
                let logs: String = ["scheduler", "executor-0", "executor-1"]
                    .iter()
                    .map(|n| std::fs::read_to_string(work.join(format!("{n}.log"))).unwrap_or_default())
                    .collect::<Vec<_>>()
                    .join("\n---\n");
                panic!("a cluster process exited ({status}):\n{logs}");
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the cluster was not ready within 60 s"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    cluster
}

/// The environment that points a command at `moto`.
fn on_s3<'c>(c: &'c mut Command, moto: &Moto) -> &'c mut Command {
    c.env("AWS_ENDPOINT_URL", moto.endpoint())
        .env("AWS_ALLOW_HTTP", "true")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
}

/// One cluster, given the bucket of a local S3 server (moto), builds the fixtures' night twice:
/// on a disk it shares with the batch process (a shared mount), and in the bucket. Both equal
/// the same night built in one process.
///
/// In the bucket, a cluster of several machines shares the bucket, not the batch machine's
/// disk: each model's files go to the bucket as soon as they are written and the executors read
/// them there. Checked on the plans the scheduler logs (they read the intermediate models from
/// the bucket and never name the batch machine's work folder, where its staging is) and on the
/// result (the bucket's warehouse, downloaded).
#[test]
fn the_marts_built_on_ballista_are_the_marts_built_in_one_process() {
    let moto = Moto::start().unwrap();
    let bucket = "socle-cluster";
    moto.create_bucket(bucket).unwrap();
    let s3 = format!("s3://{bucket}/entrepot");
    let work = tempfile::tempdir().unwrap();
    let cluster = start_cluster(work.path(), 2, |c| {
        on_s3(c, &moto).args(["--warehouse", &s3]);
    });
    let engine = format!("ballista://127.0.0.1:{}", cluster.port);
    let exports = root().join("fixtures/exports");
    let local = tempfile::tempdir().unwrap();
    let distributed = tempfile::tempdir().unwrap();

    let o = load_command(&exports, local.path(), &[]).output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let o = output_within(
        load_command(&exports, distributed.path(), &["--engine", &engine]),
        Duration::from_secs(300),
    );
    assert!(o.status.success(), "{}", text(&o));

    // Every partition of every mart and model (and of the CSS's own tables, which the
    // normalisation built here in both), row for row.
    let (one, problems) = state(local.path(), true);
    assert!(problems.is_empty(), "{problems:#?}");
    let (many, problems) = state(distributed.path(), true);
    assert!(problems.is_empty(), "{problems:#?}");
    let marts = one.get(MARTS).expect("marts built");
    assert!(marts.len() > 14, "{} mart and model partitions", marts.len());
    for (part, expected) in marts {
        assert_eq!(many[MARTS].get(part), Some(expected), "{part}");
    }
    assert_eq!(one, many);

    // A query on the cluster answers as the same query here.
    let sql = "SELECT code_css, annee_scolaire, sum(nb_reussites) AS r, sum(nb_evalues) AS n \
               FROM reussite WHERE ventilation = 'ensemble' GROUP BY 1, 2 ORDER BY 1, 2";
    let run = |extra: &[&str]| {
        let mut c = socle_command();
        c.args(["query", "--warehouse"])
            .arg(distributed.path())
            .args(["--format", "csv"])
            .args(extra)
            .arg(sql);
        let o = output_within(c, Duration::from_secs(120));
        assert!(o.status.success(), "{}", text(&o));
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let here = run(&[]);
    assert!(here.lines().count() > 1, "{here}");
    assert_eq!(run(&["--engine", &engine]), here);

    // A wrong engine URL is a clear error, not a hang.
    let o = socle_command()
        .args(["query", "--warehouse"])
        .arg(distributed.path())
        .args(["--engine", "spark://x", "SELECT 1"])
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("ballista://"),
        "{}",
        text(&o)
    );

    // The same night in the bucket.
    let batch_work = work.path().join("batch");
    std::fs::create_dir_all(&batch_work).unwrap();
    let batch_work = std::fs::canonicalize(&batch_work).unwrap();
    let mut night = load_command(&exports, Path::new(&s3), &["--engine", &engine]);
    on_s3(&mut night, &moto).env("SOCLE_WORK_DIR", &batch_work);
    let o = output_within(night, Duration::from_secs(300));
    assert!(o.status.success(), "{}", text(&o));
    // The plans the cluster ran: intermediate models read from the bucket, nothing from the
    // batch machine's folder (object paths are shown without their leading slash).
    let plans = std::fs::read_to_string(work.path().join("scheduler.log")).unwrap();
    assert!(
        plans.contains("entrepot/_socle/intermediate/"),
        "no plan reads an intermediate model from the bucket ({} lines of scheduler log)",
        plans.lines().count()
    );
    let batch = batch_work.to_string_lossy();
    assert!(
        !plans.contains(batch.trim_start_matches('/')),
        "a plan reads the batch machine's work folder {batch}"
    );
    let copy = work.path().join("copy");
    let script = format!(
        r#"
import boto3, os
s3 = boto3.client('s3', endpoint_url='{endpoint}', aws_access_key_id='test',
                  aws_secret_access_key='test', region_name='us-east-1')
for page in s3.get_paginator('list_objects_v2').paginate(Bucket='{bucket}', Prefix='entrepot/'):
    for o in page.get('Contents', []):
        dest = os.path.join('{copy}', o['Key'][len('entrepot/'):])
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        s3.download_file('{bucket}', o['Key'], dest)
"#,
        endpoint = moto.endpoint(),
        copy = copy.display(),
    );
    let o = Command::new("python3").args(["-c", &script]).output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let (in_bucket, problems) = state(&copy, true);
    assert!(problems.is_empty(), "{problems:#?}");
    assert_eq!(in_bucket, one);
    drop(cluster);
}

/// Socle's in-memory tables (reference tables, seeds, `nuits`) travel inside the plans: the codec
/// gives back the same rows, nulls included.
#[test]
fn an_in_memory_table_goes_through_the_codec_whole() -> datafusion::error::Result<()> {
    use datafusion::arrow::array::{Int64Array, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use datafusion::arrow::record_batch::RecordBatch;
    use datafusion::catalog::{MemTable, TableProvider};
    use datafusion::common::{DataFusionError, TableReference};
    use datafusion::prelude::SessionContext;
    use datafusion_proto::logical_plan::LogicalExtensionCodec;
    use socle_cluster::SocleLogicalCodec;
    use std::sync::Arc;

    let schema = Arc::new(Schema::new(vec![
        Field::new("code_css", DataType::Utf8, false),
        Field::new("n", DataType::Int64, true),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(StringArray::from(vec!["866000", "881000"])),
            Arc::new(Int64Array::from(vec![Some(3), None])),
        ],
    )?;
    let table: Arc<dyn TableProvider> = Arc::new(MemTable::try_new(schema.clone(), vec![vec![batch.clone()]])?);
    let codec = SocleLogicalCodec::default();
    let mut buf = Vec::new();
    codec.try_encode_table_provider(&TableReference::bare("t"), table, &mut buf)?;
    let ctx = SessionContext::new();
    let decoded = codec.try_decode_table_provider(&buf, &TableReference::bare("t"), schema, &ctx.task_ctx())?;
    let mem = decoded
        .downcast_ref::<MemTable>()
        .ok_or_else(|| DataFusionError::Internal("not a MemTable".into()))?;
    let got = mem.batches[0]
        .try_read()
        .map_err(|e| DataFusionError::External(Box::new(e)))?;
    assert_eq!(got.as_slice(), &[batch]);
    Ok(())
}
