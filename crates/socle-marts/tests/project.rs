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
columns:
  - {name: code_css, description: CSS}
  - {name: n, description: compte}
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
