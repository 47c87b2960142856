//! What varies from one export to the next: every variation must load.

mod common;

use common::*;
use datafusion::arrow::datatypes::DataType;
use sha2::{Digest, Sha256};

#[tokio::test]
async fn a_full_folder_loads_every_table_typed_with_lineage() {
    let dir = folder();
    let x = read(dir.path()).await;
    assert!(x.rejects.is_empty(), "{:#?}", x.rejects);
    assert_eq!(x.system, "mozaik");
    assert_eq!(x.tables.len(), 9);
    // One entry per table: legendes.jsonl is read by two tables.
    assert_eq!(x.files.len(), 9);
    let tables: Vec<&str> = x.files.iter().map(|f| f.table.as_str()).collect();
    assert_eq!(
        tables,
        [
            "eleves",
            "etablissements",
            "cours",
            "frequentations",
            "resultats",
            "legendes",
            "legendes_codes",
            "absences",
            "calendrier"
        ]
    );
    for t in x.tables.values() {
        let expected = if t.name == "legendes_codes" { 3 } else { 1 };
        assert_eq!((t.rows_read, t.rows_loaded), (expected, expected), "{}", t.name);
    }

    let schema = &x.tables["eleves"].schema;
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    assert_eq!(
        names,
        [
            "eleve_id",
            "code_permanent",
            "nom",
            "prenom",
            "genre",
            "date_naissance",
            "_file",
            "_line"
        ]
    );
    let types: Vec<&DataType> = schema.fields().iter().map(|f| f.data_type()).collect();
    assert_eq!(
        types,
        [
            &DataType::Int64,
            &DataType::Utf8,
            &DataType::Utf8,
            &DataType::Utf8,
            &DataType::Utf8,
            &DataType::Date32,
            &DataType::Utf8,
            &DataType::Int64
        ]
    );
    assert_eq!(
        x.tables["legendes_codes"].schema.field(4).data_type(),
        &DataType::Boolean
    );
    assert_eq!(x.tables["legendes"].schema.field(2).data_type(), &DataType::Float64);

    assert_eq!(col(&x, "eleves", "eleve_id"), vec![s("1")]);
    assert_eq!(col(&x, "eleves", "prenom"), vec![s("Émilie")]);
    assert_eq!(col(&x, "eleves", "date_naissance"), vec![s("2010-05-03")]);
    assert_eq!(col(&x, "eleves", "_file"), vec![s("eleves.jsonl")]);
    assert_eq!(col(&x, "eleves", "_line"), vec![s("1")]);
    assert_eq!(col(&x, "etablissements", "fictif"), vec![s("false")]);
    assert_eq!(col(&x, "frequentations", "date_fin"), vec![None]);
    assert_eq!(col(&x, "frequentations", "active"), vec![s("true")]);
    assert_eq!(col(&x, "resultats", "unites_obtenues"), vec![None]);
    assert_eq!(col(&x, "calendrier", "nb_periodes"), vec![s("5")]);

    let info = x.files.iter().find(|f| f.table == "eleves").expect("file info");
    let bytes = format!("{ELEVES}\n");
    assert_eq!(info.encoding, "utf-8");
    assert_eq!(info.delimiter, '\n');
    assert_eq!(info.rows_read, 1);
    assert_eq!(info.bytes, bytes.len() as u64);
    assert_eq!(info.sha256, hex::encode(Sha256::digest(bytes.as_bytes())));
    assert_eq!(info.path, dir.path().join("eleves.jsonl"));
    let leg: Vec<_> = x.files.iter().filter(|f| f.path.ends_with("legendes.jsonl")).collect();
    assert_eq!(leg.len(), 2);
    assert_eq!(leg[0].sha256, leg[1].sha256);
    assert_eq!((leg[0].rows_read, leg[1].rows_read), (1, 3));
}

#[tokio::test]
async fn bom_and_crlf() {
    let dir = folder();
    let text = format!(
        "\u{feff}{ELEVES}\r\n{}\r\n",
        r#"{"eleve_id": 2, "code_permanent": "GAGN05060708", "nom": "Gagnon", "prenom": "Luc", "genre": "M", "date_naissance": "2011-12-31"}"#
    );
    write(dir.path(), "eleves.jsonl", text.as_bytes());
    let x = read(dir.path()).await;
    assert!(x.rejects.is_empty(), "{:#?}", x.rejects);
    assert_eq!(col(&x, "eleves", "eleve_id"), vec![s("1"), s("2")]);
    // The last field of a CRLF line has no `\r`.
    assert_eq!(
        col(&x, "eleves", "date_naissance"),
        vec![s("2010-05-03"), s("2011-12-31")]
    );
    assert_eq!(col(&x, "eleves", "_line"), vec![s("1"), s("2")]);
    let info = x.files.iter().find(|f| f.table == "eleves").expect("info");
    assert_eq!(info.bytes, text.len() as u64);
    assert_eq!(info.sha256, hex::encode(Sha256::digest(text.as_bytes())));
    // A last line without a final line break is fine when it is complete.
    write(dir.path(), "eleves.jsonl", format!("\u{feff}{ELEVES}").as_bytes());
    let x = read(dir.path()).await;
    assert!(x.rejects.is_empty(), "{:#?}", x.rejects);
    assert_eq!(col(&x, "eleves", "eleve_id"), vec![s("1")]);
}

#[tokio::test]
async fn keys_in_any_order_and_unknown_keys_ignored() {
    let dir = folder();
    write(
        dir.path(),
        "cours.jsonl",
        lines(&[
            r#"{"unites": 4, "code_cours": "FRA406", "etablissement_id": 10, "description": "Français"}"#,
            r#"{"_meta": {"source": "api", "tags": [1, {"x": null}]}, "description": "Anglais", "id": "c-3", "code_cours": "ANG404", "etablissement_id": 11, "unites": "4", "version": 3}"#,
        ])
        .as_bytes(),
    );
    let x = read(dir.path()).await;
    assert!(x.rejects.is_empty(), "{:#?}", x.rejects);
    assert_eq!(col(&x, "cours", "code_cours"), vec![s("FRA406"), s("ANG404")]);
    assert_eq!(col(&x, "cours", "etablissement_id"), vec![s("10"), s("11")]);
    assert_eq!(col(&x, "cours", "description"), vec![s("Français"), s("Anglais")]);
    assert_eq!(col(&x, "cours", "unites"), vec![s("4"), s("4")]);
}

#[tokio::test]
async fn numbers_and_booleans_as_json_values_or_strings() {
    let dir = folder();
    write(
        dir.path(),
        "legendes.jsonl",
        lines(&[
            r#"{"etablissement_id": 10, "legende": "NUM", "seuil_reussite": 60, "codes": []}"#,
            r#"{"etablissement_id": "11", "legende": "P1", "seuil_reussite": "62.5", "codes": [{"code": "A", "note_equivalente": "95", "reussite": "true"}]}"#,
            r#"{"etablissement_id": 12, "legende": "P2", "seuil_reussite": "62,5", "codes": [{"code": "B", "note_equivalente": 72.5, "reussite": false}]}"#,
            r#"{"etablissement_id": 13, "legende": "P3", "seuil_reussite": 57.25, "codes": [{"code": "063414", "note_equivalente": 0, "reussite": 1}]}"#,
        ])
        .as_bytes(),
    );
    write(
        dir.path(),
        "etablissements.jsonl",
        lines(&[
            r#"{"etablissement_id": 10, "code_organisme": "066012", "nom": "A", "annee_scolaire": "2024-2025", "fictif": true}"#,
            r#"{"etablissement_id": "11", "code_organisme": "866013", "nom": "B", "annee_scolaire": "2024-2025", "fictif": "false"}"#,
        ])
        .as_bytes(),
    );
    let x = read(dir.path()).await;
    assert!(x.rejects.is_empty(), "{:#?}", x.rejects);
    assert_eq!(
        col(&x, "legendes", "etablissement_id"),
        vec![s("10"), s("11"), s("12"), s("13")]
    );
    assert_eq!(
        col(&x, "legendes", "seuil_reussite"),
        vec![s("60.0"), s("62.5"), s("62.5"), s("57.25")]
    );
    assert_eq!(col(&x, "legendes_codes", "code"), vec![s("A"), s("B"), s("063414")]);
    assert_eq!(
        col(&x, "legendes_codes", "note_equivalente"),
        vec![s("95.0"), s("72.5"), s("0.0")]
    );
    assert_eq!(
        col(&x, "legendes_codes", "reussite"),
        vec![s("true"), s("false"), s("true")]
    );
    // Codes keep their leading zeros.
    assert_eq!(
        col(&x, "etablissements", "code_organisme"),
        vec![s("066012"), s("866013")]
    );
    assert_eq!(col(&x, "etablissements", "fictif"), vec![s("true"), s("false")]);
}

#[tokio::test]
async fn null_and_absent_keys_are_empty_values() {
    let dir = folder();
    write(
        dir.path(),
        "frequentations.jsonl",
        lines(&[
            FREQUENTATIONS,
            // The nullable keys absent; date_fin and motif_depart given.
            r#"{"eleve_id": 2, "etablissement_id": 10, "annee_scolaire": "2024-2025", "ordre_enseignement": "primaire", "niveau": 6, "plan_intervention": true, "date_debut": "2024-08-28", "active": false, "date_fin": "2025-01-31", "motif_depart": "DEM"}"#,
        ])
        .as_bytes(),
    );
    // Keys that may be left out of every line (`required: false`): unites_obtenues.
    write(
        dir.path(),
        "resultats.jsonl",
        lines(&[r#"{"eleve_id": 1, "etablissement_id": 10, "annee_scolaire": "2024-2025", "code_cours": "MAT406", "groupe": "01", "etape": "sommaire", "resultat": null, "legende": null, "reprise": true, "etat": "termine"}"#]).as_bytes(),
    );
    let x = read(dir.path()).await;
    assert!(x.rejects.is_empty(), "{:#?}", x.rejects);
    assert_eq!(col(&x, "frequentations", "groupe_repere"), vec![s("401"), None]);
    assert_eq!(col(&x, "frequentations", "code_difficulte"), vec![None, None]);
    assert_eq!(col(&x, "frequentations", "date_fin"), vec![None, s("2025-01-31")]);
    assert_eq!(col(&x, "frequentations", "motif_depart"), vec![None, s("DEM")]);
    assert_eq!(col(&x, "resultats", "unites_obtenues"), vec![None]);
    assert_eq!(col(&x, "resultats", "resultat"), vec![None]);
    assert_eq!(col(&x, "resultats", "etape"), vec![s("sommaire")]);
}

#[tokio::test]
async fn nested_codes_with_null_reussite_inherit_the_legend() {
    let dir = folder();
    write(
        dir.path(),
        "legendes.jsonl",
        lines(&[
            LEGENDES,
            r#"{"etablissement_id": 11, "legende": "VIDE", "seuil_reussite": null, "codes": []}"#,
            r#"{"etablissement_id": 11, "legende": "NULLE", "seuil_reussite": 50, "codes": null}"#,
            r#"{"etablissement_id": 11, "legende": "SANS", "seuil_reussite": 50}"#,
            "",
            r#"{"codes": [{"reussite": null, "code": "NR"}, {"code": "R", "reussite": true, "note_equivalente": 60, "commentaire": "réussi"}], "legende": "RNR", "etablissement_id": 12}"#,
        ])
        .as_bytes(),
    );
    let x = read(dir.path()).await;
    assert!(x.rejects.is_empty(), "{:#?}", x.rejects);
    assert_eq!(
        col(&x, "legendes", "legende"),
        vec![s("LET"), s("VIDE"), s("NULLE"), s("SANS"), s("RNR")]
    );
    assert_eq!(col(&x, "legendes", "seuil_reussite")[1], None);
    assert_eq!(
        col(&x, "legendes_codes", "code"),
        vec![s("A"), s("E"), s("ABS"), s("NR"), s("R")]
    );
    assert_eq!(
        col(&x, "legendes_codes", "legende"),
        vec![s("LET"), s("LET"), s("LET"), s("RNR"), s("RNR")]
    );
    assert_eq!(
        col(&x, "legendes_codes", "etablissement_id"),
        vec![s("10"), s("10"), s("10"), s("12"), s("12")]
    );
    assert_eq!(
        col(&x, "legendes_codes", "reussite"),
        vec![s("true"), s("false"), None, None, s("true")]
    );
    assert_eq!(
        col(&x, "legendes_codes", "note_equivalente"),
        vec![s("90.0"), s("40.0"), None, None, s("60.0")]
    );
    // Each code keeps its legend's physical line (line 5 is blank).
    assert_eq!(
        col(&x, "legendes_codes", "_line"),
        vec![s("1"), s("1"), s("1"), s("6"), s("6")]
    );
    let t = &x.tables["legendes_codes"];
    assert_eq!((t.rows_read, t.rows_loaded), (5, 5));
    let t = &x.tables["legendes"];
    assert_eq!((t.rows_read, t.rows_loaded), (5, 5));
}

#[tokio::test]
async fn unicode_names_and_escapes() {
    let dir = folder();
    write(
        dir.path(),
        "eleves.jsonl",
        lines(&[
            r#"{"eleve_id": 1, "code_permanent": "COTE01020304", "nom": "Côté-Lévesque", "prenom": "Zoé", "genre": "F", "date_naissance": "2010-05-03"}"#,
            r#"{"eleve_id": 2, "code_permanent": "NGUY05060708", "nom": "Nguyễn", "prenom": "\u00c9milie \"Mimi\"", "genre": "X", "date_naissance": null}"#,
            r#"{"eleve_id": 3, "code_permanent": null, "nom": "O'Brien 🙂", "prenom": "Ñandú\tAnn", "genre": null, "date_naissance": "2012-02-29"}"#,
        ])
        .as_bytes(),
    );
    let x = read(dir.path()).await;
    assert!(x.rejects.is_empty(), "{:#?}", x.rejects);
    assert_eq!(
        col(&x, "eleves", "nom"),
        vec![s("Côté-Lévesque"), s("Nguyễn"), s("O'Brien 🙂")]
    );
    assert_eq!(
        col(&x, "eleves", "prenom"),
        vec![s("Zoé"), s("Émilie \"Mimi\""), s("Ñandú\tAnn")]
    );
    assert_eq!(
        col(&x, "eleves", "code_permanent"),
        vec![s("COTE01020304"), s("NGUY05060708"), None]
    );
}

#[tokio::test]
async fn blank_lines_are_skipped_and_lines_stay_physical() {
    let dir = folder();
    let text = format!(
        "\n{ABSENCES}\n   \n\r\n{}\n\n",
        ABSENCES.replace("\"periode\": 2", "\"periode\": 3")
    );
    write(dir.path(), "absences.jsonl", text.as_bytes());
    let x = read(dir.path()).await;
    assert!(x.rejects.is_empty(), "{:#?}", x.rejects);
    assert_eq!(col(&x, "absences", "periode"), vec![s("2"), s("3")]);
    assert_eq!(col(&x, "absences", "_line"), vec![s("2"), s("5")]);
    assert_eq!(x.tables["absences"].rows_read, 2);
}

#[tokio::test]
async fn repeated_enrolments_are_kept() {
    let dir = folder();
    write(
        dir.path(),
        "frequentations.jsonl",
        lines(&[FREQUENTATIONS, FREQUENTATIONS]).as_bytes(),
    );
    let x = read(dir.path()).await;
    assert!(x.rejects.is_empty(), "{:#?}", x.rejects);
    assert_eq!(col(&x, "frequentations", "_line"), vec![s("1"), s("2")]);
}

#[tokio::test]
async fn many_batches_give_the_same_rows() {
    let dir = folder();
    let mut text = String::new();
    let mut leg = String::new();
    for i in 1..=25 {
        text.push_str(&format!(
            r#"{{"eleve_id": {i}, "etablissement_id": 10, "date": "2024-10-01", "periode": {p}, "motif": null, "categorie": "retard"}}"#,
            p = i % 9
        ));
        text.push('\n');
        leg.push_str(&format!(
            r#"{{"etablissement_id": 10, "legende": "L{i}", "seuil_reussite": 60, "codes": [{{"code": "A", "note_equivalente": 90}}, {{"code": "B", "note_equivalente": null}}]}}"#
        ));
        leg.push('\n');
    }
    write(dir.path(), "absences.jsonl", text.as_bytes());
    write(dir.path(), "legendes.jsonl", leg.as_bytes());
    for batch_size in [1, 3, 7, 25, 1000] {
        let x = try_read_with(dir.path(), batch_size).await.expect("read");
        assert!(x.rejects.is_empty(), "{:#?}", x.rejects);
        let lines: Vec<_> = (1..=25).map(|i| s(&i.to_string())).collect();
        assert_eq!(col(&x, "absences", "eleve_id"), lines, "batch size {batch_size}");
        assert_eq!(col(&x, "absences", "_line"), lines, "batch size {batch_size}");
        assert_eq!(col(&x, "legendes_codes", "code").len(), 50);
        assert_eq!(x.tables["legendes_codes"].rows_loaded, 50);
    }
}
