//! The rule of JADE facts about another CSS's establishment (`schemas/entities/
//! resultat_ministere.yaml` and `sanction.yaml`): a ministry result or diploma is a fact about the
//! student wherever it was earned, so a copy received by CSS 751000 that names an establishment of
//! another CSS in the ministry registry is loaded as it is (and counted in the quality report's
//! anomalies); only an establishment missing from the registry is quarantined.

use datafusion::arrow::array::{Array, RecordBatch, StringArray};
use socle_connect::ReadOptions;
use socle_core::{KeySource, Pseudonymiser, Registry};
use socle_dictionary::Dictionary;
use socle_transform::{NormaliseContext, normalise};
use std::collections::BTreeSet;
use std::path::Path;

const CSS: &str = "751000";

fn write(dir: &Path, name: &str, lines: &[&str]) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join(name), lines.join("\n") + "\n").unwrap();
}

/// Values of a text column of an entity's batches, row by row.
fn texts(batches: &[RecordBatch], name: &str) -> Vec<Option<String>> {
    batches
        .iter()
        .flat_map(|b| {
            let a = b
                .column_by_name(name)
                .unwrap_or_else(|| panic!("no column {name}"))
                .as_any()
                .downcast_ref::<StringArray>()
                .unwrap()
                .clone();
            (0..a.len())
                .map(|i| a.is_valid(i).then(|| a.value(i).to_string()))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// 751000 receives results and diplomas of three students: TREM at its own school 751006,
/// GAGN at 866057 (École Massey-Vanier, CSS 866000) and 881009 (École primaire de Portneuf,
/// CSS 881000), ROYM at 999999 (no such establishment in the registry).
#[tokio::test]
async fn results_and_diplomas_about_another_css_establishment_are_loaded_and_flagged() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("jade");
    write(&dir, "e_ele.csv", &["fiche;codeperm;nom;pnom;datenaiss;sexe"]);
    write(&dir, "t_ecocen.csv", &["ecocen;ecooff;descr"]);
    write(
        &dir,
        "e_freq.csv",
        &["fiche;annee;ecocen;prog;datedeb;org;serviceenseign;typefreq;datefin;motifdep"],
    );
    write(
        &dir,
        "e_ri_resultats.csv",
        &[
            "codeperm;fiche;ecocenoff;matcharl;annee;moissanct;resecobrute;resecomod;resoffbrute;resofffinal;indreuscharl;nbunitecharl;typeformcharl;secteurenseignfreq;datehrerecup",
            "TREM12345678;;751006;132406;2024;6;80;78;70;72;R;6;FG;JE;2025-07-10 09:00:00",
            "GAGN19031999;;866057;063414;2024;6;75;74;70;72;R;4;FG;JE;2025-07-10 09:00:00",
            "GAGN19031999;;881009;132406;2024;6;65;66;60;63;R;6;FG;JE;2025-07-10 09:00:00",
            "ROYM01020304;;999999;132406;2024;6;65;66;60;63;R;6;FG;JE;2025-07-10 09:00:00",
        ],
    );
    write(
        &dir,
        "e_ri_mentions.csv",
        &[
            "codeperm;fiche;ecocenoff;progcharl;typediplomecharl;indreussanctcharl;dateobtmention",
            "TREM12345678;;751006;DES;DES;O;2025-07-05",
            "GAGN19031999;;866057;DES;DES;O;2025-07-05",
            "ROYM01020304;;999999;DES;DES;O;2025-07-05",
        ],
    );
    let dict = Dictionary::load(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas")).unwrap();
    let extract = socle_connect::read_delimited(&dir, dict.source("jade").unwrap(), &ReadOptions::default())
        .await
        .unwrap();
    assert!(extract.rejects.is_empty(), "{:?}", extract.rejects);
    let registry = Registry::embedded().unwrap();
    let pseudo = Pseudonymiser::new(&[7u8; 32], KeySource::Environment).unwrap();
    let cx = NormaliseContext {
        code_css: CSS,
        dictionary: &dict,
        registry: &registry,
        pseudonymiser: &pseudo,
    };
    let n = normalise(&cx, vec![extract]).await.unwrap();

    // Results: the three of real establishments are loaded, in the receiving CSS, with the
    // establishment they name; the shared key is the student's, as for any result.
    let rm = &n.tables["resultat_ministere"];
    let mut loaded: Vec<(String, String, String, String)> = texts(rm, "code_css")
        .into_iter()
        .zip(texts(rm, "code_etablissement"))
        .zip(texts(rm, "code_cours"))
        .zip(texts(rm, "cle_eleve"))
        .map(|(((css, etab), cours), cle)| (css.unwrap(), etab.unwrap(), cours.unwrap(), cle.unwrap()))
        .collect();
    loaded.sort();
    let gagn = pseudo.student_key("GAGN19031999");
    let trem = pseudo.student_key("TREM12345678");
    assert_eq!(
        loaded,
        [
            (CSS.into(), "751006".into(), "132406".into(), trem.clone()),
            (CSS.into(), "866057".into(), "063414".into(), gagn.clone()),
            (CSS.into(), "881009".into(), "132406".into(), gagn.clone()),
        ]
    );
    // Diplomas: the same.
    let s = &n.tables["sanction"];
    let mut diplomas: Vec<(String, String)> = texts(s, "code_etablissement")
        .into_iter()
        .zip(texts(s, "cle_eleve"))
        .map(|(e, k)| (e.unwrap(), k.unwrap()))
        .collect();
    diplomas.sort();
    let mut expected = vec![("751006".to_string(), trem), ("866057".to_string(), gagn)];
    expected.sort();
    assert_eq!(diplomas, expected);
    assert_eq!(texts(s, "code_css"), vec![Some(CSS.to_string()); 2]);

    // Flagged in the quality report.
    assert_eq!(n.quality.anomaly("jade", "resultats_ministere_autre_css"), 2);
    assert_eq!(n.quality.anomaly("jade", "sanctions_autre_css"), 1);

    // Only the establishment missing from the registry is quarantined, with its column.
    let mut q = BTreeSet::new();
    for b in &n.quarantine {
        let (entite, colonne, raison, message) = (
            texts(std::slice::from_ref(b), "entite"),
            texts(std::slice::from_ref(b), "colonne"),
            texts(std::slice::from_ref(b), "raison"),
            texts(std::slice::from_ref(b), "message"),
        );
        for i in 0..entite.len() {
            q.insert((
                entite[i].clone().unwrap_or_default(),
                colonne[i].clone().unwrap_or_default(),
                raison[i].clone().unwrap_or_default(),
                message[i].clone().unwrap_or_default(),
            ));
        }
    }
    let expected: BTreeSet<(String, String, String, String)> = ["resultat_ministere", "sanction"]
        .into_iter()
        .map(|e| {
            (
                e.to_string(),
                "ecocenoff".to_string(),
                "unknown_establishment".to_string(),
                "establishment 999999 is not in the ministry registry".to_string(),
            )
        })
        .collect();
    assert_eq!(q, expected);
}
