//! The pipelines project as a whole: every committed mart and seed loads, plans in its zone and
//! documents exactly its columns; the framework's rules (parameters, dependencies, zones) hold.

use socle_marts::testing::Fixture;
use std::error::Error;

#[tokio::test]
async fn committed_marts_load_and_plan_in_their_zone() -> Result<(), Box<dyn Error>> {
    let f = Fixture::new()?;
    assert!(!f.project().marts.is_empty());
    for m in &f.project().marts {
        // Planning over empty tables of its zone: the harness builds it like the night does.
        let rows = f.css_zone(&m.spec.name).await?;
        let documented: Vec<String> = m.published_columns().iter().map(|c| c.name.clone()).collect();
        assert_eq!(rows.columns, documented, "{}", m.spec.name);
        assert!(
            rows.columns.iter().any(|c| c == "annee_scolaire"),
            "{} has no annee_scolaire",
            m.spec.name
        );
        assert!(
            rows.columns.iter().any(|c| c == "code_css"),
            "{} has no code_css",
            m.spec.name
        );
    }
    Ok(())
}

#[tokio::test]
async fn taux_reussite_smoke() -> Result<(), Box<dyn Error>> {
    let f = Fixture::new()?.table(
        "resultat",
        "
        annee_scolaire,code_css,code_etablissement,cle_eleve,code_cours,etape,statut_resultat,evalue,reussi,reprise,etat,ecole_bidon
        2024-2025,866000,866012,k1,132406,1,reussi,true,true,false,1,false
        2024-2025,866000,866012,k2,132406,1,echec,true,false,false,1,false
        ",
    );
    let exact = f.css_zone("taux_reussite").await?;
    let r = exact.find(&[("code_cours", "132406"), ("etape", "1")]);
    assert_eq!(r.int("nb_evalues"), Some(2));
    assert_eq!(r.bool("cellule_supprimee"), Some(true));
    let shared = f.shared_zone("taux_reussite").await?;
    assert!(shared.find(&[("code_cours", "132406")]).is_null("nb_evalues"));
    Ok(())
}

/// A temporary `pipelines/` with the given files (path relative to it, content).
fn pipelines(files: &[(&str, &str)]) -> Result<tempfile::TempDir, Box<dyn Error>> {
    let dir = tempfile::tempdir()?;
    std::fs::create_dir_all(dir.path().join("marts"))?;
    for (path, text) in files {
        let p = dir.path().join(path);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(p, text)?;
    }
    Ok(dir)
}

const MART_YAML: &str = "name: m
title: {fr: M, en: M}
summary: {fr: m, en: m}
source: shared
publication: shared
execution: EXECUTION
unique_key: KEY
grain: une ligne par CSS
definition: {fr: m, en: m}
suppression:
  - count: n
tableau_de_bord:
  graphique: barres
  etiquette: [code_css]
  valeur: n
  filtres: [code_css]
columns:
  - {name: code_css, libelle: Code du CSS, description: CSS}
  - {name: n, libelle: Nombre d'inscriptions, description: compte}
";

const MODEL_YAML: &str = "name: i
source: shared
execution: par_css
unique_key: [code_css]
grain: une ligne par CSS
definition: {fr: i, en: i}
columns:
  - {name: code_css, description: CSS}
";

fn messages(files: &[(&str, &str)]) -> Result<Vec<String>, Box<dyn Error>> {
    let dir = pipelines(files)?;
    let (_, problems) = socle_marts::load(dir.path())?;
    Ok(problems.iter().map(|p| p.to_string()).collect())
}

#[test]
fn execution_and_unique_key_are_declared_and_checked() -> Result<(), Box<dyn Error>> {
    let sql = "SELECT code_css, count(*) AS n FROM inscription GROUP BY code_css";
    let yaml = |execution: &str, key: &str| MART_YAML.replace("EXECUTION", execution).replace("KEY", key);
    let ok = yaml("par_css", "[code_css]");
    assert_eq!(
        messages(&[("marts/m.yaml", &ok), ("marts/m.sql", sql)])?,
        Vec::<String>::new()
    );

    let province = yaml("province", "[code_css]");
    let got = messages(&[("marts/m.yaml", &province), ("marts/m.sql", sql)])?;
    assert!(got.iter().any(|m| m.contains("execution_reason")), "{got:?}");

    let bad_key = yaml("par_css", "[code_css, nope]");
    let got = messages(&[("marts/m.yaml", &bad_key), ("marts/m.sql", sql)])?;
    assert!(
        got.iter().any(|m| m.contains("unique_key") && m.contains("nope")),
        "{got:?}"
    );

    let no_key = yaml("par_css", "[]");
    let got = messages(&[("marts/m.yaml", &no_key), ("marts/m.sql", sql)])?;
    assert!(got.iter().any(|m| m.contains("unique_key: required")), "{got:?}");
    Ok(())
}

#[test]
fn intermediate_models_come_first_and_never_read_marts() -> Result<(), Box<dyn Error>> {
    let mart = MART_YAML.replace("EXECUTION", "par_css").replace("KEY", "[code_css]");
    let dir = pipelines(&[
        ("marts/m.yaml", &mart),
        ("marts/m.sql", "SELECT code_css, count(*) AS n FROM i GROUP BY code_css"),
        ("intermediate/i.yaml", MODEL_YAML),
        ("intermediate/i.sql", "SELECT DISTINCT code_css FROM inscription"),
    ])?;
    let (project, problems) = socle_marts::load(dir.path())?;
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(project.intermediates.len(), 1);
    assert!(project.intermediates[0].is_intermediate());
    assert_eq!(project.marts[0].depends_on, vec!["i".to_string()]);
    let order: Vec<&str> = project
        .with_dependencies("m")
        .iter()
        .map(|m| m.spec.name.as_str())
        .collect();
    assert_eq!(order, vec!["i", "m"]);
    let down: Vec<&str> = project
        .with_dependents(&["i"])
        .iter()
        .map(|m| m.spec.name.as_str())
        .collect();
    assert_eq!(down, vec!["i", "m"]);

    let got = messages(&[
        ("marts/m.yaml", &mart),
        (
            "marts/m.sql",
            "SELECT code_css, count(*) AS n FROM inscription GROUP BY code_css",
        ),
        ("intermediate/i.yaml", MODEL_YAML),
        ("intermediate/i.sql", "SELECT DISTINCT code_css FROM m"),
    ])?;
    assert!(got.iter().any(|m| m.contains("reads mart m")), "{got:?}");
    Ok(())
}

/// `MART_YAML` run one CSS at a time, keyed by CSS, with each `(from, to)` of `edits` replaced.
fn mart_yaml(edits: &[(&str, &str)]) -> String {
    let mut yaml = MART_YAML.replace("EXECUTION", "par_css").replace("KEY", "[code_css]");
    for (from, to) in edits {
        assert!(yaml.contains(from), "{from:?} is not in the test mart");
        yaml = yaml.replace(from, to);
    }
    yaml
}

const MART_SQL: &str = "SELECT code_css, count(*) AS n FROM inscription GROUP BY code_css";

/// The problems of loading the test mart with `edits` (its SQL as `MART_SQL`).
fn mart_messages(edits: &[(&str, &str)]) -> Result<Vec<String>, Box<dyn Error>> {
    messages(&[("marts/m.yaml", &mart_yaml(edits)), ("marts/m.sql", MART_SQL)])
}

/// Whether one of `got` names file `m.yaml`, key `key`, and says each of `words`.
fn reported(got: &[String], key: &str, words: &[&str]) -> bool {
    got.iter()
        .any(|m| m.contains("m.yaml") && m.contains(&format!(": {key}: ")) && words.iter().all(|w| m.contains(w)))
}

#[test]
fn the_test_mart_with_libelles_and_its_dashboard_loads_clean() -> Result<(), Box<dyn Error>> {
    assert_eq!(mart_messages(&[])?, Vec::<String>::new());
    // The order of the rows: the dashboard's `tri`, else the grain.
    let dir = pipelines(&[("marts/m.yaml", &mart_yaml(&[])), ("marts/m.sql", MART_SQL)])?;
    let (project, _) = socle_marts::load(dir.path())?;
    let m = project.mart("m").ok_or("no mart m")?;
    assert_eq!(m.spec.sort_order(), ["code_css".to_string()]);
    let d = m.spec.tableau_de_bord.as_ref().ok_or("no tableau_de_bord")?;
    assert_eq!(d.graphique, socle_marts::ChartKind::Barres);
    // Socle gives the heading of the column it adds.
    let headings: Vec<String> = m.published_columns().iter().map(|c| c.heading().to_string()).collect();
    assert_eq!(
        headings,
        ["Code du CSS", "Nombre d'inscriptions", "Valeur cachée (petite cellule)"]
    );
    Ok(())
}

#[test]
fn a_mart_column_without_libelle_is_a_problem() -> Result<(), Box<dyn Error>> {
    let got = mart_messages(&[("{name: n, libelle: Nombre d'inscriptions, ", "{name: n, ")])?;
    assert!(
        reported(&got, "columns[1].libelle", &["column n has no libelle"]),
        "{got:?}"
    );
    assert_eq!(got.len(), 1, "{got:?}");
    Ok(())
}

#[test]
fn an_empty_libelle_is_a_problem() -> Result<(), Box<dyn Error>> {
    let got = mart_messages(&[("libelle: Nombre d'inscriptions", "libelle: \"  \"")])?;
    assert!(reported(&got, "columns[1].libelle", &["column n", "empty"]), "{got:?}");
    Ok(())
}

#[test]
fn a_libelle_over_60_characters_is_a_problem() -> Result<(), Box<dyn Error>> {
    // 60 characters, accents counting one each, is the limit: allowed.
    let sixty = format!("Élèves {}", "é".repeat(53));
    assert_eq!(sixty.chars().count(), 60);
    let at_limit = format!("libelle: {sixty}");
    assert_eq!(
        mart_messages(&[("libelle: Nombre d'inscriptions", &at_limit)])?,
        Vec::<String>::new()
    );
    let over = format!("libelle: {sixty}s");
    let got = mart_messages(&[("libelle: Nombre d'inscriptions", &over)])?;
    assert!(
        reported(&got, "columns[1].libelle", &["column n", "61 characters", "at most 60"]),
        "{got:?}"
    );
    Ok(())
}

#[test]
fn two_columns_with_one_libelle_are_a_problem() -> Result<(), Box<dyn Error>> {
    // Differing by case only still reads as the same heading.
    let got = mart_messages(&[("libelle: Nombre d'inscriptions", "libelle: code du css")])?;
    assert!(
        reported(
            &got,
            "columns[1].libelle",
            &["column n", "already that of column code_css"]
        ),
        "{got:?}"
    );
    // The heading Socle gives `cellule_supprimee` is taken too in a shared mart.
    let got = mart_messages(&[(
        "libelle: Nombre d'inscriptions",
        "libelle: Valeur cachée (petite cellule)",
    )])?;
    assert!(reported(&got, "columns[1].libelle", &["cellule_supprimee"]), "{got:?}");
    Ok(())
}

#[test]
fn intermediate_model_columns_need_no_libelle() -> Result<(), Box<dyn Error>> {
    assert!(!MODEL_YAML.contains("libelle"));
    let got = messages(&[
        ("marts/m.yaml", &mart_yaml(&[])),
        ("marts/m.sql", "SELECT code_css, count(*) AS n FROM i GROUP BY code_css"),
        ("intermediate/i.yaml", MODEL_YAML),
        ("intermediate/i.sql", "SELECT DISTINCT code_css FROM inscription"),
    ])?;
    assert_eq!(got, Vec::<String>::new());
    Ok(())
}

#[test]
fn a_mart_without_tableau_de_bord_is_a_problem() -> Result<(), Box<dyn Error>> {
    let got = mart_messages(&[(
        "tableau_de_bord:\n  graphique: barres\n  etiquette: [code_css]\n  valeur: n\n  filtres: [code_css]\n",
        "",
    )])?;
    assert!(reported(&got, "tableau_de_bord", &["required"]), "{got:?}");
    assert_eq!(got.len(), 1, "{got:?}");
    Ok(())
}

#[test]
fn an_unknown_dashboard_key_or_chart_kind_is_a_problem() -> Result<(), Box<dyn Error>> {
    let got = mart_messages(&[("  graphique: barres\n", "  graphique: barres\n  couleur: bleu\n")])?;
    assert!(
        got.iter().any(|m| m.contains("m.yaml") && m.contains("couleur")),
        "{got:?}"
    );
    let got = mart_messages(&[("graphique: barres", "graphique: pointes")])?;
    assert!(
        got.iter().any(|m| m.contains("m.yaml") && m.contains("pointes")),
        "{got:?}"
    );
    Ok(())
}

#[test]
fn an_empty_etiquette_is_a_problem() -> Result<(), Box<dyn Error>> {
    let got = mart_messages(&[("etiquette: [code_css]", "etiquette: []")])?;
    assert!(reported(&got, "tableau_de_bord.etiquette", &["required"]), "{got:?}");
    Ok(())
}

#[test]
fn a_table_only_dashboard_has_no_chart_and_names_no_valeur() -> Result<(), Box<dyn Error>> {
    // `graphique: aucun`: a list of cases, shown as a table, without etiquette or valeur.
    let table_only = [
        ("graphique: barres", "graphique: aucun"),
        ("  etiquette: [code_css]\n", ""),
        ("  valeur: n\n", ""),
    ];
    assert_eq!(mart_messages(&table_only)?, Vec::<String>::new());
    let dir = pipelines(&[("marts/m.yaml", &mart_yaml(&table_only)), ("marts/m.sql", MART_SQL)])?;
    let (project, _) = socle_marts::load(dir.path())?;
    let d = project
        .mart("m")
        .and_then(|m| m.spec.tableau_de_bord.as_ref())
        .ok_or("no tableau_de_bord")?;
    assert!(d.chart().is_none());
    // A valeur with `aucun` is a contradiction; a chart without valeur draws nothing.
    let got = mart_messages(&[
        ("graphique: barres", "graphique: aucun"),
        ("  etiquette: [code_css]\n", ""),
    ])?;
    assert!(reported(&got, "tableau_de_bord.valeur", &["aucun"]), "{got:?}");
    let got = mart_messages(&[("  valeur: n\n", "")])?;
    assert!(reported(&got, "tableau_de_bord.valeur", &["required"]), "{got:?}");
    Ok(())
}

#[test]
fn dashboard_columns_must_be_columns_of_the_mart() -> Result<(), Box<dyn Error>> {
    for (key, edit) in [
        ("etiquette", ("etiquette: [code_css]", "etiquette: [code_css, ecole]")),
        ("valeur", ("valeur: n", "valeur: taux")),
        ("filtres", ("filtres: [code_css]", "filtres: [code_css, annee]")),
        (
            "tri",
            ("filtres: [code_css]", "filtres: [code_css]\n  tri: [code_css, rang]"),
        ),
    ] {
        let got = mart_messages(&[edit])?;
        let missing = edit
            .1
            .trim_end_matches(']')
            .rsplit([' ', '['])
            .next()
            .unwrap_or_default();
        assert!(
            reported(
                &got,
                &format!("tableau_de_bord.{key}"),
                &[&format!("column {missing} is not a column of the mart")]
            ),
            "{key}: {got:?}"
        );
        assert_eq!(got.len(), 1, "{key}: {got:?}");
    }
    // `cellule_supprimee`, added by Socle to a shared mart, is one of its columns (a filter).
    let got = mart_messages(&[("filtres: [code_css]", "filtres: [code_css, cellule_supprimee]")])?;
    assert_eq!(got, Vec::<String>::new());
    // The dashboard's `tri` orders the rows.
    let dir = pipelines(&[
        (
            "marts/m.yaml",
            &mart_yaml(&[("filtres: [code_css]", "filtres: [code_css]\n  tri: [n, code_css]")]),
        ),
        ("marts/m.sql", MART_SQL),
    ])?;
    let (project, _) = socle_marts::load(dir.path())?;
    let m = project.mart("m").ok_or("no mart m")?;
    assert_eq!(m.spec.sort_order(), ["n".to_string(), "code_css".to_string()]);
    Ok(())
}

/// The problems of `socle_marts::check` on the test mart with `edits`, its SQL `sql` planned on
/// empty sessions (it reads no table).
async fn check_messages(edits: &[(&str, &str)], sql: &str) -> Result<Vec<String>, Box<dyn Error>> {
    let dir = pipelines(&[("marts/m.yaml", &mart_yaml(edits)), ("marts/m.sql", sql)])?;
    let (project, problems) = socle_marts::load(dir.path())?;
    assert!(problems.is_empty(), "{problems:?}");
    let (shared, css) = (
        datafusion::prelude::SessionContext::new(),
        datafusion::prelude::SessionContext::new(),
    );
    let problems = socle_marts::check(&project, &shared, &css).await;
    Ok(problems.iter().map(|p| p.to_string()).collect())
}

#[tokio::test]
async fn the_dashboard_valeur_must_be_numeric() -> Result<(), Box<dyn Error>> {
    let text_column = (
        "  - {name: n,",
        "  - {name: t, libelle: Texte, description: texte}\n  - {name: n,",
    );
    let sql = "SELECT '866000' AS code_css, 'x' AS t, CAST(1 AS BIGINT) AS n";
    // An integer, a float, a decimal: numbers to draw.
    assert_eq!(check_messages(&[text_column], sql).await?, Vec::<String>::new());
    let float = "SELECT '866000' AS code_css, 'x' AS t, CAST(1 AS BIGINT) AS n, CAST(0.5 AS DOUBLE) AS taux";
    let taux = (
        "  - {name: n, libelle: Nombre d'inscriptions, description: compte}",
        "  - {name: n, libelle: Nombre d'inscriptions, description: compte}\n  - {name: taux, libelle: Taux, description: taux}",
    );
    for (cast, ty) in [
        ("CAST(0.5 AS DOUBLE)", "float"),
        ("CAST(0.5 AS DECIMAL(5, 2))", "decimal"),
    ] {
        let got = check_messages(
            &[text_column, taux, ("valeur: n", "valeur: taux")],
            &float.replace("CAST(0.5 AS DOUBLE)", cast),
        )
        .await?;
        assert_eq!(got, Vec::<String>::new(), "{ty}");
    }
    // Text: a problem naming the file and the key.
    let got = check_messages(&[text_column, ("valeur: n", "valeur: t")], sql).await?;
    assert!(
        reported(&got, "tableau_de_bord.valeur", &["t must be numeric", "Utf8"]),
        "{got:?}"
    );
    assert_eq!(got.len(), 1, "{got:?}");
    // The flag Socle adds is a boolean, not a measure.
    let got = check_messages(&[text_column, ("valeur: n", "valeur: cellule_supprimee")], sql).await?;
    assert!(
        reported(
            &got,
            "tableau_de_bord.valeur",
            &["cellule_supprimee must be numeric", "Boolean"]
        ),
        "{got:?}"
    );
    Ok(())
}
