//! Normalisation of a tiny hand-written GPI export, cell by cell: every rule of
//! formats/README.md for reading results, the per-CSS value maps, the registry checks and the
//! pseudonymous key.

use datafusion::arrow::array::{Array, BooleanArray, Float64Array, RecordBatch, StringArray};
use socle_core::{KeySource, Pseudonymiser, Registry};
use socle_dictionary::Dictionary;
use socle_transform::{NormaliseContext, Normalised, normalise};
use std::collections::BTreeMap;
use std::path::Path;

fn write(dir: &Path, name: &str, lines: &[&str]) {
    std::fs::write(dir.join(name), lines.join("\n") + "\n").unwrap();
}

/// A one-school export of CSS `css`; `eco_off` is the establishment code written in gpm_t_eco.
fn export(dir: &Path, css: &str, eco_off: &str, results: &[&str]) {
    write(
        dir,
        "gpm_t_eco.csv",
        &[
            "id_eco;org;annee;eco;eco_off;nom_eco;indic_eco_bidon",
            &format!("10;{css};2024;001;{eco_off};École;0"),
        ],
    );
    write(
        dir,
        "gpm_e_ele.csv",
        &[
            "fiche;code_perm;nom;pnom;sexe;date_naiss",
            "1;TREM12345678;Tremblay;Léa;F;2012-03-04",
            "2;BAD;Roy;Max;M;2012-05-06",
        ],
    );
    write(
        dir,
        "gpm_e_dan.csv",
        &[
            "fiche;id_eco;statut_don_an;ordre_ens;classe;grp_rep;plan_interv_ehdaa;difficulte;date_deb;date_depart;motif_depart",
            "1;10;A;4;1;101;1;12;2024-08-28;;",
            "2;10;A;4;1;101;0;;2024-08-28;;",
        ],
    );
    write(
        dir,
        "gpm_t_mat.csv",
        &[
            "id_eco;mat;descr;unites",
            "10;132108;Français;8",
            "10;FR-4;Français 4e;0",
            "10;XYZ9;Atelier;0",
        ],
    );
    // Group 1: letter legend at étapes 1-2, numeric legend (pass mark 70) at étape 3 and final.
    write(
        dir,
        "gpm_t_mat_grp.csv",
        &[
            "id_mat_grp;id_eco;mat;grp;leg_etape_01;leg_etape_02;leg_etape_03;leg_som",
            "1;10;132108;01;LET;LET;N70;N70",
            "2;10;FR-4;R1;;;;",
            "3;10;XYZ9;01;;;;",
        ],
    );
    write(
        dir,
        "gpm_t_leg.csv",
        &["id_eco;leg;seuil_reus", "10;LET;60", "10;N70;70"],
    );
    write(
        dir,
        "gpm_t_cotes.csv",
        &[
            "id_eco;leg;cote;note_equiv;indic_reus_echec",
            "10;LET;A;90;1",
            "10;LET;E;40;2",
            "10;LET;NR;;",
        ],
    );
    write(
        dir,
        "gpm_t_etape.csv",
        &[
            "id_eco;etape;date_deb;date_fin;nb_jours_classe",
            "10;1;2024-08-28;2024-11-15;55",
        ],
    );
    write(
        dir,
        "gpm_t_cal.csv",
        &[
            "id_eco;date_evenement;jour_cycle;nb_periodes",
            "10;2024-09-03;1;5",
            "10;2024-09-07;;",
        ],
    );
    write(
        dir,
        "gpm_e_abs.csv",
        &[
            "fiche;id_eco;date_abs;periode;motif_abs",
            "1;10;2024-09-03;1;MAL",
            "1;10;2024-09-03;2;RET",
            "2;10;2024-09-03;1;ZZZ",
        ],
    );
    write(
        dir,
        "gpm_t_motif_abs.csv",
        &["id_eco;motif_abs;descr;cpt_abs", "10;MAL;Maladie;1", "10;RET;Retard;3"],
    );
    let mut rows = vec![
        "id_mat_ele;id_mat_grp;fiche;id_eco;mat;grp;etat;res_etape_01;res_etape_02;res_etape_03;res_som;unites_ele"
            .to_string(),
    ];
    for (i, r) in results.iter().enumerate() {
        rows.push(format!("{};{r}", 100 + i));
    }
    let refs: Vec<&str> = rows.iter().map(String::as_str).collect();
    write(dir, "gpm_e_mat_ele.csv", &refs);
}

async fn load(css: &str, eco_off: &str, results: &[&str]) -> Normalised {
    let tmp = tempfile::tempdir().unwrap();
    export(tmp.path(), css, eco_off, results);
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas");
    let dict = Dictionary::load(&root).unwrap();
    let source = dict.source("gpi").unwrap().clone();
    let extract = socle_connect_gpi::read_gpi(tmp.path(), &source, &Default::default())
        .await
        .unwrap();
    assert!(extract.rejects.is_empty(), "{:?}", extract.rejects);
    let registry = Registry::embedded().unwrap();
    let pseudo = Pseudonymiser::new(&[7u8; 32], KeySource::Environment).unwrap();
    let cx = NormaliseContext {
        code_css: css,
        dictionary: &dict,
        registry: &registry,
        pseudonymiser: &pseudo,
    };
    normalise(&cx, vec![extract]).await.unwrap()
}

fn column<'a, T: 'static>(batches: &'a [RecordBatch], name: &str) -> Vec<&'a T> {
    batches
        .iter()
        .map(|b| b.column_by_name(name).unwrap().as_any().downcast_ref::<T>().unwrap())
        .collect()
}

fn strings(batches: &[RecordBatch], name: &str) -> Vec<Option<String>> {
    column::<StringArray>(batches, name)
        .into_iter()
        .flat_map(|a| a.iter().map(|v| v.map(str::to_string)).collect::<Vec<_>>())
        .collect()
}

/// (resultat_source, etape) -> (statut, reussi, note)
/// (statut_resultat, reussi, note) of one result.
type Reading = (String, Option<bool>, Option<f64>);

fn results(n: &Normalised) -> BTreeMap<(String, String), Reading> {
    let b = &n.tables["resultat"];
    let src = strings(b, "resultat_source");
    let etape = strings(b, "etape");
    let statut = strings(b, "statut_resultat");
    let reussi: Vec<Option<bool>> = column::<BooleanArray>(b, "reussi")
        .into_iter()
        .flat_map(|a| a.iter().collect::<Vec<_>>())
        .collect();
    let note: Vec<Option<f64>> = column::<Float64Array>(b, "note")
        .into_iter()
        .flat_map(|a| a.iter().collect::<Vec<_>>())
        .collect();
    (0..src.len())
        .map(|i| {
            (
                (src[i].clone().unwrap_or_default(), etape[i].clone().unwrap()),
                (statut[i].clone().unwrap(), reussi[i], note[i]),
            )
        })
        .collect()
}

fn quarantined(n: &Normalised, entity: &str) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for b in &n.quarantine {
        let ent = b
            .column_by_name("entite")
            .unwrap()
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap();
        let col = b
            .column_by_name("colonne")
            .unwrap()
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap();
        let why = b
            .column_by_name("raison")
            .unwrap()
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap();
        let msg = b
            .column_by_name("message")
            .unwrap()
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap();
        for i in 0..b.num_rows() {
            if ent.is_valid(i) && ent.value(i) == entity {
                out.push((
                    col.value(i).to_string(),
                    why.value(i).to_string(),
                    msg.value(i).to_string(),
                ));
            }
        }
    }
    out
}

#[tokio::test]
async fn results_are_read_in_the_documented_order() {
    let n = load(
        "751000",
        "751006",
        &[
            // legend codes (étapes 1-2, legend LET), numbers against pass mark 70 (étape 3, final)
            "1;1;10;132108;01;1;A;E;69;70;8",
            "1;1;10;132108;01;1;NR;;78,5;69.99;8",
            // special values of the default map, any case; and a number above 100
            "1;1;10;132108;01;1;ABS;ex;NE;*;8",
            "1;1;10;132108;01;1;ZZ;B;150;;8",
        ],
    )
    .await;
    let r = results(&n);
    let get = |src: &str, etape: &str| {
        r.get(&(src.to_string(), etape.to_string()))
            .cloned()
            .unwrap_or_else(|| panic!("no result {src} at {etape}: {r:?}"))
    };
    assert_eq!(get("A", "1"), ("reussi".into(), Some(true), Some(90.0)));
    assert_eq!(get("E", "2"), ("echec".into(), Some(false), Some(40.0)));
    assert_eq!(
        get("69", "3"),
        ("echec".into(), Some(false), Some(69.0)),
        "69 fails against the legend's pass mark 70"
    );
    assert_eq!(get("70", "final"), ("reussi".into(), Some(true), Some(70.0)));
    assert_eq!(
        get("NR", "1"),
        ("non_evalue".into(), None, None),
        "a legend code without a pass/fail flag is not evaluated"
    );
    assert_eq!(get("", "2"), ("vide".into(), None, None));
    assert_eq!(
        get("78,5", "3"),
        ("reussi".into(), Some(true), Some(78.5)),
        "decimal comma"
    );
    assert_eq!(get("69.99", "final"), ("echec".into(), Some(false), Some(69.99)));
    assert_eq!(get("ABS", "1").0, "absent");
    assert_eq!(get("ex", "2").0, "exempte");
    assert_eq!(get("NE", "3").0, "non_evalue");
    assert_eq!(get("*", "final").0, "non_applicable");
    // Unknown codes (ZZ, and B which is not a code of legend LET) and 150 are quarantined with
    // their column; the blank final of the same row still loads.
    let q = quarantined(&n, "resultat");
    assert!(
        q.contains(&(
            "res_etape_01".into(),
            "unknown_result_code".into(),
            "unknown result code 'ZZ' (not a code of legend LET, not a number, not a special value)".into()
        )),
        "{q:?}"
    );
    assert!(
        q.iter().any(|x| x.0 == "res_etape_02" && x.1 == "unknown_result_code"),
        "{q:?}"
    );
    assert!(
        q.iter().any(|x| x.0 == "res_etape_03" && x.1 == "out_of_domain"),
        "{q:?}"
    );
    assert_eq!(q.len(), 3);
    assert_eq!(r.len(), 13);
    assert_eq!(n.quality.entites["resultat"].quarantaine["unknown_result_code"], 2);
    // Canonical étapes and school year.
    let b = &n.tables["resultat"];
    assert!(
        strings(b, "annee_scolaire")
            .iter()
            .all(|y| y.as_deref() == Some("2024-2025"))
    );
    let etapes: std::collections::BTreeSet<_> = strings(b, "etape").into_iter().flatten().collect();
    assert_eq!(etapes.into_iter().collect::<Vec<_>>(), ["1", "2", "3", "final"]);
}

#[tokio::test]
async fn a_css_profile_maps_its_own_codes_and_a_css_without_one_uses_the_defaults() {
    // 866000 writes AB for absent and FR-4 for FRA400 (schemas/css/866000.yaml).
    let rows = ["2;1;10;FR-4;R1;1;AB;;;;0", "3;2;10;XYZ9;01;1;80;;;;0"];
    let n = load("866000", "866032", &rows).await;
    let r = results(&n);
    assert_eq!(r[&("AB".to_string(), "1".to_string())].0, "absent");
    let b = &n.tables["resultat"];
    let codes = strings(b, "code_cours");
    let local = column::<BooleanArray>(b, "cours_local");
    let reprise = column::<BooleanArray>(b, "reprise");
    assert!(codes.contains(&Some("FRA400".into())), "{codes:?}");
    assert!(
        codes.contains(&Some("XYZ9".into())),
        "an unmapped code is kept as is: {codes:?}"
    );
    let flagged: Vec<bool> = local.iter().flat_map(|a| a.iter().map(|v| v.unwrap())).collect();
    assert_eq!(
        flagged.iter().filter(|f| **f).count(),
        4,
        "the 4 étapes of XYZ9 are flagged local"
    );
    assert!(
        reprise
            .iter()
            .flat_map(|a| a.iter())
            .filter(|v| *v == Some(true))
            .count()
            == 4,
        "group R1 is a retake"
    );
    assert_eq!(n.quality.anomaly("gpi", "cours_locaux_sans_correspondance"), 1);

    // The same export under a CSS with no profile: AB is unknown, FR-4 stays local.
    let n = load("751000", "751006", &["2;1;10;FR-4;R1;1;AB;;;;0"]).await;
    assert!(quarantined(&n, "resultat").iter().any(|q| q.1 == "unknown_result_code"));
    assert!(strings(&n.tables["cours"], "code_cours").contains(&Some("FR-4".into())));
}

#[tokio::test]
async fn establishments_are_checked_against_the_ministry_registry() {
    // 881009 is a real establishment, but of another CSS: the school and all its rows are
    // quarantined, nothing is published for it.
    let n = load("866000", "881009", &["1;1;10;132108;01;1;A;;;;8"]).await;
    let q = quarantined(&n, "etablissement");
    assert_eq!(q.len(), 1);
    assert_eq!(q[0].1, "unknown_establishment");
    assert!(q[0].2.contains("881009"));
    assert_eq!(n.tables["etablissement"].iter().map(|b| b.num_rows()).sum::<usize>(), 0);
    assert_eq!(n.tables["resultat"].iter().map(|b| b.num_rows()).sum::<usize>(), 0);
    assert!(quarantined(&n, "resultat").iter().all(|q| q.1 == "unknown_school"));
    assert!(quarantined(&n, "inscription").iter().all(|q| q.1 == "unknown_school"));
}

#[tokio::test]
async fn students_get_the_keyed_pseudonym_or_a_flagged_local_key() {
    let n = load("751000", "751006", &[]).await;
    let pseudo = Pseudonymiser::new(&[7u8; 32], KeySource::Environment).unwrap();
    let b = &n.tables["eleve"];
    let keys = strings(b, "cle_eleve");
    let local: Vec<bool> = column::<BooleanArray>(b, "cle_locale")
        .iter()
        .flat_map(|a| a.iter().map(|v| v.unwrap()))
        .collect();
    assert_eq!(keys[0].as_deref(), Some(pseudo.student_key("TREM12345678").as_str()));
    assert!(!local[0]);
    assert_eq!(
        keys[1].as_deref(),
        Some(pseudo.local_key("751000", "2").as_str()),
        "malformed code permanent"
    );
    assert!(local[1]);
    assert_eq!(n.quality.anomaly("gpi", "cles_locales"), 1);
    // Enrolments and absences carry the same key; absence categories come from cpt_abs.
    assert_eq!(strings(&n.tables["inscription"], "cle_eleve")[0], keys[0]);
    let cats = strings(&n.tables["absence"], "categorie");
    assert_eq!(
        cats,
        vec![Some("motivee".to_string()), Some("retard".to_string()), None]
    );
    // A reason code unknown to the school's table (ZZZ) is not quarantined: losing the absence
    // would undercount absenteeism. It is kept without a category (the marts count it in
    // nb_periodes_sans_categorie) and reported in the quality report.
    assert!(quarantined(&n, "absence").is_empty());
    assert_eq!(
        strings(&n.tables["absence"], "motif_absence")[2].as_deref(),
        Some("ZZZ")
    );
    assert_eq!(n.quality.anomaly("gpi", "motifs_absence_inconnus"), 1);
    // EHDAA and the étape of calendar days.
    let ehdaa: Vec<bool> = column::<BooleanArray>(&n.tables["inscription"], "ehdaa")
        .iter()
        .flat_map(|a| a.iter().map(|v| v.unwrap()))
        .collect();
    assert_eq!(ehdaa, vec![true, false]);
    let cal_etape = strings(&n.tables["calendrier"], "etape");
    assert_eq!(cal_etape, vec![Some("1".to_string()), Some("1".to_string())]);
}
