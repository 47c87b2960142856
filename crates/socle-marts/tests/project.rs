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
