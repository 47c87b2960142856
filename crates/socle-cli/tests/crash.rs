//! The crash campaign: nights loaded one after the other into a small generated warehouse (3 CSS,
//! one on Mozaïk, about 200 students; two different exports of the same night, alternated, so
//! every run changes every CSS and the marts), each run killed either at a random moment (SIGKILL
//! after a random delay within a run's measured duration) or at an exact step of a commit (an
//! aborting failpoint, `SOCLE_FAILPOINT_MODE=abort`: `staged`, `renamed`, `delta` (the Delta
//! commits made, the manifest not swapped) or `swapped` of a CSS or
//! of the marts, or `gc` in the middle of the next open's cleanup; the first kills go through each
//! of these once, so every campaign covers them all). After each kill it checks:
//!
//! - **no torn state**: every CSS is exactly its previous or its new state, as its manifest says
//!   (a manifest still of the previous run: the previous night's rows; of a new run: the new
//!   night's), the files the manifest lists are present and hold the rows it records, per table,
//!   school year and zone; the marts likewise;
//! - **no orphan left**: after the next `Warehouse::open`, the files of the data zones are exactly
//!   the files the manifests list, every Delta table's active files are exactly the files the
//!   manifests list in that table, and no staging is left;
//! - **marts follow the CSS**: the next run (the same night, not forced, as an operator would
//!   rerun it) exits 0, completes the night, and the marts it leaves were built from the current
//!   run of every CSS (the run ids the marts manifest records are those of the CSS manifests).
//!
//! `SOCLE_CRASH_KILLS` (default 20) and `SOCLE_CRASH_SEED` (default: from the clock) set the
//! campaign; the report (seed, kills, torn states, orphan files, time) is printed (see it with
//! `--nocapture`). `benches/crash.sh [KILLS] [SEED]` runs it in release.

use crate::common::warehouse_state::{self as ws, MARTS, State};
use crate::common::{load, load_command, socle_command, text};

/// `socle run` deleting the files it replaces at once (see `--keep-replaced-minutes`).
const NO_GRACE: &[&str] = &["--keep-replaced-minutes", "0", "--retain-days", "0"];

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

const CSS: [&str; 3] = ["751000", "866000", "881000"];
const STEPS: [&str; 4] = ["staged", "renamed", "delta", "swapped"];
const SIGKILL: i32 = 9;
const SIGABRT: i32 = 6;

/// How a run is stopped.
#[derive(Debug, Clone)]
enum Kill {
    /// SIGKILL after this delay.
    Timed(Duration),
    /// An aborting failpoint (`<step>:<code>`).
    Step(String),
    /// An aborting failpoint `renamed:<code>` (which leaves orphan files), then the next open
    /// aborted in the middle of collecting them.
    Gc(String),
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok())
}

fn generate(out: &Path, seed: &str, bad_rate: &str) {
    let o = crate::common::socle(&[
        "generate",
        "--out",
        out.to_str().unwrap(),
        "--css",
        &CSS.join(","),
        "--students",
        "200",
        "--years",
        "2",
        "--seed",
        seed,
        // The same night in both exports: only their content differs, so alternating them is
        // never an older night.
        "--night",
        "2025-11-20",
        "--bad-rate",
        bad_rate,
        "--mozaik",
        "881000",
    ]);
    assert!(o.status.success(), "{}", text(&o));
}

/// The kill of the `i`th run: the first ones go through every step once (each commit step of a
/// CSS, then of the marts, the cleanup, a timed kill), so that every campaign covers them all;
/// then at random, a timed kill three times in eight.
fn draw(rng: &mut ChaCha8Rng, i: usize, run_time: Duration) -> Kill {
    let css = CSS[rng.random_range(0..CSS.len())];
    let timed = Kill::Timed(run_time.mul_f64(rng.random_range(0.0..1.0)));
    match i {
        0..4 => Kill::Step(format!("{}:{css}", STEPS[i])),
        4..8 => Kill::Step(format!("{}:{MARTS}", STEPS[i - 4])),
        8 => Kill::Gc(css.to_string()),
        9 => timed,
        _ => match rng.random_range(0..8) {
            0..3 => timed,
            3..7 => {
                let step = STEPS[rng.random_range(0..STEPS.len())];
                let code = if rng.random_range(0..4) == 0 { MARTS } else { css };
                Kill::Step(format!("{step}:{code}"))
            }
            _ => Kill::Gc(css.to_string()),
        },
    }
}

/// Runs `command` to its end with an aborting failpoint.
fn abort_at(mut command: Command, failpoint: &str) -> ExitStatus {
    command
        .env("SOCLE_FAILPOINT", failpoint)
        .env("SOCLE_FAILPOINT_MODE", "abort")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap()
}

/// Which state each owner (CSS, marts) is in against the two nights' references, and every
/// way the warehouse is torn: an owner whose rows are not those its manifest's run stands for
/// (the previous state's when its run id is the previous one, else the new night's), a listed
/// file missing, rows differing from the manifest's record.
fn check(
    warehouse: &Path,
    refs: &[State; 2],
    runs_before: &BTreeMap<String, String>,
    before: usize,
    target: usize,
) -> (Vec<String>, Vec<String>) {
    let (state, mut torn) = ws::state(warehouse, false);
    let runs_now = run_ids(warehouse);
    let mut seen = Vec::new();
    for (owner, parts) in &state {
        let (which, expected) = if runs_now.get(owner) == runs_before.get(owner) {
            ("previous", &refs[before])
        } else {
            ("new", &refs[target])
        };
        seen.push(format!("{owner} {which}"));
        match expected.get(owner) {
            Some(e) if e == parts => {}
            Some(e) => torn.push(format!(
                "{owner}: its manifest is the {which} one ({}) but it holds {} rows, not {} in {} partitions (a difference in {:?})",
                runs_now.get(owner).map(String::as_str).unwrap_or("-"),
                ws::rows(parts),
                ws::rows(e),
                e.len(),
                parts
                    .iter()
                    .filter(|(k, p)| e.get(*k) != Some(*p))
                    .map(|(k, _)| k)
                    .chain(e.keys().filter(|k| !parts.contains_key(*k)))
                    .take(3)
                    .collect::<Vec<_>>()
            )),
            None => torn.push(format!("{owner}: not in the reference states")),
        }
    }
    for owner in refs[before].keys() {
        if !state.contains_key(owner) {
            torn.push(format!("{owner}: its manifest is gone"));
        }
    }
    (seen, torn)
}

/// The run id of every manifest: CSS by code, the marts by [`MARTS`].
fn run_ids(warehouse: &Path) -> BTreeMap<String, String> {
    let (css, marts) = ws::manifests(warehouse);
    let mut runs: BTreeMap<String, String> = css.into_iter().map(|(c, m)| (c, m.run_id)).collect();
    if let Some(m) = marts {
        runs.insert(MARTS.to_string(), m.run_id);
    }
    runs
}

#[test]
fn crash_campaign_leaves_every_css_whole() {
    let started = Instant::now();
    // 12 by default (CI): the first ten draws cover every failpoint, the cleanup and a timed kill
    // (`draw`); `benches/crash.sh` runs hundreds.
    let kills = env_u64("SOCLE_CRASH_KILLS").unwrap_or(12) as usize;
    let seed = env_u64("SOCLE_CRASH_SEED").unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0)
            ^ u64::from(std::process::id())
    });
    println!("crash campaign: {kills} kills, seed {seed} (SOCLE_CRASH_SEED={seed} replays it)");
    let mut rng = ChaCha8Rng::seed_from_u64(seed);

    let dir = tempfile::tempdir().unwrap();
    let exports: [PathBuf; 2] = [dir.path().join("exports-a"), dir.path().join("exports-b")];
    // The same facts with more bad rows in the second night: every table's rows change a little
    // (a run that completed is told from one that did not), never by half, so the drop guard
    // holds nothing and every uninterrupted run exits 0.
    generate(&exports[0], "101", "0.01");
    generate(&exports[1], "101", "0.03");
    let wh = dir.path().join("warehouse");

    // The two nights' states, from clean runs; the second run's time bounds the timed kills.
    let mut refs: [State; 2] = [State::new(), State::new()];
    let mut run_time = Duration::ZERO;
    for night in 0..2 {
        let t = Instant::now();
        // Replaced files deleted at once (no grace for readers): after each kill and the next
        // open, every file present is a listed one (the grace is tested in serve_publish.rs).
        let o = load(&exports[night], &wh, NO_GRACE);
        run_time = t.elapsed();
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        let (state, problems) = ws::state(&wh, false);
        assert!(problems.is_empty(), "{problems:#?}");
        assert_eq!(
            state.keys().map(String::as_str).collect::<Vec<_>>(),
            [&CSS[..], &[MARTS][..]].concat()
        );
        assert!(state.values().all(|parts| ws::rows(parts) > 0), "{state:?}");
        refs[night] = state;
    }
    for owner in refs[0].keys() {
        assert_ne!(
            refs[0][owner], refs[1][owner],
            "{owner}: both nights give the same state, a completed run would not show"
        );
    }
    println!("reference nights loaded; a run takes {:.2}s", run_time.as_secs_f64());

    let mut current = 1; // The night the warehouse holds.
    let (mut landed, mut timed, mut completed, mut torn_total, mut orphans_total) = (0, 0, 0, 0, 0);
    let mut failpoints: BTreeMap<String, usize> = BTreeMap::new();
    let mut torn_all: Vec<String> = Vec::new();
    let mut attempts = 0;
    while landed < kills {
        attempts += 1;
        assert!(
            attempts <= 3 * kills.max(1),
            "only {landed} of {attempts} runs were killed mid-run (seed {seed})"
        );
        let target = 1 - current;
        let kill = draw(&mut rng, attempts - 1, run_time);
        let runs_before = run_ids(&wh);
        // Every run loads the other night, forced: every CSS and the marts are republished.
        let run = || load_command(&exports[target], &wh, &["--force", NO_GRACE[0], NO_GRACE[1]]);
        let mut what = String::new();
        let mut hit = 0;
        match &kill {
            Kill::Timed(delay) => {
                let mut child = run().stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
                std::thread::sleep(*delay);
                let running = child.try_wait().unwrap().is_none();
                if running {
                    child.kill().unwrap();
                }
                let status = child.wait().unwrap();
                if status.signal() == Some(SIGKILL) {
                    hit += 1;
                    timed += 1;
                    what = format!("SIGKILL after {} ms", delay.as_millis());
                } else {
                    // The run ended before the kill: its state is simply the new one.
                    assert_eq!(status.code(), Some(0), "a run that was not killed failed");
                    completed += 1;
                }
            }
            Kill::Step(fp) => {
                let status = abort_at(run(), fp);
                assert_eq!(
                    status.signal(),
                    Some(SIGABRT),
                    "failpoint {fp} not reached (status {status:?}, seed {seed})"
                );
                hit += 1;
                *failpoints.entry(fp.clone()).or_default() += 1;
                what = format!("abort at {fp}");
            }
            Kill::Gc(code) => {
                let fp = format!("renamed:{code}");
                let status = abort_at(run(), &fp);
                assert_eq!(status.signal(), Some(SIGABRT), "failpoint {fp} not reached");
                let (_, torn) = check(&wh, &refs, &runs_before, current, target);
                torn_total += torn.len();
                torn_all.extend(torn);
                let orphans = ws::orphans(&wh).len();
                assert!(orphans > 0, "a run aborted after renaming its files left no orphan");
                let mut status_cmd = socle_command();
                status_cmd.args(["status", "--warehouse", wh.to_str().unwrap()]);
                let status = abort_at(status_cmd, "gc");
                assert_eq!(status.signal(), Some(SIGABRT), "failpoint gc not reached");
                let left = ws::orphans(&wh).len();
                assert!(
                    left > 0 && left <= orphans,
                    "the aborted cleanup left {left} of {orphans} orphans"
                );
                hit += 2;
                *failpoints.entry(fp.clone()).or_default() += 1;
                *failpoints.entry("gc".into()).or_default() += 1;
                what = format!(
                    "abort at {fp}, then at gc ({} of {orphans} orphans deleted)",
                    orphans - left
                );
            }
        }
        landed += hit;

        // No torn state.
        let (seen, torn) = check(&wh, &refs, &runs_before, current, target);
        if !torn.is_empty() {
            println!("  TORN after {what}: {torn:#?}");
        }
        torn_total += torn.len();
        torn_all.extend(torn);
        // No orphan left after the next open; nothing listed missing.
        let orphans = ws::orphans(&wh);
        orphans_total += orphans.len();
        socle_warehouse::Warehouse::open(&wh).unwrap();
        let left = ws::orphans(&wh);
        let listed = ws::listed_files(&wh);
        let present = ws::data_files(&wh);
        assert!(left.is_empty(), "orphans left after the next open: {left:?}");
        assert_eq!(present, listed, "files present are not the files listed");
        let delta = ws::delta_mismatches(&wh);
        assert!(
            delta.is_empty(),
            "Delta tables not equal to the manifests after the next open: {delta:#?}"
        );
        let staging: Vec<_> = std::fs::read_dir(wh.join("_socle/staging")).unwrap().collect();
        assert!(staging.is_empty(), "staging left after the next open");
        if hit > 0 {
            println!(
                "kill {landed:>3}: {what}; {}; {} orphan files, removed by the next open",
                seen.join(", "),
                orphans.len()
            );
        }

        // The next run completes the night and rebuilds the marts from the current CSS runs.
        let o = load(&exports[target], &wh, NO_GRACE);
        assert_eq!(o.status.code(), Some(0), "the run after a kill failed: {}", text(&o));
        let (state, problems) = ws::state(&wh, false);
        assert!(problems.is_empty(), "{problems:#?}");
        assert!(!state.is_empty());
        assert_eq!(state, refs[target], "the run after a kill did not complete the night");
        let (css, marts) = ws::manifests(&wh);
        let marts = marts.expect("marts manifest");
        let css_runs: BTreeMap<String, String> = css.into_iter().map(|(c, m)| (c, m.run_id)).collect();
        assert_eq!(css_runs.len(), CSS.len());
        assert_eq!(
            marts.css_runs, css_runs,
            "the marts are not built from the current CSS runs"
        );
        current = target;
    }

    let secs = started.elapsed().as_secs_f64();
    println!(
        "crash campaign: seed {seed}: {landed} kills ({timed} SIGKILL at a random moment, {} at a failpoint: {failpoints:?}), \
         {completed} runs ended before their kill, {torn_total} torn states, {orphans_total} orphan files found after kills \
         (0 left after the next open), {secs:.1}s",
        landed - timed
    );
    assert_eq!(torn_total, 0, "torn states (seed {seed}): {torn_all:#?}");
    assert!(landed >= kills);
}

/// A marts publication that fails after the CSS committed leaves the marts stale; the rerun on
/// the same exports, which has nothing to load (every CSS unchanged), rebuilds them from the
/// current CSS runs and exits 0. `socle status` says whether the marts are current.
#[test]
fn a_failed_marts_publication_is_repaired_by_the_rerun() {
    let dir = tempfile::tempdir().unwrap();
    let exports = dir.path().join("exports");
    generate(&exports, "303", "0.01");
    let wh = dir.path().join("warehouse");
    let o = load(&exports, &wh, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let marts_path = wh.join("_socle/manifests/_marts.json");
    let marts_before = std::fs::read_to_string(&marts_path).unwrap();
    let runs_before = run_ids(&wh);

    // Every CSS published again, the marts publication fails: exit 2, the marts are the old ones.
    let o = load_command(&exports, &wh, &["--force"])
        .env("SOCLE_FAILPOINT", "commit:_marts")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("marts FAILED"),
        "{}",
        text(&o)
    );
    assert_eq!(std::fs::read_to_string(&marts_path).unwrap(), marts_before);
    let runs_failed = run_ids(&wh);
    for code in CSS {
        assert_ne!(runs_failed[code], runs_before[code], "{code} was not published again");
    }
    let status = |wh: &Path| {
        let o = crate::common::socle(&["status", "--warehouse", wh.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .find(|l| l.starts_with("Marts: "))
            .unwrap_or_else(|| panic!("no marts line: {}", text(&o)))
            .to_string()
    };
    assert_eq!(
        status(wh.as_path()),
        "Marts: stale (built before the current run of 751000, 866000, 881000): the next `socle run` rebuilds them"
    );

    // The rerun: every CSS unchanged, the marts rebuilt from the current CSS runs, exit 0.
    let o = load(&exports, &wh, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        stdout.matches("unchanged since the last load").count(),
        3,
        "{}",
        text(&o)
    );
    assert!(stdout.contains("  mart taux_reussite: "), "{}", text(&o));
    let (css, marts) = ws::manifests(&wh);
    let marts = marts.unwrap();
    assert_ne!(
        Some(&marts.run_id),
        runs_before.get(MARTS),
        "the marts were not rebuilt"
    );
    let css_runs: BTreeMap<String, String> = css.into_iter().map(|(c, m)| (c, m.run_id)).collect();
    assert_eq!(css_runs.len(), 3);
    assert_eq!(marts.css_runs, css_runs);
    for code in CSS {
        assert_eq!(css_runs[code], runs_failed[code], "{code} was loaded again");
    }
    assert_eq!(
        status(wh.as_path()),
        "Marts: current (built from the current run of every CSS)"
    );

    // Nothing else to do: the next rerun leaves the marts as they are.
    let o = load(&exports, &wh, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(ws::manifests(&wh).1.unwrap().run_id, marts.run_id);
}
