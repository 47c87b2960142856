//! `socle` on a warehouse in an S3 bucket (a local moto server): the night of the fixtures, then
//! the same answers as the same night on a disk; the unsafe-rename escape hatch refused.

use std::path::Path;
use std::process::Command;

use crate::common::{load_command, root, socle_command, text};
use crate::moto::Moto;

/// The environment that points `socle` at `moto`, with its own work folder.
fn on_s3(mut c: Command, moto: &Moto, work: &Path) -> Command {
    c.env("AWS_ENDPOINT_URL", moto.endpoint())
        .env("AWS_ALLOW_HTTP", "true")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env("SOCLE_WORK_DIR", work)
        .env_remove("AWS_S3_ALLOW_UNSAFE_RENAME");
    c
}

/// `socle query --format csv` over the shared zone: every line of its output.
fn query(c: Command, warehouse: &str, sql: &str) -> String {
    let mut c = c;
    let o = c
        .args(["query", "--warehouse", warehouse, "--format", "csv", sql])
        .output()
        .unwrap();
    assert!(o.status.success(), "{sql}\n{}", text(&o));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

const QUERIES: [&str; 3] = [
    "SELECT count(*) AS n FROM eleve",
    "SELECT code_css, count(*) AS n FROM resultat GROUP BY code_css ORDER BY code_css",
    "SELECT code_css, annee_scolaire, sum(nb_reussites) AS r, sum(nb_evalues) AS n FROM reussite WHERE ventilation = 'ensemble' GROUP BY 1, 2 ORDER BY 1, 2",
];

#[test]
fn a_night_in_a_bucket_answers_like_the_same_night_on_a_disk() {
    let moto = Moto::start().unwrap();
    let bucket = format!("socle-{}", std::process::id());
    moto.create_bucket(&bucket).unwrap();
    let s3 = format!("s3://{bucket}/entrepot");
    let work = tempfile::tempdir().unwrap();
    let local = tempfile::tempdir().unwrap();
    let exports = root().join("fixtures/exports");

    let o = on_s3(load_command(&exports, Path::new(&s3), &[]), &moto, work.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let o = load_command(&exports, local.path(), &[]).output().unwrap();
    assert!(o.status.success(), "{}", text(&o));

    for sql in QUERIES {
        let remote = query(on_s3(socle_command(), &moto, work.path()), &s3, sql);
        let disk = query(socle_command(), local.path().to_str().unwrap(), sql);
        assert!(remote.lines().count() > 1, "{sql}: no row\n{remote}");
        assert_eq!(remote, disk, "{sql}");
    }
    // Everything published is in the bucket, Delta logs included; the query was audited there.
    let keys = moto.list(&bucket, "entrepot/shared/eleve/_delta_log/").unwrap();
    assert!(!keys.is_empty(), "no Delta log in the bucket");
    assert!(
        !moto.list(&bucket, "entrepot/_socle/audit/").unwrap().is_empty(),
        "no audit object"
    );
    // An external reader of the bucket (Python `deltalake`) reads a table through its log alone,
    // with the rows Socle reads.
    let script = format!(
        "from deltalake import DeltaTable, QueryBuilder\n\
         import polars as pl\n\
         opts = {{'AWS_ENDPOINT_URL': '{endpoint}', 'AWS_ALLOW_HTTP': 'true', 'AWS_ACCESS_KEY_ID': 'test',\n\
                 'AWS_SECRET_ACCESS_KEY': 'test', 'AWS_REGION': 'us-east-1'}}\n\
         t = DeltaTable('{s3}/shared/eleve', storage_options=opts)\n\
         r = QueryBuilder().register('t', t).execute('SELECT count(*) AS n FROM t').read_all()\n\
         print(int(pl.DataFrame(r)['n'][0]))\n",
        endpoint = moto.endpoint()
    );
    let o = Command::new("python3").args(["-c", &script]).output().expect("python3");
    assert!(o.status.success(), "python deltalake on S3: {}", text(&o));
    let external = String::from_utf8_lossy(&o.stdout).trim().to_string();
    let socle_count = query(
        on_s3(socle_command(), &moto, work.path()),
        &s3,
        "SELECT count(*) AS n FROM eleve",
    );
    assert_eq!(
        socle_count.lines().nth(1).map(str::trim),
        Some(external.as_str()),
        "rows of shared/eleve read by Python deltalake from the bucket"
    );

    let o = on_s3(socle_command(), &moto, work.path())
        .args(["status", "--warehouse", &s3])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));

    // The old delta-rs escape hatch (commits by rename, lost under concurrent writers) is refused.
    let o = on_s3(socle_command(), &moto, work.path())
        .env("AWS_S3_ALLOW_UNSAFE_RENAME", "true")
        .args(["status", "--warehouse", &s3])
        .output()
        .unwrap();
    assert!(!o.status.success(), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("AWS_S3_ALLOW_UNSAFE_RENAME"),
        "{}",
        text(&o)
    );
}
