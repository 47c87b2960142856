//! A query running while a night publishes finishes on the files it started with: the night
//! keeps the files it replaces for a grace period (`socle run --keep-replaced-minutes`, 10 by
//! default) instead of deleting them right after the manifest swap. And the server's catalog
//! picks up the new night without a restart. Without the grace (0), the same query fails: the
//! test would notice if the grace stopped working. (These tests keep the marts on their files:
//! held in memory, as the server does by default, a mart no longer depends on them.)
//!
//! And the marts a scope holds in memory give the same rows as their files.

use crate::common::{load, root, text};
use datafusion::physical_plan::collect;
use socle_serve::Role;
use std::sync::Arc;

use datafusion::catalog::{MemTable, TableProvider};
use socle_serve::scope::{Catalog, DEFAULT_MARTS_MEMORY, Scope};

fn catalog(wh: &std::path::Path) -> Catalog {
    let dict = socle_dictionary::Dictionary::load(root().join("schemas")).unwrap();
    let (project, problems) = socle_marts::load(&root().join("pipelines")).unwrap();
    assert!(problems.is_empty(), "{problems:?}");
    Catalog::new(socle_warehouse::Warehouse::open(wh).unwrap(), dict, project).with_marts_memory(0)
}

fn ministere() -> Scope {
    Scope {
        role: Role::Ministere,
        css: None,
        etablissements: Default::default(),
        nominatif: false,
    }
}

/// Plans a read of a mart and of a canonical table, publishes a night with `grace_minutes`, then
/// runs the plans: their row counts, or the error.
async fn plan_publish_run(grace_minutes: &str) -> (Result<(usize, usize), String>, usize, bool) {
    let tmp = tempfile::tempdir().unwrap();
    let wh = tmp.path().join("warehouse");
    let o = load(&root().join("fixtures/exports"), &wh, &[]);
    assert!(o.status.success(), "{}", text(&o));
    let cat = catalog(&wh);
    let before = cat.tables(&ministere()).await.unwrap().stamp.clone();
    let (ctx, _) = cat.session(&ministere()).await.unwrap();
    let mart = ctx
        .table("taux_reussite")
        .await
        .unwrap()
        .create_physical_plan()
        .await
        .unwrap();
    let table = ctx
        .table("inscription")
        .await
        .unwrap()
        .create_physical_plan()
        .await
        .unwrap();
    // The night publishes: every CSS reloaded, the marts rebuilt, new files, the old replaced.
    let o = load(
        &root().join("fixtures/exports"),
        &wh,
        &[
            "--force",
            "--keep-replaced-minutes",
            grace_minutes,
            "--retain-days",
            "0",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let result = async {
        let m = collect(mart, ctx.task_ctx()).await.map_err(|e| e.to_string())?;
        let t = collect(table, ctx.task_ctx()).await.map_err(|e| e.to_string())?;
        Ok::<_, String>((
            m.iter().map(|b| b.num_rows()).sum::<usize>(),
            t.iter().map(|b| b.num_rows()).sum::<usize>(),
        ))
    }
    .await;
    // A new session sees the new night.
    let after = cat.tables(&ministere()).await.unwrap().stamp.clone();
    let (fresh, _) = cat.session(&ministere()).await.unwrap();
    let rows: usize = fresh
        .table("taux_reussite")
        .await
        .unwrap()
        .collect()
        .await
        .unwrap()
        .iter()
        .map(|b| b.num_rows())
        .sum();
    (result, rows, before != after)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_planned_before_a_publication_finishes_on_its_files() {
    let (result, fresh_rows, changed) = plan_publish_run("10").await;
    let (mart_rows, table_rows) = result.expect("the planned query failed during the grace period");
    assert!(mart_rows > 0 && table_rows > 0);
    assert_eq!(fresh_rows, mart_rows, "same data, new files");
    assert!(
        changed,
        "the publication stamp changed: the server rebuilds its sessions"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_grace_the_same_query_loses_its_files() {
    let (result, _, _) = plan_publish_run("0").await;
    assert!(
        result.is_err(),
        "the files were deleted at once: the planned read must fail"
    );
}

fn is_held(t: &Arc<dyn TableProvider>) -> bool {
    (t.as_ref() as &dyn std::any::Any).is::<MemTable>()
}

/// Each mart's rows, sorted, for `scope` in `cat`: (mart, rows as text).
async fn mart_rows(cat: &Catalog, scope: &Scope) -> Vec<(String, Vec<String>)> {
    let (ctx, tables) = cat.session(scope).await.unwrap();
    let mut out = Vec::new();
    for name in tables.tables.keys().filter(|n| cat.project.mart(n).is_some()) {
        let batches = ctx.table(name.as_str()).await.unwrap().collect().await.unwrap();
        let text = datafusion::arrow::util::pretty::pretty_format_batches(&batches)
            .unwrap()
            .to_string();
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        lines.sort();
        out.push((name.clone(), lines));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn marts_held_in_memory_give_the_rows_of_their_files_within_the_budget() {
    let tmp = tempfile::tempdir().unwrap();
    let wh = tmp.path().join("warehouse");
    let o = load(&root().join("fixtures/exports"), &wh, &[]);
    assert!(o.status.success(), "{}", text(&o));
    let css = Scope {
        role: Role::Css,
        css: Some("866000".into()),
        etablissements: Default::default(),
        nominatif: false,
    };
    let on_files = catalog(&wh);
    let held_cat = catalog(&wh).with_marts_memory(DEFAULT_MARTS_MEMORY);
    for scope in [ministere(), css] {
        let held = held_cat.tables(&scope).await.unwrap();
        let marts: Vec<&String> = held
            .tables
            .keys()
            .filter(|n| held_cat.project.mart(n).is_some())
            .collect();
        assert!(marts.len() > 5, "{marts:?}");
        for m in &marts {
            assert!(is_held(&held.tables[*m]), "{m} held in memory");
        }
        // Canonical tables stay on their files.
        let canonical = held.tables.get("inscription").expect("inscription in the scope");
        assert!(!is_held(canonical));
        let files = on_files.tables(&scope).await.unwrap();
        assert!(
            marts.iter().all(|m| !is_held(&files.tables[*m])),
            "budget 0: marts on files"
        );
        assert_eq!(mart_rows(&held_cat, &scope).await, mart_rows(&on_files, &scope).await);
    }
    // A budget smaller than the marts: those that would pass it stay on their files.
    let tight = catalog(&wh).with_marts_memory(4096);
    let held = tight.tables(&ministere()).await.unwrap();
    let marts: Vec<&String> = held.tables.keys().filter(|n| tight.project.mart(n).is_some()).collect();
    assert!(marts.iter().any(|m| !is_held(&held.tables[*m])));
}
