//! Helpers shared by the CLI's integration tests.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub mod server;
pub mod warehouse_state;

/// The repository root (the CLI's default paths are relative to it).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// The `socle` binary, run from the repository root with no key and no failpoint taken from
/// the environment.
pub fn socle_command() -> Command {
    let mut c = Command::new(socle_binary());
    c.current_dir(root())
        .env_remove("SOCLE_PSEUDO_KEY")
        .env_remove("SOCLE_PSEUDO_KEY_FILE")
        .env_remove("SOCLE_FAILPOINT")
        .env_remove("SOCLE_FAILPOINT_MODE");
    c
}

/// `socle ARGS`, see [`socle_command`].
pub fn socle(args: &[&str]) -> Output {
    socle_command().args(args).output().unwrap()
}

/// The `socle` binary: this package's (socle-cli's tests), or the one beside `socle-bench`
/// (socle-bench's tests, which drive both): `cargo test --workspace` builds both before any
/// test runs.
pub fn socle_binary() -> PathBuf {
    match option_env!("CARGO_BIN_EXE_socle") {
        Some(p) => PathBuf::from(p),
        None => sibling("socle"),
    }
}

/// The `socle-bench` binary (the benchmark helper, `benches/socle-bench`), as [`socle_binary`].
pub fn socle_bench_binary() -> PathBuf {
    match option_env!("CARGO_BIN_EXE_socle-bench") {
        Some(p) => PathBuf::from(p),
        None => sibling("socle-bench"),
    }
}

/// A binary of the workspace beside this package's own.
fn sibling(name: &str) -> PathBuf {
    let own = option_env!("CARGO_BIN_EXE_socle")
        .or(option_env!("CARGO_BIN_EXE_socle-bench"))
        .expect("a package with a binary");
    let bin = Path::new(own).with_file_name(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.exists(),
        "{} is missing: build it (`cargo build --workspace`, or run `cargo test --workspace`)",
        bin.display()
    );
    bin
}

/// `socle-bench ARGS` from the repository root.
pub fn socle_bench(args: &[&str]) -> Output {
    Command::new(socle_bench_binary())
        .current_dir(root())
        .args(args)
        .output()
        .unwrap()
}

/// `socle run` of an exports root into a warehouse with the demo key, as a command to adjust.
pub fn load_command(exports: &Path, warehouse: &Path, extra: &[&str]) -> Command {
    let mut c = socle_command();
    c.args([
        "run",
        "--exports",
        exports.to_str().unwrap(),
        "--warehouse",
        warehouse.to_str().unwrap(),
        "--demo-key",
    ])
    .args(extra);
    // The tests check that a run leaves only the files its manifests list: replaced files are
    // deleted at once unless the test sets the grace itself (serve_publish.rs tests it).
    if !extra.contains(&"--keep-replaced-minutes") {
        c.args(["--keep-replaced-minutes", "0"]);
    }
    if !extra.contains(&"--retain-days") {
        c.args(["--retain-days", "0"]);
    }
    c
}

/// `socle run` of an exports root into a warehouse with the demo key.
pub fn load(exports: &Path, warehouse: &Path, extra: &[&str]) -> Output {
    load_command(exports, warehouse, extra).output().unwrap()
}

/// Exit status and both outputs, for assertion messages.
pub fn text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

/// `socle query ... --format csv SQL` over `warehouse` (the shared zone, or CSS `css`'s zone):
/// every row as column -> value. The query must succeed.
pub fn query_csv(warehouse: &Path, css: Option<&str>, sql: &str) -> Vec<BTreeMap<String, String>> {
    let mut args = vec!["query", "--warehouse", warehouse.to_str().unwrap(), "--format", "csv"];
    if let Some(c) = css {
        args.extend(["--css", c]);
    }
    args.push(sql);
    let o = socle(&args);
    assert!(o.status.success(), "{sql}\n{}", text(&o));
    read_csv(&o.stdout)
}

/// CSV bytes (header first) as rows of column -> value.
pub fn read_csv(bytes: &[u8]) -> Vec<BTreeMap<String, String>> {
    let mut r = csv::Reader::from_reader(bytes);
    let headers = r.headers().unwrap().clone();
    r.records()
        .map(|rec| {
            headers
                .iter()
                .zip(rec.unwrap().iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

/// A CSV file as rows of column -> value.
pub fn read_csv_file(path: &Path) -> Vec<BTreeMap<String, String>> {
    read_csv(&std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
}
