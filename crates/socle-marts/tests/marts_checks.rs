//! The checks of the marts and seeds that are not cases of rows: each mart documents exactly
//! the columns it produces, and the seed `types_sanction` counts every ministry type but the AENS.
//! The hand-computed cases of rows are data: `pipelines/tests/<mart>.yaml`, run by
//! `tests/cases.rs` and `socle test` (the old test functions and the cases they became are listed
//! in `pipelines/tests/README.md`).

use socle_marts::testing::{Fixture, repo_root};
use std::error::Error;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

type TestResult = Result<(), Box<dyn Error>>;

const MARTS: [&str; 4] = [
    "reussite",
    "taux_reussite",
    "epreuves_ministerielles",
    "effectif_30_septembre",
];
const SEEDS: [&str; 1] = ["ponderation_epreuves"];

/// A copy of this file's marts and seed; removed when dropped.
struct Pipelines(PathBuf);

impl Drop for Pipelines {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn fixture() -> Result<(Fixture, Pipelines), Box<dyn Error>> {
    static N: AtomicUsize = AtomicUsize::new(0);
    let src = repo_root().join("pipelines");
    let dir = std::env::temp_dir().join(format!(
        "socle-marts-reussite-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let guard = Pipelines(dir.clone());
    std::fs::create_dir_all(dir.join("marts"))?;
    std::fs::create_dir_all(dir.join("seeds"))?;
    for m in MARTS {
        for ext in ["sql", "yaml"] {
            std::fs::copy(
                src.join(format!("marts/{m}.{ext}")),
                dir.join(format!("marts/{m}.{ext}")),
            )?;
        }
    }
    for s in SEEDS {
        for ext in ["csv", "yaml"] {
            std::fs::copy(
                src.join(format!("seeds/{s}.{ext}")),
                dir.join(format!("seeds/{s}.{ext}")),
            )?;
        }
    }
    if src.join("config.yaml").exists() {
        std::fs::copy(src.join("config.yaml"), dir.join("config.yaml"))?;
    }
    // The marts read the intermediate models: copy them all.
    std::fs::create_dir_all(dir.join("intermediate"))?;
    for e in std::fs::read_dir(src.join("intermediate"))? {
        let e = e?;
        std::fs::copy(e.path(), dir.join("intermediate").join(e.file_name()))?;
    }
    let f = Fixture::with_paths(&repo_root().join("schemas"), &dir)?;
    Ok((f, guard))
}

#[tokio::test]
async fn types_sanction_seed_counts_every_ministry_type_but_the_aens() -> TestResult {
    let f = Fixture::new()?;
    let seed = f
        .project()
        .seeds
        .iter()
        .find(|s| s.spec.name == "types_sanction")
        .ok_or("no seed types_sanction")?;
    let batch = socle_marts::read_seed(seed)?;
    let rows = socle_marts::testing::Rows::from_batches(&batch.schema(), &[batch])?;
    // DOMAIN.md: DES, DEP, ASP, AEP, AFP, ISPJ, CFER, CFPT, CFMS, CEES, CFISA count; AENS does not.
    for code in [
        "DES", "DEP", "ASP", "AEP", "AFP", "ISPJ", "CFER", "CFPT", "CFMS", "CEES", "CFISA",
    ] {
        let r = rows.find(&[("type_diplome", code)]);
        assert_eq!(r.bool("compte_diplomation"), Some(true), "{code}");
        assert_eq!(r.bool("des_ou_dep"), Some(code == "DES" || code == "DEP"), "{code}");
        let expected = if ["DES", "DEP", "ASP", "AEP"].contains(&code) {
            "diplome"
        } else {
            "qualification"
        };
        assert_eq!(r.get("categorie"), Some(expected), "{code}");
    }
    let aens = rows.find(&[("type_diplome", "AENS")]);
    assert_eq!(aens.bool("compte_diplomation"), Some(false));
    assert_eq!(aens.bool("des_ou_dep"), Some(false));
    assert_eq!(rows.len(), 12);
    Ok(())
}

#[tokio::test]
async fn marts_document_exactly_their_columns() -> TestResult {
    // As `tests/project.rs` checks for the whole project: planned on empty tables, each mart
    // produces its documented columns, in order (with cellule_supprimee, added by Socle).
    let (f, _dir) = fixture()?;
    for name in MARTS {
        let m = f.project().mart(name).ok_or(name)?;
        let documented: Vec<String> = m.published_columns().iter().map(|c| c.name.clone()).collect();
        assert_eq!(f.css_zone(name).await?.columns, documented, "{name}");
    }
    assert_eq!(
        f.project().mart("taux_reussite").ok_or("taux_reussite")?.depends_on,
        vec!["reussite".to_string()]
    );
    Ok(())
}
