//! Bad input the connector must survive: each bad line is reported with file, line, column and
//! reason, and the rest of the file and of the night still loads; a missing file or a required
//! key found in no line fails the whole source. No message carries a code permanent, a name or a
//! birth date.

mod common;

use common::*;
use socle_connect_mozaik::{ConnectError, RejectKind};

const GOOD_2: &str = r#"{"eleve_id": 2, "code_permanent": "GAGN05060708", "nom": "Gagnon", "prenom": "Luc", "genre": "M", "date_naissance": "2011-12-31"}"#;
const GOOD_3: &str = r#"{"eleve_id": 3, "code_permanent": "ROYL09101112", "nom": "Roy", "prenom": "Léa", "genre": "F", "date_naissance": "2012-01-15"}"#;

/// The personal values of the test lines.
const PERSONAL: [&str; 12] = [
    "TREM01020304",
    "Tremblay",
    "Émilie",
    "2010-05-03",
    "GAGN05060708",
    "Gagnon",
    "2011-12-31",
    "ROYL09101112",
    "Roy",
    "Léa",
    "BOUC11223344",
    "Bouchard",
];

#[tokio::test]
async fn malformed_json_line() {
    let dir = folder();
    let bad = r#"{"eleve_id": 4, "code_permanent": "BOUC11223344", "nom": "Bouchard" "prenom": "Zoé"}"#;
    write(
        dir.path(),
        "eleves.jsonl",
        lines(&[ELEVES, bad, GOOD_2, "nom=Bouchard;prenom=Zoé", GOOD_3]).as_bytes(),
    );
    let x = read(dir.path()).await;
    let r = rejects(&x, "eleves");
    assert_eq!(r.len(), 2, "{r:#?}");
    for (reject, line) in r.iter().zip([2, 4]) {
        assert_eq!(
            (reject.file.as_str(), reject.line, reject.column.as_deref(), reject.kind),
            ("eleves.jsonl", line, None, RejectKind::MalformedJson),
            "{reject:#?}"
        );
        assert!(reject.message.contains("not valid JSON"), "{}", reject.message);
    }
    assert!(r[0].message.contains("character 69"), "{}", r[0].message);
    assert_eq!(r[0].raw, bad);
    assert_eq!(col(&x, "eleves", "eleve_id"), vec![s("1"), s("2"), s("3")]);
    assert_eq!(col(&x, "eleves", "_line"), vec![s("1"), s("3"), s("5")]);
    let t = &x.tables["eleves"];
    assert_eq!((t.rows_read, t.rows_loaded), (5, 3));
    only_rejects_in(&x, &["eleves"]);
    no_message_holds(&x, &PERSONAL);
}

#[tokio::test]
async fn a_line_that_is_json_but_not_an_object() {
    let dir = folder();
    write(
        dir.path(),
        "eleves.jsonl",
        lines(&[
            ELEVES,
            r#"[4, "BOUC11223344", "Bouchard"]"#,
            r#""Bouchard""#,
            "null",
            "42",
            GOOD_2,
        ])
        .as_bytes(),
    );
    let x = read(dir.path()).await;
    let r = rejects(&x, "eleves");
    let got: Vec<_> = r.iter().map(|r| (r.line, r.column.clone(), r.kind)).collect();
    assert_eq!(got, [2, 3, 4, 5].map(|l| (l, None, RejectKind::MalformedJson)).to_vec());
    assert!(r[0].message.contains("a JSON array, not an object"), "{}", r[0].message);
    assert!(
        r[1].message.contains("a JSON string, not an object"),
        "{}",
        r[1].message
    );
    assert_eq!(col(&x, "eleves", "eleve_id"), vec![s("1"), s("2")]);
    no_message_holds(&x, &PERSONAL);
}

#[tokio::test]
async fn a_key_of_the_wrong_json_shape() {
    let dir = folder();
    write(
        dir.path(),
        "eleves.jsonl",
        lines(&[
            ELEVES,
            r#"{"eleve_id": 4, "code_permanent": "BOUC11223344", "nom": {"famille": "Bouchard"}, "prenom": "Zoé", "genre": "F", "date_naissance": "2010-01-01"}"#,
            GOOD_2,
            r#"{"eleve_id": [5], "code_permanent": "BOUC11223344", "nom": "Bouchard", "prenom": "Zoé", "genre": "F", "date_naissance": "2010-01-01"}"#,
            GOOD_3,
        ])
        .as_bytes(),
    );
    let x = read(dir.path()).await;
    let r = rejects(&x, "eleves");
    let got: Vec<_> = r.iter().map(|r| (r.line, r.column.as_deref(), r.kind)).collect();
    assert_eq!(
        got,
        [
            (2, Some("nom"), RejectKind::MalformedJson),
            (4, Some("eleve_id"), RejectKind::MalformedJson)
        ]
    );
    assert!(r[0].message.contains("column nom: a JSON object"), "{}", r[0].message);
    assert!(
        r[1].message.contains("column eleve_id: a JSON array"),
        "{}",
        r[1].message
    );
    assert!(r[0].raw.contains("\"famille\""), "{}", r[0].raw);
    assert_eq!(col(&x, "eleves", "eleve_id"), vec![s("1"), s("2"), s("3")]);
    let t = &x.tables["eleves"];
    assert_eq!((t.rows_read, t.rows_loaded), (5, 3));
    no_message_holds(&x, &PERSONAL);
}

#[tokio::test]
async fn codes_of_the_wrong_shape_reject_only_the_codes() {
    let dir = folder();
    write(
        dir.path(),
        "legendes.jsonl",
        lines(&[
            LEGENDES,
            r#"{"etablissement_id": 11, "legende": "X", "seuil_reussite": 60, "codes": "A,B"}"#,
            r#"{"etablissement_id": 11, "legende": "Y", "seuil_reussite": 60, "codes": [{"code": "A", "note_equivalente": 90}, 3]}"#,
            r#"{"etablissement_id": 11, "legende": "Z", "seuil_reussite": 60, "codes": [{"code": "A", "note_equivalente": {"min": 90}}]}"#,
            r#"{"etablissement_id": 12, "legende": "OK", "seuil_reussite": 60, "codes": [{"code": "R", "note_equivalente": 60, "reussite": true}]}"#,
        ])
        .as_bytes(),
    );
    let x = read(dir.path()).await;
    // The legends themselves load: their own keys are fine.
    assert!(rejects(&x, "legendes").is_empty(), "{:#?}", x.rejects);
    assert_eq!(
        col(&x, "legendes", "legende"),
        vec![s("LET"), s("X"), s("Y"), s("Z"), s("OK")]
    );
    let r = rejects(&x, "legendes_codes");
    let got: Vec<_> = r
        .iter()
        .map(|r| (r.file.as_str(), r.line, r.column.as_deref(), r.kind))
        .collect();
    assert_eq!(
        got,
        [
            ("legendes.jsonl", 2, Some("codes"), RejectKind::MalformedJson),
            ("legendes.jsonl", 3, Some("codes"), RejectKind::MalformedJson),
            ("legendes.jsonl", 4, Some("note_equivalente"), RejectKind::MalformedJson),
        ]
    );
    assert!(
        r[0].message.contains("a JSON string where an array of objects"),
        "{}",
        r[0].message
    );
    assert!(r[1].message.contains("element 2 is a JSON number"), "{}", r[1].message);
    assert!(r[2].message.contains("element 1 of codes"), "{}", r[2].message);
    assert_eq!(
        col(&x, "legendes_codes", "code"),
        vec![s("A"), s("E"), s("ABS"), s("R")]
    );
    assert_eq!(col(&x, "legendes_codes", "_line"), vec![s("1"), s("1"), s("1"), s("5")]);
    let t = &x.tables["legendes_codes"];
    // 4 codes read, and 3 lines rejected whole.
    assert_eq!((t.rows_read, t.rows_loaded), (7, 4));
}

#[tokio::test]
async fn invalid_utf8() {
    let dir = folder();
    let mut text = format!("{ELEVES}\n").into_bytes();
    text.extend_from_slice(
        b"{\"eleve_id\": 4, \"code_permanent\": \"BOUC11223344\", \"nom\": \"C\xf4t\xe9\", \"prenom\": \"Zo\xe9\", \"genre\": \"F\", \"date_naissance\": \"2010-01-01\"}\n",
    );
    text.extend_from_slice(format!("{GOOD_2}\n").as_bytes());
    // Invalid bytes in a key the table does not read still make the line undecodable.
    text.extend_from_slice(
        b"{\"eleve_id\": 5, \"code_permanent\": null, \"nom\": \"A\", \"prenom\": \"B\", \"genre\": \"F\", \"date_naissance\": null, \"note\": \"\xff\"}\n",
    );
    write(dir.path(), "eleves.jsonl", &text);
    let x = read(dir.path()).await;
    let r = rejects(&x, "eleves");
    let got: Vec<_> = r.iter().map(|r| (r.line, r.column.as_deref(), r.kind)).collect();
    assert_eq!(
        got,
        [
            (2, Some("nom"), RejectKind::InvalidEncoding),
            (4, None, RejectKind::InvalidEncoding)
        ]
    );
    assert!(r[0].message.contains("not valid UTF-8"), "{}", r[0].message);
    assert!(r[1].message.contains("(in key note)"), "{}", r[1].message);
    assert!(r[0].raw.contains("BOUC11223344"), "raw keeps the line: {}", r[0].raw);
    assert_eq!(col(&x, "eleves", "eleve_id"), vec![s("1"), s("2")]);
    no_message_holds(&x, &PERSONAL);
    for reject in &r {
        assert!(!reject.message.contains('\u{fffd}'), "{}", reject.message);
    }
}

#[tokio::test]
async fn unparsable_dates() {
    let dir = folder();
    write(
        dir.path(),
        "absences.jsonl",
        lines(&[
            ABSENCES,
            r#"{"eleve_id": 1, "etablissement_id": 10, "date": "2024-02-30", "periode": 2, "motif": null, "categorie": "retard"}"#,
            r#"{"eleve_id": 1, "etablissement_id": 10, "date": "demain", "periode": 2, "motif": null, "categorie": "retard"}"#,
            r#"{"eleve_id": 1, "etablissement_id": 10, "date": "2024-10-02", "periode": 2, "motif": null, "categorie": "retard"}"#,
        ])
        .as_bytes(),
    );
    // A birth date is personal: its value is never shown.
    write(
        dir.path(),
        "eleves.jsonl",
        lines(&[
            ELEVES,
            r#"{"eleve_id": 4, "code_permanent": "BOUC11223344", "nom": "Bouchard", "prenom": "Zoé", "genre": "F", "date_naissance": "2010-13-45"}"#,
        ])
        .as_bytes(),
    );
    let x = read(dir.path()).await;
    let r = rejects(&x, "absences");
    let got: Vec<_> = r.iter().map(|r| (r.line, r.column.as_deref(), r.kind)).collect();
    assert_eq!(
        got,
        [
            (2, Some("date"), RejectKind::UnparsableDate),
            (3, Some("date"), RejectKind::UnparsableDate)
        ]
    );
    assert!(r[0].message.contains("\"2024-02-30\""), "{}", r[0].message);
    // `raw` is the line's text.
    assert!(
        r[0].raw.starts_with('{') && r[0].raw.contains("\"2024-02-30\""),
        "{}",
        r[0].raw
    );
    assert_eq!(col(&x, "absences", "date"), vec![s("2024-10-01"), s("2024-10-02")]);
    let e = assert_one(
        &x,
        "eleves",
        "eleves.jsonl",
        2,
        Some("date_naissance"),
        RejectKind::UnparsableDate,
    );
    assert!(!e.message.contains("2010-13-45"), "{}", e.message);
    assert!(e.message.contains("not shown"), "{}", e.message);
    assert!(e.raw.contains("2010-13-45"), "{}", e.raw);
    no_message_holds(&x, &PERSONAL);
}

#[tokio::test]
async fn unparsable_numbers() {
    let dir = folder();
    write(
        dir.path(),
        "absences.jsonl",
        lines(&[
            ABSENCES,
            r#"{"eleve_id": "12a", "etablissement_id": 10, "date": "2024-10-02", "periode": 2, "motif": null, "categorie": "retard"}"#,
            r#"{"eleve_id": 1, "etablissement_id": 10, "date": "2024-10-03", "periode": 2.5, "motif": null, "categorie": "retard"}"#,
            r#"{"eleve_id": 1, "etablissement_id": true, "date": "2024-10-04", "periode": 2, "motif": null, "categorie": "retard"}"#,
        ])
        .as_bytes(),
    );
    write(
        dir.path(),
        "legendes.jsonl",
        lines(&[
            LEGENDES,
            r#"{"etablissement_id": 11, "legende": "X", "seuil_reussite": "soixante", "codes": [{"code": "A", "note_equivalente": "9O"}]}"#,
        ])
        .as_bytes(),
    );
    let x = read(dir.path()).await;
    let r = rejects(&x, "absences");
    let got: Vec<_> = r.iter().map(|r| (r.line, r.column.as_deref(), r.kind)).collect();
    assert_eq!(
        got,
        [
            (2, Some("eleve_id"), RejectKind::UnparsableNumber),
            (3, Some("periode"), RejectKind::UnparsableNumber),
            (4, Some("etablissement_id"), RejectKind::UnparsableNumber)
        ]
    );
    assert!(r[0].message.contains("\"12a\" is not an integer"), "{}", r[0].message);
    assert!(r[2].message.contains("\"true\""), "{}", r[2].message);
    assert_eq!(col(&x, "absences", "date"), vec![s("2024-10-01")]);
    assert_one(
        &x,
        "legendes",
        "legendes.jsonl",
        2,
        Some("seuil_reussite"),
        RejectKind::UnparsableNumber,
    );
    let c = rejects(&x, "legendes_codes");
    assert_eq!(c.len(), 1, "{c:#?}");
    assert_eq!(
        (c[0].line, c[0].column.as_deref(), c[0].kind),
        (2, Some("note_equivalente"), RejectKind::UnparsableNumber)
    );
    assert_eq!(col(&x, "legendes_codes", "code"), vec![s("A"), s("E"), s("ABS")]);
}

#[tokio::test]
async fn out_of_domain() {
    let dir = folder();
    let line = |etape: &str, etat: &str, groupe: &str| {
        format!(
            r#"{{"eleve_id": 1, "etablissement_id": 10, "annee_scolaire": "2024-2025", "code_cours": "MAT406", "groupe": "{groupe}", "etape": {etape}, "resultat": "A", "legende": "LET", "reprise": false, "etat": "{etat}"}}"#
        )
    };
    write(
        dir.path(),
        "resultats.jsonl",
        lines(&[
            &line("\"1\"", "actif", "01"),
            &line("\"4\"", "actif", "02"),
            &line("\"sommaire\"", "x", "03"),
            &line("2", "termine", "04"),
            &line("\"final\"", "equivalence", "05"),
        ])
        .as_bytes(),
    );
    write(
        dir.path(),
        "etablissements.jsonl",
        lines(&[
            ETABLISSEMENTS,
            r#"{"etablissement_id": 11, "code_organisme": "86601", "nom": "B", "annee_scolaire": "2024-2025", "fictif": false}"#,
            r#"{"etablissement_id": 12, "code_organisme": "866014", "nom": "C", "annee_scolaire": "2024", "fictif": false}"#,
            r#"{"etablissement_id": 13, "code_organisme": "866015", "nom": "D", "annee_scolaire": "2024-2025", "fictif": "peut-être"}"#,
        ])
        .as_bytes(),
    );
    let x = read(dir.path()).await;
    let r = rejects(&x, "resultats");
    let got: Vec<_> = r.iter().map(|r| (r.line, r.column.as_deref(), r.kind)).collect();
    assert_eq!(
        got,
        [
            (2, Some("etape"), RejectKind::OutOfDomain),
            (3, Some("etat"), RejectKind::OutOfDomain),
            (5, Some("etape"), RejectKind::OutOfDomain)
        ]
    );
    assert!(
        r[0].message.contains("\"4\"") && r[0].message.contains("one of 1, 2, 3, sommaire"),
        "{}",
        r[0].message
    );
    assert!(r[1].message.contains("\"x\""), "{}", r[1].message);
    assert_eq!(col(&x, "resultats", "groupe"), vec![s("01"), s("04")]);
    assert_eq!(col(&x, "resultats", "etape"), vec![s("1"), s("2")]);
    let r = rejects(&x, "etablissements");
    let got: Vec<_> = r.iter().map(|r| (r.line, r.column.as_deref(), r.kind)).collect();
    assert_eq!(
        got,
        [
            (2, Some("code_organisme"), RejectKind::OutOfDomain),
            (3, Some("annee_scolaire"), RejectKind::OutOfDomain),
            (4, Some("fictif"), RejectKind::OutOfDomain)
        ]
    );
    assert!(r[2].message.contains("a boolean"), "{}", r[2].message);
}

#[tokio::test]
async fn missing_values() {
    let dir = folder();
    write(
        dir.path(),
        "calendrier.jsonl",
        lines(&[
            CALENDRIER,
            r#"{"etablissement_id": 10, "date": "2024-09-04", "jour_classe": null, "nb_periodes": 5}"#,
            r#"{"etablissement_id": 10, "date": "2024-09-05", "nb_periodes": 5}"#,
            r#"{"etablissement_id": 10, "date": "2024-09-06", "jour_classe": "  ", "nb_periodes": null}"#,
            r#"{"etablissement_id": 10, "date": "2024-09-07", "jour_classe": false}"#,
        ])
        .as_bytes(),
    );
    let x = read(dir.path()).await;
    let r = rejects(&x, "calendrier");
    let got: Vec<_> = r.iter().map(|r| (r.line, r.column.as_deref(), r.kind)).collect();
    assert_eq!(
        got,
        [2, 3, 4]
            .map(|l| (l, Some("jour_classe"), RejectKind::MissingValue))
            .to_vec()
    );
    assert_eq!(col(&x, "calendrier", "date"), vec![s("2024-09-03"), s("2024-09-07")]);
    assert_eq!(col(&x, "calendrier", "nb_periodes"), vec![s("5"), None]);
}

#[tokio::test]
async fn duplicate_keys() {
    let dir = folder();
    write(
        dir.path(),
        "eleves.jsonl",
        lines(&[
            ELEVES,
            GOOD_2,
            r#"{"eleve_id": "1", "code_permanent": "BOUC11223344", "nom": "Bouchard", "prenom": "Zoé", "genre": "F", "date_naissance": "2010-01-01"}"#,
        ])
        .as_bytes(),
    );
    write(
        dir.path(),
        "legendes.jsonl",
        lines(&[
            r#"{"etablissement_id": 10, "legende": "LET", "seuil_reussite": 60, "codes": [{"code": "A", "note_equivalente": 90}, {"code": "B", "note_equivalente": 80}, {"code": "A", "note_equivalente": 85}]}"#,
            r#"{"etablissement_id": 10, "legende": "LET", "seuil_reussite": 50, "codes": [{"code": "C", "note_equivalente": 70}]}"#,
        ])
        .as_bytes(),
    );
    let x = read(dir.path()).await;
    let e = assert_one(
        &x,
        "eleves",
        "eleves.jsonl",
        3,
        Some("eleve_id"),
        RejectKind::DuplicateKey,
    );
    assert!(e.message.contains("line 1 is kept"), "{}", e.message);
    assert_eq!(col(&x, "eleves", "eleve_id"), vec![s("1"), s("2")]);
    assert_eq!(col(&x, "eleves", "_line"), vec![s("1"), s("2")]);
    let l = assert_one(
        &x,
        "legendes",
        "legendes.jsonl",
        2,
        Some("etablissement_id, legende"),
        RejectKind::DuplicateKey,
    );
    assert!(l.message.contains("(10, LET)"), "{}", l.message);
    // Within one legend's array the first element of a repeated code is kept; the second
    // legend's own code is not a duplicate (the legend line is a duplicate, its codes are not).
    let c = assert_one(
        &x,
        "legendes_codes",
        "legendes.jsonl",
        1,
        Some("etablissement_id, legende, code"),
        RejectKind::DuplicateKey,
    );
    assert!(c.message.contains("(10, LET, A)"), "{}", c.message);
    assert_eq!(col(&x, "legendes_codes", "code"), vec![s("A"), s("B"), s("C")]);
    assert_eq!(
        col(&x, "legendes_codes", "note_equivalente"),
        vec![s("90.0"), s("80.0"), s("70.0")]
    );
    no_message_holds(&x, &PERSONAL);
}

#[tokio::test]
async fn empty_file() {
    // A 0-byte file is a failed export: the source fails, naming the file, like a missing file.
    let dir = folder();
    write(dir.path(), "absences.jsonl", b"");
    let message = assert_empty_file(try_read(dir.path()).await, "absences", "absences.jsonl");
    assert!(message.contains("0 bytes"), "{message}");
    // The legends file is read by two tables: the failure names the first.
    let dir = folder();
    write(dir.path(), "legendes.jsonl", b"");
    assert_empty_file(try_read(dir.path()).await, "legendes", "legendes.jsonl");

    // JSON Lines has no header: blank lines only (and a byte order mark) are an export with no
    // rows, a valid empty table.
    let dir = folder();
    write(dir.path(), "absences.jsonl", "\u{feff}\n \r\n\n".as_bytes());
    write(dir.path(), "legendes.jsonl", b"\n");
    let x = read(dir.path()).await;
    assert!(x.rejects.is_empty(), "{:#?}", x.rejects);
    for table in ["absences", "legendes", "legendes_codes"] {
        let t = &x.tables[table];
        assert_eq!((t.rows_read, t.rows_loaded), (0, 0), "{table}");
    }
    assert_eq!(col(&x, "eleves", "eleve_id"), vec![s("1")]);
    let info = x.files.iter().find(|f| f.table == "absences").expect("info");
    assert_eq!((info.bytes, info.rows_read), (8, 0));
}

#[tokio::test]
async fn truncated_last_line() {
    for tail in [
        &br#"{"eleve_id": 4, "code_permanent": "BOUC11223344", "nom": "Bouch"#[..],
        &br#"{"eleve_id": 4, "code_permanent": "BOUC11223344", "nom": "Bouchard", "prenom": "Zo"#[..],
        // Cut inside the two bytes of `é`.
        &b"{\"eleve_id\": 4, \"code_permanent\": \"BOUC11223344\", \"nom\": \"Bouchard\", \"prenom\": \"Zo\xc3"[..],
        r#"{"eleve_id": 4, "code_permanent": "BOUC11223344", "nom": "Bouchard", "prenom": "Zoé", "genre": "F", "date_naissance": "2010-01-01""#.as_bytes(),
        &br#"{"eleve_id": 4"#[..],
        &br#"{"eleve_id": 4."#[..],
    ] {
        let dir = folder();
        let mut text = lines(&[ELEVES, GOOD_2]).into_bytes();
        text.extend_from_slice(tail);
        write(dir.path(), "eleves.jsonl", &text);
        let message = assert_cut_file(try_read(dir.path()).await, "eleves", "eleves.jsonl", 3);
        // (The temporary folder's random name is not the message's to judge.)
        let message = message.replace(&dir.path().display().to_string(), "");
        for value in PERSONAL {
            assert!(!message.contains(value), "{value} in {message}");
        }
    }
    // A complete last object without a line break loads.
    let dir = folder();
    write(dir.path(), "eleves.jsonl", format!("{ELEVES}\n{GOOD_2}").as_bytes());
    let x = read(dir.path()).await;
    assert!(x.rejects.is_empty(), "{:#?}", x.rejects);
    assert_eq!(col(&x, "eleves", "eleve_id"), vec![s("1"), s("2")]);
    // The same line followed by a line break is malformed, not truncated.
    let dir = folder();
    write(
        dir.path(),
        "eleves.jsonl",
        format!("{ELEVES}\n{}\n", r#"{"eleve_id": 4, "nom": "Bouch"#).as_bytes(),
    );
    let x = read(dir.path()).await;
    assert_one(&x, "eleves", "eleves.jsonl", 2, None, RejectKind::MalformedJson);
}

#[tokio::test]
async fn missing_file_fails_the_source() {
    let dir = folder();
    std::fs::remove_file(dir.path().join("resultats.jsonl")).expect("remove");
    match try_read(dir.path()).await {
        Err(ConnectError::MissingFile { table, path }) => {
            assert_eq!(table, "resultats");
            assert_eq!(path, dir.path().join("resultats.jsonl"));
        }
        other => panic!("expected a missing file, got {other:?}"),
    }
    let message = try_read(dir.path()).await.expect_err("missing").to_string();
    assert!(message.contains("resultats.jsonl"), "{message}");
}

#[tokio::test]
async fn a_required_key_in_no_line_fails_the_source() {
    let dir = folder();
    // `etat` is missing from every line (present in none: as a CSV without the column).
    write(
        dir.path(),
        "resultats.jsonl",
        lines(&[
            r#"{"eleve_id": 1, "etablissement_id": 10, "annee_scolaire": "2024-2025", "code_cours": "MAT406", "groupe": "01", "etape": "1", "resultat": "78", "legende": "NUM", "reprise": false}"#,
            r#"{"eleve_id": 2, "etablissement_id": 10, "annee_scolaire": "2024-2025", "code_cours": "MAT406", "groupe": "01", "etape": "1", "resultat": "78", "legende": "NUM", "reprise": false}"#,
        ])
        .as_bytes(),
    );
    match try_read(dir.path()).await {
        Err(ConnectError::MissingColumn { file, column }) => {
            assert_eq!((file.as_str(), column.as_str()), ("resultats.jsonl", "etat"));
        }
        other => panic!("expected a missing column, got {other:?}"),
    }
    // A key of the array elements: `code` in no element.
    let dir = folder();
    write(
        dir.path(),
        "legendes.jsonl",
        lines(&[r#"{"etablissement_id": 10, "legende": "LET", "seuil_reussite": 60, "codes": [{"cote": "A", "note_equivalente": 90}]}"#]).as_bytes(),
    );
    match try_read(dir.path()).await {
        Err(ConnectError::MissingColumn { file, column }) => {
            assert_eq!((file.as_str(), column.as_str()), ("legendes.jsonl", "code"));
        }
        other => panic!("expected a missing column, got {other:?}"),
    }
    // Legends without any code are not missing a key: there is nothing to judge by.
    write(
        dir.path(),
        "legendes.jsonl",
        lines(&[r#"{"etablissement_id": 10, "legende": "NUM", "seuil_reussite": 60, "codes": []}"#]).as_bytes(),
    );
    let x = read(dir.path()).await;
    assert!(x.rejects.is_empty(), "{:#?}", x.rejects);
    assert_eq!(x.tables["legendes_codes"].rows_loaded, 0);
    // Nor is a file whose only line is malformed.
    write(dir.path(), "resultats.jsonl", b"{\"eleve_id\": \n");
    let x = read(dir.path()).await;
    assert_one(&x, "resultats", "resultats.jsonl", 1, None, RejectKind::MalformedJson);
}

#[tokio::test]
async fn a_bad_line_in_the_middle_of_a_batch() {
    let dir = folder();
    let mut text = String::new();
    let mut leg = String::new();
    for i in 1..=20 {
        let line = match i {
            // The 2nd line of the 3rd batch of 4: arrow-json refuses the batch.
            10 => format!(
                r#"{{"eleve_id": {i}, "etablissement_id": {{"id": 10}}, "date": "2024-10-01", "periode": 1, "motif": null, "categorie": "retard"}}"#
            ),
            // serde_json refuses the line before arrow-json sees it.
            15 => r#"{"eleve_id": 15, "etablissement_id": 10,, "date": "2024-10-01"}"#.to_string(),
            // The typing refuses it.
            17 => format!(
                r#"{{"eleve_id": {i}, "etablissement_id": 10, "date": "2024-10-01", "periode": 1, "motif": null, "categorie": "absent"}}"#
            ),
            _ => format!(
                r#"{{"eleve_id": {i}, "etablissement_id": 10, "date": "2024-10-01", "periode": 1, "motif": null, "categorie": "retard"}}"#
            ),
        };
        text.push_str(&line);
        text.push('\n');
        let codes = if i == 6 {
            r#"[{"code": "A", "note_equivalente": 90}, {"code": "B", "note_equivalente": [80]}]"#
        } else {
            r#"[{"code": "A", "note_equivalente": 90}, {"code": "B", "note_equivalente": 80}]"#
        };
        leg.push_str(&format!(
            r#"{{"etablissement_id": 10, "legende": "L{i}", "seuil_reussite": 60, "codes": {codes}}}"#
        ));
        leg.push('\n');
    }
    write(dir.path(), "absences.jsonl", text.as_bytes());
    write(dir.path(), "legendes.jsonl", leg.as_bytes());
    let x = try_read_with(dir.path(), 4).await.expect("read");
    let r = rejects(&x, "absences");
    let got: Vec<_> = r.iter().map(|r| (r.line, r.column.as_deref(), r.kind)).collect();
    assert_eq!(
        got,
        [
            (10, Some("etablissement_id"), RejectKind::MalformedJson),
            (15, None, RejectKind::MalformedJson),
            (17, Some("categorie"), RejectKind::OutOfDomain)
        ]
    );
    assert_eq!(r[0].raw, text.lines().nth(9).expect("line 10"));
    assert_eq!(r[2].raw, text.lines().nth(16).expect("line 17"));
    let expected: Vec<_> = (1..=20)
        .filter(|i| ![10, 15, 17].contains(i))
        .map(|i| s(&i.to_string()))
        .collect();
    assert_eq!(col(&x, "absences", "eleve_id"), expected);
    assert_eq!(col(&x, "absences", "_line"), expected);
    let t = &x.tables["absences"];
    assert_eq!((t.rows_read, t.rows_loaded), (20, 17));

    let c = assert_one(
        &x,
        "legendes_codes",
        "legendes.jsonl",
        6,
        Some("note_equivalente"),
        RejectKind::MalformedJson,
    );
    assert!(c.message.contains("element 2 of codes"), "{}", c.message);
    assert!(rejects(&x, "legendes").is_empty());
    assert_eq!(x.tables["legendes"].rows_loaded, 20);
    assert_eq!(x.tables["legendes_codes"].rows_loaded, 38);
    let lines: Vec<_> = col(&x, "legendes_codes", "_line");
    assert_eq!(lines.len(), 38);
    assert!(!lines.contains(&s("6")));
}

#[tokio::test]
async fn several_bad_lines_in_one_batch() {
    let dir = folder();
    let good = |i: u32| {
        format!(r#"{{"etablissement_id": 10, "code_cours": "C{i:02}", "description": "Cours {i}", "unites": {i}}}"#)
    };
    let mut all = Vec::new();
    for i in 1..=12u32 {
        all.push(match i {
            2 => r#"{"etablissement_id": 10, "code_cours": ["C02"], "description": "x", "unites": 2}"#.to_string(),
            3 => {
                r#"{"etablissement_id": 10, "code_cours": "C03", "description": {"fr": "x"}, "unites": 3}"#.to_string()
            }
            7 => r#"{"etablissement_id": 10, "code_cours": "C07", "description": "x", "unites": [7]}"#.to_string(),
            _ => good(i),
        });
    }
    let refs: Vec<&str> = all.iter().map(String::as_str).collect();
    write(dir.path(), "cours.jsonl", lines(&refs).as_bytes());
    for batch_size in [1, 5, 8, 100] {
        let x = try_read_with(dir.path(), batch_size).await.expect("read");
        let r = rejects(&x, "cours");
        let got: Vec<_> = r.iter().map(|r| (r.line, r.column.as_deref(), r.kind)).collect();
        assert_eq!(
            got,
            [
                (2, Some("code_cours"), RejectKind::MalformedJson),
                (3, Some("description"), RejectKind::MalformedJson),
                (7, Some("unites"), RejectKind::MalformedJson)
            ],
            "batch size {batch_size}"
        );
        let expected: Vec<_> = [1, 4, 5, 6, 8, 9, 10, 11, 12].map(|i| s(&i.to_string())).to_vec();
        assert_eq!(col(&x, "cours", "_line"), expected, "batch size {batch_size}");
        assert_eq!(col(&x, "cours", "unites"), expected, "batch size {batch_size}");
        let t = &x.tables["cours"];
        assert_eq!((t.rows_read, t.rows_loaded), (12, 9));
    }
}

#[tokio::test]
async fn no_message_shows_personal_data() {
    let dir = folder();
    let bad = |id: u32, cp: &str, nom: &str, prenom: &str, naissance: &str| {
        format!(
            r#"{{"eleve_id": {id}, "code_permanent": "{cp}", "nom": "{nom}", "prenom": "{prenom}", "genre": "F", "date_naissance": "{naissance}"}}"#
        )
    };
    let mut text = lines(&[
        ELEVES,
        &bad(1, "BOUC11223344", "Bouchard", "Léa", "2010-01-01"),
        &bad(5, "BOUC11223344", "Bouchard", "Léa", "2010-02-30"),
        &bad(6, "TREM01020304", "Tremblay", "Émilie", "2010-05-03")
            .replace("\"genre\": \"F\"", "\"genre\": {\"x\": \"Tremblay\"}"),
        &bad(7, "GAGN05060708", "Gagnon", "Roy", "2011-12-31").replace("\"eleve_id\": 7", "\"eleve_id\": \"7e\""),
        &bad(8, "ROYL09101112", "Roy", "Léa", "2012-01-15").replace("\"genre\": \"F\"", "\"genre\": \"Tremblay\""),
    ])
    .into_bytes();
    text.extend_from_slice(b"{\"eleve_id\": 9, \"code_permanent\": \"BOUC11223344\", \"nom\": \"Bouchard\xff\"}\n");
    text.extend_from_slice(b"{\"eleve_id\": 10, \"code_permanent\": \"GAGN05060708\", \"nom\": \"Gagnon\n");
    write(dir.path(), "eleves.jsonl", &text);
    let x = read(dir.path()).await;
    let r = rejects(&x, "eleves");
    let kinds: Vec<_> = r.iter().map(|r| (r.line, r.kind)).collect();
    assert_eq!(
        kinds,
        [
            (2, RejectKind::DuplicateKey),
            (3, RejectKind::UnparsableDate),
            (4, RejectKind::MalformedJson),
            (5, RejectKind::UnparsableNumber),
            (7, RejectKind::InvalidEncoding),
            (8, RejectKind::MalformedJson),
        ]
    );
    // Line 6: `genre` is not personal, its value may be shown (and is a name here, but the
    // contract cannot know that).
    no_message_holds(&x, &PERSONAL[..4]);
    no_message_holds(&x, &["GAGN05060708", "BOUC11223344", "Bouchard", "2010-02-30"]);
}
