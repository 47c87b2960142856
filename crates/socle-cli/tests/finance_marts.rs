//! The finance marts' identities with the ledger and the budget, to the cent, on the committed
//! fixtures (3 CSS, 8 school years of Dofin exports): what each mart's YAML states in its notes.
//! The hand-computed cases are in `pipelines/tests/{budget_reel,cout_par_eleve,depenses_ri}.yaml`.

use crate::common::{load, query_csv, root, text};
use std::collections::BTreeMap;
use std::path::Path;

/// Rows of `sql` (shared zone) as key columns joined by `|` -> the value column `v`.
fn totals(warehouse: &Path, sql: &str) -> BTreeMap<String, String> {
    query_csv(warehouse, None, sql)
        .into_iter()
        .map(|mut r| {
            let v = r.remove("v").unwrap_or_default();
            let key: Vec<String> = r.into_values().collect();
            (key.join("|"), v)
        })
        .collect()
}

/// Asserts the mart has the source's amount for every key of the source, and 0 for any other
/// key (a budget line with no entry has an actual of 0), naming the first difference.
fn same(what: &str, mart: BTreeMap<String, String>, source: BTreeMap<String, String>) {
    assert!(!source.is_empty(), "{what}: the fixtures hold no rows to check");
    for (k, v) in &source {
        assert_eq!(mart.get(k), Some(v), "{what}: key {k}");
    }
    for (k, v) in &mart {
        if !source.contains_key(k) {
            assert_eq!(v, "0.00", "{what}: key {k} of the mart has no source rows");
        }
    }
}

#[test]
fn finance_marts_equal_the_ledger_and_the_budget_to_the_cent() {
    let dir = tempfile::tempdir().unwrap();
    let wh = dir.path().join("warehouse");
    let o = load(&root().join("fixtures/exports"), &wh, &[]);
    assert!(o.status.success(), "{}", text(&o));
    let keys = "annee_scolaire, code_css, fonds, champ, categorie_objet";

    // budget_reel: actual = the ledger, each budget = its version's lines, per key.
    same(
        "budget_reel.reel",
        totals(
            &wh,
            &format!("SELECT {keys}, CAST(sum(reel) AS DECIMAL(28, 2)) AS v FROM budget_reel GROUP BY {keys}"),
        ),
        totals(
            &wh,
            &format!("SELECT {keys}, CAST(sum(montant) AS DECIMAL(28, 2)) AS v FROM ecriture GROUP BY {keys}"),
        ),
    );
    for version in ["INITIAL", "REVISE"] {
        let column = if version == "INITIAL" {
            "budget_initial"
        } else {
            "budget_revise"
        };
        same(
            &format!("budget_reel.{column}"),
            totals(
                &wh,
                &format!(
                    "SELECT {keys}, CAST(sum({column}) AS DECIMAL(28, 2)) AS v FROM budget_reel GROUP BY {keys} HAVING sum({column}) IS NOT NULL"
                ),
            ),
            totals(
                &wh,
                &format!(
                    "SELECT {keys}, CAST(sum(montant) AS DECIMAL(28, 2)) AS v FROM budget WHERE version = '{version}' GROUP BY {keys}"
                ),
            ),
        );
    }

    // cout_par_eleve: the CSS rows' expenses = the operating expense lines (fund 1, depense).
    let k = "annee_scolaire, code_css, champ, secteur";
    same(
        "cout_par_eleve.depenses",
        totals(
            &wh,
            &format!(
                "SELECT {k}, CAST(sum(depenses) AS DECIMAL(28, 2)) AS v FROM cout_par_eleve WHERE code_etablissement IS NULL GROUP BY {k}"
            ),
        ),
        totals(
            &wh,
            &format!(
                "SELECT {k}, CAST(sum(montant) AS DECIMAL(28, 2)) AS v FROM ecriture WHERE fonds = '1' AND nature = 'depense' GROUP BY {k}"
            ),
        ),
    );

    // depenses_ri: the lines of an IT activity, by category.
    let k = "annee_scolaire, code_css, categorie_objet";
    same(
        "depenses_ri.depenses_ri",
        totals(
            &wh,
            &format!("SELECT {k}, CAST(sum(depenses_ri) AS DECIMAL(28, 2)) AS v FROM depenses_ri GROUP BY {k}"),
        ),
        totals(
            &wh,
            &format!(
                "SELECT {k}, CAST(sum(montant) AS DECIMAL(28, 2)) AS v FROM ecriture WHERE ressources_informationnelles GROUP BY {k}"
            ),
        ),
    );
}
