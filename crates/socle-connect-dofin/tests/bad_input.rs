//! Bad input the connector must survive: each is reported with file, line, column and reason and
//! the rest of the night still loads; a missing file or column fails the whole source. The free
//! text of a ledger line (`descr`, which may name a person) never reaches a message.

mod common;

use common::*;
use socle_connect_dofin::{ConnectError, RejectKind};
use socle_dictionary::Encoding;

const ECR: &str = "exer_fin;no_piece;no_ligne;date_ecriture;fonds;activite;objet;unite_adm;montant;descr";
const BUD: &str = "exer_fin;version;fonds;activite;objet;unite_adm;montant";

/// A good ledger line `n` of document `P`.
fn line(n: u32) -> String {
    format!("2024;P;{n};2024-09-15;1;11000;521;001;10,00;\n")
}

#[tokio::test]
async fn amount_with_three_decimal_places_is_refused_not_rounded() {
    let dir = folder();
    let text = format!(
        "{ECR}\n{}2024;P;2;2024-09-15;1;11000;521;001;10,005;\n2024;P;3;2024-09-15;1;11000;521;001;0.001;\n{}",
        line(1),
        line(4)
    );
    write(dir.path(), "fin_ecriture.csv", text.as_bytes());
    write(
        dir.path(),
        "fin_budget.csv",
        format!("{BUD}\n2024;INITIAL;1;11000;521;001;1500.125\n").as_bytes(),
    );
    let x = read(dir.path()).await;
    assert_eq!(
        summary(&x, "fin_ecriture.csv"),
        vec![
            rj(3, Some("montant"), RejectKind::UnparsableNumber),
            rj(4, Some("montant"), RejectKind::UnparsableNumber)
        ]
    );
    let r = rejects(&x, "fin_ecriture.csv");
    assert!(
        r[0].message.contains("10,005") && r[0].message.contains("2 decimal places"),
        "{}",
        r[0].message
    );
    assert_one(&x, "fin_budget.csv", 2, Some("montant"), RejectKind::UnparsableNumber);
    assert_eq!(col(&x, "fin_ecriture", "no_ligne"), vec![s("1"), s("4")]);
}

#[tokio::test]
async fn unparsable_numbers() {
    let dir = folder();
    let text = format!(
        "{ECR}\n{}2024a;P;2;2024-09-15;1;11000;521;001;1,00;\n2024;P;1.5;2024-09-15;1;11000;521;001;1,00;\n\
         2024;P;4;2024-09-15;1;11000;521;001;1 000,00;\n2024;P;5;2024-09-15;1;11000;521;001;1.000,50;\n\
         2024;P;6;2024-09-15;1;11000;521;001;1,000.50;\n2024;P;7;2024-09-15;1;11000;521;001;12$;\n\
         2024;P;8;2024-09-15;1;11000;521;001;(12,00);\n2024;P;9;2024-09-15;1;11000;521;001;inf;\n",
        line(1)
    );
    write(dir.path(), "fin_ecriture.csv", text.as_bytes());
    let x = read(dir.path()).await;
    let m = Some("montant");
    assert_eq!(
        summary(&x, "fin_ecriture.csv"),
        vec![
            rj(3, Some("exer_fin"), RejectKind::UnparsableNumber),
            rj(4, Some("no_ligne"), RejectKind::UnparsableNumber),
            rj(5, m, RejectKind::UnparsableNumber),
            rj(6, m, RejectKind::UnparsableNumber),
            rj(7, m, RejectKind::UnparsableNumber),
            rj(8, m, RejectKind::UnparsableNumber),
            rj(9, m, RejectKind::UnparsableNumber),
            rj(10, m, RejectKind::UnparsableNumber),
        ]
    );
    let r = rejects(&x, "fin_ecriture.csv");
    assert!(
        r[0].message.contains("2024a") && r[0].message.contains("integer"),
        "{}",
        r[0].message
    );
    assert_eq!(col(&x, "fin_ecriture", "no_ligne"), vec![s("1")]);
}

#[tokio::test]
async fn wrong_column_count() {
    let dir = folder();
    write(
        dir.path(),
        "fin_budget.csv",
        format!(
            "{BUD}\n2024;INITIAL;1;11000;521;001;10\n2024;INITIAL;1;11000;521;002;10;9\n2024;INITIAL;1;11000;521;003\n\
             2024;REVISE;1;11000;521;001;12\n"
        )
        .as_bytes(),
    );
    let x = read(dir.path()).await;
    assert_eq!(
        summary(&x, "fin_budget.csv"),
        vec![
            rj(3, None, RejectKind::WrongColumnCount),
            rj(4, None, RejectKind::WrongColumnCount)
        ]
    );
    let r = rejects(&x, "fin_budget.csv");
    assert!(
        r[0].message.contains("8 fields") && r[0].message.contains('7'),
        "{}",
        r[0].message
    );
    assert_eq!(r[0].raw, "2024;INITIAL;1;11000;521;002;10;9");
    assert_eq!(col(&x, "fin_budget", "version"), vec![s("INITIAL"), s("REVISE")]);
    let t = &x.tables["fin_budget"];
    assert_eq!((t.rows_read, t.rows_loaded), (4, 2));
}

#[tokio::test]
async fn unterminated_quote() {
    let dir = folder();
    write(
        dir.path(),
        "fin_nomen_activite.csv",
        b"code;descr\n11000;ok\n12000;\"ouvert\n13000;x\";9\n14000;ok\n",
    );
    let x = read(dir.path()).await;
    assert_one(&x, "fin_nomen_activite.csv", 3, None, RejectKind::UnterminatedQuote);
    assert_eq!(col(&x, "fin_nomen_activite", "code"), vec![s("11000"), s("14000")]);
    let dir = folder();
    write(
        dir.path(),
        "fin_nomen_activite.csv",
        "code;descr\n11000;ok\n12000;\"jamais fermé\n13000;x\n".as_bytes(),
    );
    let x = read(dir.path()).await;
    assert_one(&x, "fin_nomen_activite.csv", 3, None, RejectKind::UnterminatedQuote);
    assert_eq!(col(&x, "fin_nomen_activite", "code"), vec![s("11000")]);
    // Without a final line end, the file is cut inside the quoted field: the source fails.
    write(
        dir.path(),
        "fin_nomen_activite.csv",
        b"code;descr\r\n11000;ok\r\n12000;\"jamais",
    );
    assert_cut_file(
        try_read(dir.path(), Encoding::Auto).await,
        "fin_nomen_activite",
        "fin_nomen_activite.csv",
        3,
    );
}

#[tokio::test]
async fn undecodable_bytes_in_a_file_declared_utf8() {
    let dir = folder();
    let mut bytes = format!("{ECR}\n").into_bytes();
    bytes.extend_from_slice(b"2024;P;1;2024-09-15;1;11000;521;001;10,00;Remboursement Tr\xe9mblay Zo\xe9line\n");
    bytes.extend_from_slice(line(2).as_bytes());
    write(dir.path(), "fin_ecriture.csv", &bytes);
    let x = try_read(dir.path(), Encoding::Utf8).await.expect("read");
    assert_one(&x, "fin_ecriture.csv", 2, Some("descr"), RejectKind::InvalidEncoding);
    assert_no_personal(&x, &["Remboursement", "mblay", "line", "\u{fffd}"]);
    assert_eq!(col(&x, "fin_ecriture", "no_ligne"), vec![s("2")]);
    // Under `Auto` the file is Windows-1252 and both lines load.
    let x = read(dir.path()).await;
    assert!(x.rejects.is_empty(), "{:#?}", x.rejects);
    assert_eq!(
        col(&x, "fin_ecriture", "descr"),
        vec![s("Remboursement Trémblay Zoéline"), None]
    );
}

#[tokio::test]
async fn unparsable_date() {
    let dir = folder();
    let text = format!(
        "{ECR}\n{}2024;P;2;2024-02-30;1;11000;521;001;1;\n2024;P;3;15-09-2024;1;11000;521;001;1;\n\
         2024;P;4;hier;1;11000;521;001;1;\n2024;P;5;2024-09-15 10:00;1;11000;521;001;1;\n",
        line(1)
    );
    write(dir.path(), "fin_ecriture.csv", text.as_bytes());
    let x = read(dir.path()).await;
    let d = Some("date_ecriture");
    assert_eq!(
        summary(&x, "fin_ecriture.csv"),
        vec![
            rj(3, d, RejectKind::UnparsableDate),
            rj(4, d, RejectKind::UnparsableDate),
            rj(5, d, RejectKind::UnparsableDate),
            rj(6, d, RejectKind::UnparsableDate),
        ]
    );
    assert!(rejects(&x, "fin_ecriture.csv")[0].message.contains("2024-02-30"));
    assert_eq!(col(&x, "fin_ecriture", "no_ligne"), vec![s("1")]);
}

#[tokio::test]
async fn out_of_domain() {
    let dir = folder();
    let text = format!(
        "{ECR}\n{}2024;P;2;2024-09-15;3;11000;521;001;1;\n2024;P;3;2024-09-15;1;2610;521;001;1;\n\
         2024;P;4;2024-09-15;1;11000;52A;001;1;\n2024;P;5;2024-09-15;1;110000;521;001;1;\n\
         1800;P;6;2024-09-15;1;11000;521;001;1;\n2024;P;7;2024-09-15;01;11000;521;001;1;\n",
        line(1)
    );
    write(dir.path(), "fin_ecriture.csv", text.as_bytes());
    write(
        dir.path(),
        "fin_budget.csv",
        format!(
            "{BUD}\n2024;INITIAL;1;11000;521;001;1\n2024;FINAL;1;11000;521;001;1\n2024;initial;2;11000;521;001;1\n"
        )
        .as_bytes(),
    );
    write(
        dir.path(),
        "fin_nomen_unit_adm.csv",
        b"exer_fin;code;descr;eco_off\n2024;001;A;063414\n2024;002;B;63414\n2024;003;C;\n",
    );
    write(dir.path(), "fin_nomen_objet.csv", b"code;descr\n521;A\n5210;B\n");
    let x = read(dir.path()).await;
    assert_eq!(
        summary(&x, "fin_ecriture.csv"),
        vec![
            rj(3, Some("fonds"), RejectKind::OutOfDomain),
            rj(4, Some("activite"), RejectKind::OutOfDomain),
            rj(5, Some("objet"), RejectKind::OutOfDomain),
            rj(6, Some("activite"), RejectKind::OutOfDomain),
            rj(7, Some("exer_fin"), RejectKind::OutOfDomain),
            rj(8, Some("fonds"), RejectKind::OutOfDomain),
        ]
    );
    let r = rejects(&x, "fin_ecriture.csv");
    assert!(
        r[0].message.contains("\"3\"") && r[0].message.contains("one of 1, 2"),
        "{}",
        r[0].message
    );
    assert!(
        r[1].message.contains("2610") && r[1].message.contains("[0-9]{5}"),
        "{}",
        r[1].message
    );
    assert_eq!(col(&x, "fin_ecriture", "no_ligne"), vec![s("1")]);
    assert_eq!(
        summary(&x, "fin_budget.csv"),
        vec![
            rj(3, Some("version"), RejectKind::OutOfDomain),
            rj(4, Some("version"), RejectKind::OutOfDomain)
        ]
    );
    assert_one(
        &x,
        "fin_nomen_unit_adm.csv",
        3,
        Some("eco_off"),
        RejectKind::OutOfDomain,
    );
    assert_eq!(col(&x, "fin_nomen_unit_adm", "eco_off"), vec![s("063414"), None]);
    assert_one(&x, "fin_nomen_objet.csv", 3, Some("code"), RejectKind::OutOfDomain);
}

#[tokio::test]
async fn missing_values() {
    let dir = folder();
    let text = format!(
        "{ECR}\n{}2024;P;2;2024-09-15;1;11000;521;001;;\n2024;P;3;;1;11000;521;001;1;\n\
         2024;;4;2024-09-15;1;11000;521;001;1;\n2024;P;5;2024-09-15;1;   ;521;001;1;\n",
        line(1)
    );
    write(dir.path(), "fin_ecriture.csv", text.as_bytes());
    let x = read(dir.path()).await;
    assert_eq!(
        summary(&x, "fin_ecriture.csv"),
        vec![
            rj(3, Some("montant"), RejectKind::MissingValue),
            rj(4, Some("date_ecriture"), RejectKind::MissingValue),
            rj(5, Some("no_piece"), RejectKind::MissingValue),
            rj(6, Some("activite"), RejectKind::MissingValue),
        ]
    );
    // descr is optional.
    assert_eq!(col(&x, "fin_ecriture", "descr"), vec![None]);
}

#[tokio::test]
async fn duplicate_keys_first_row_kept() {
    let dir = folder();
    let text = format!(
        "{ECR}\n2024;P1;1;2024-09-15;1;11000;521;001;10,00;premier\n2024;P1;2;2024-09-15;1;11000;521;001;5,00;\n\
         2024;P1;01;2024-09-16;1;12000;521;001;99,00;second\n2025;P1;1;2025-09-15;1;11000;521;001;1,00;\n\
         2024;P01;1;2024-09-15;1;11000;521;001;1,00;\n2024;P1;1;2024-09-15;1;11000;521;001;x;\n"
    );
    write(dir.path(), "fin_ecriture.csv", text.as_bytes());
    write(
        dir.path(),
        "fin_budget.csv",
        format!(
            "{BUD}\n2024;INITIAL;1;11000;521;001;10\n2024;REVISE;1;11000;521;001;12\n2024; INITIAL ;1;11000;521; 001 ;11\n\
             2024;INITIAL;1;11000;521;002;10\n"
        )
        .as_bytes(),
    );
    let x = read(dir.path()).await;
    // `01` is the integer 1; `P01` is another document; line 7 fails its own check.
    assert_eq!(
        summary(&x, "fin_ecriture.csv"),
        vec![
            rj(4, Some("exer_fin, no_piece, no_ligne"), RejectKind::DuplicateKey),
            rj(7, Some("montant"), RejectKind::UnparsableNumber),
        ]
    );
    let r = rejects(&x, "fin_ecriture.csv");
    assert!(
        r[0].message.contains("line 2") && r[0].message.contains("2024, P1, 1"),
        "{}",
        r[0].message
    );
    assert_eq!(r[0].raw, "2024;P1;01;2024-09-16;1;12000;521;001;99,00;second");
    assert_eq!(
        col(&x, "fin_ecriture", "montant"),
        vec![s("10.00"), s("5.00"), s("1.00"), s("1.00")]
    );
    assert_one(
        &x,
        "fin_budget.csv",
        4,
        Some("exer_fin, version, fonds, activite, objet, unite_adm"),
        RejectKind::DuplicateKey,
    );
    assert_eq!(
        col(&x, "fin_budget", "montant"),
        vec![s("10.00"), s("12.00"), s("10.00")]
    );
}

#[tokio::test]
async fn empty_files() {
    // A 0-byte file is a failed export: the source fails, naming the file, like a missing file.
    let dir = folder();
    write(dir.path(), "fin_budget.csv", b"");
    let message = assert_empty_file(
        try_read(dir.path(), Encoding::Auto).await,
        "fin_budget",
        "fin_budget.csv",
    );
    assert!(message.contains("0 bytes"), "{message}");
    // So is a file with no header.
    let dir = folder();
    write(dir.path(), "fin_nomen_objet.csv", b"\xEF\xBB\xBF\n\n");
    assert_empty_file(
        try_read(dir.path(), Encoding::Auto).await,
        "fin_nomen_objet",
        "fin_nomen_objet.csv",
    );
    // A header with no rows is a valid empty table.
    let dir = folder();
    write(dir.path(), "fin_ecriture.csv", format!("{ECR}\n{}", line(1)).as_bytes());
    let x = read(dir.path()).await;
    assert!(x.rejects.is_empty(), "{:#?}", x.rejects);
    let t = &x.tables["fin_budget"];
    assert_eq!((t.rows_read, t.rows_loaded), (0, 0));
    assert_eq!(t.schema.fields().len(), 9);
    assert_eq!(x.tables["fin_ecriture"].rows_loaded, 1);
}

#[tokio::test]
async fn truncated_last_line() {
    let dir = folder();
    write(
        dir.path(),
        "fin_ecriture.csv",
        format!("{ECR}\r\n2024;P;1;2024-09-15;1;11000;521;001;10,00;\r\n2024;P;2;2024-09-15;1;11000;521;001;1")
            .as_bytes(),
    );
    assert_cut_file(
        try_read(dir.path(), Encoding::Auto).await,
        "fin_ecriture",
        "fin_ecriture.csv",
        3,
    );
    // A complete last record without a line end loads.
    write(
        dir.path(),
        "fin_ecriture.csv",
        format!("{ECR}\r\n2024;P;1;2024-09-15;1;11000;521;001;10,00;\r\n2024;P;2;2024-09-15;1;11000;521;001;12,00;")
            .as_bytes(),
    );
    let x = read(dir.path()).await;
    assert!(x.rejects.is_empty(), "{:#?}", x.rejects);
    assert_eq!(x.tables["fin_ecriture"].rows_loaded, 2);
}

#[tokio::test]
async fn missing_file_fails_the_source() {
    let dir = folder();
    std::fs::remove_file(dir.path().join("fin_nomen_unit_adm.csv")).expect("remove");
    let err = try_read(dir.path(), Encoding::Auto).await.expect_err("must fail");
    assert!(
        matches!(&err, ConnectError::MissingFile { table, .. } if table == "fin_nomen_unit_adm"),
        "{err:?}"
    );
    assert!(err.to_string().contains("fin_nomen_unit_adm.csv"), "{err}");
}

#[tokio::test]
async fn missing_required_column_fails_the_source() {
    let dir = folder();
    write(
        dir.path(),
        "fin_budget.csv",
        b"exer_fin;version;fonds;activite;objet;unite_adm\n2024;INITIAL;1;11000;521;001\n",
    );
    let err = try_read(dir.path(), Encoding::Auto).await.expect_err("must fail");
    assert!(
        matches!(&err, ConnectError::MissingColumn { file, column } if file == "fin_budget.csv" && column == "montant"),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(msg.contains("montant") && msg.contains("fin_budget.csv"), "{msg}");
}

#[tokio::test]
async fn free_text_never_in_a_message() {
    let dir = folder();
    let descr = "Remboursement à Zoéline Tremblay, née le 2010-02-03";
    let text = format!(
        "{ECR}\n2024;P;1;2024-09-15;1;11000;521;001;10,005;{descr}\n2024;P;2;hier;1;11000;521;001;1;{descr}\n\
         2024;P;3;2024-09-15;9;11000;521;001;1;{descr}\n2024;P;4;2024-09-15;1;11000;521;001;;{descr}\n\
         2024;P;5;2024-09-15;1;11000;521;001;1;{descr};de trop\n2024;P;6;2024-09-15;1;11000;521;001;1;{descr}\n\
         2024;P;6;2024-09-15;1;11000;521;001;1;{descr}\n2024;P;8;2024-09-15;1;11000;521;001;1;\"{descr}\n"
    );
    write(dir.path(), "fin_ecriture.csv", text.as_bytes());
    let x = read(dir.path()).await;
    let kinds: Vec<RejectKind> = rejects(&x, "fin_ecriture.csv").iter().map(|r| r.kind).collect();
    assert_eq!(
        kinds,
        vec![
            RejectKind::UnparsableNumber,
            RejectKind::UnparsableDate,
            RejectKind::OutOfDomain,
            RejectKind::MissingValue,
            RejectKind::WrongColumnCount,
            RejectKind::DuplicateKey,
            RejectKind::UnterminatedQuote,
        ]
    );
    assert_no_personal(&x, &["Remboursement", "Zoéline", "Tremblay", "2010-02-03"]);
    // The raw record keeps it, for the CSS's own quarantine only.
    assert!(rejects(&x, "fin_ecriture.csv")[0].raw.contains("Tremblay"));
    assert_eq!(col(&x, "fin_ecriture", "descr"), vec![s(descr)]);
}
