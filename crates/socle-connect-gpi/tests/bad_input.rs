//! Bad input the connector must survive: each is reported with file, line, column and reason,
//! and the rest of the night still loads; a missing, empty or cut file, or a missing column,
//! fails the whole source.

mod common;

use common::*;
use socle_connect_gpi::{ConnectError, RejectKind};
use socle_dictionary::Encoding;

#[tokio::test]
async fn wrong_column_count() {
    let dir = folder();
    write(
        dir.path(),
        "gpm_t_leg.csv",
        b"id_eco;leg;seuil_reus\n1;A;60\n1;B;60;extra\n1;C\n1;D;70\n",
    );
    let x = read(dir.path()).await;
    let r = rejects(&x, "gpm_t_leg.csv");
    assert_eq!(r.len(), 2, "{r:#?}");
    assert_eq!(
        (r[0].line, r[0].kind, r[0].column.clone()),
        (3, RejectKind::WrongColumnCount, None)
    );
    assert_eq!(r[0].raw, "1;B;60;extra");
    assert_eq!((r[1].line, r[1].kind), (4, RejectKind::WrongColumnCount));
    assert!(
        r[0].message.contains("4 fields") && r[0].message.contains('3'),
        "{}",
        r[0].message
    );
    assert_eq!(col(&x, "gpm_t_leg", "leg"), vec![s("A"), s("D")]);
    let t = &x.tables["gpm_t_leg"];
    assert_eq!((t.rows_read, t.rows_loaded), (4, 2));
    assert_eq!(r[0].table, "gpm_t_leg");
}

#[tokio::test]
async fn unterminated_quote_in_the_middle() {
    let dir = folder();
    // The quote opened on line 3 closes on line 4's stray quote: the merged record has a line
    // break inside and a wrong field count.
    write(
        dir.path(),
        "gpm_t_mat.csv",
        b"id_eco;mat;descr;unites\n1;A;ok;1\n1;B;\"open;1\n1;C;x\";1;9\n1;D;ok;1\n",
    );
    let x = read(dir.path()).await;
    assert_one(&x, "gpm_t_mat.csv", 3, None, RejectKind::UnterminatedQuote);
    assert_eq!(col(&x, "gpm_t_mat", "mat"), vec![s("A"), s("D")]);
    assert_eq!(col(&x, "gpm_t_mat", "_line"), vec![s("2"), s("5")]);
}

#[tokio::test]
async fn unterminated_quote_at_end_of_file() {
    // With a final line end (without one it is a cut file: `cut_inside_a_quoted_field`).
    for text in [
        "id_eco;mat;descr;unites\n1;A;ok;1\n1;B;\"never closed;1\n1;C;x;1\n",
        "id_eco;mat;descr;unites\n1;A;ok;1\n1;B;\"never closed;1\n",
        "id_eco;mat;descr;unites\n1;A;ok;1\n1;B;\"never closed\n",
    ] {
        let dir = folder();
        write(dir.path(), "gpm_t_mat.csv", text.as_bytes());
        let x = read(dir.path()).await;
        assert_one(&x, "gpm_t_mat.csv", 3, None, RejectKind::UnterminatedQuote);
        assert_eq!(col(&x, "gpm_t_mat", "mat"), vec![s("A")], "{text:?}");
    }
}

#[tokio::test]
async fn invalid_utf8_in_a_utf8_file() {
    let dir = folder();
    write(
        dir.path(),
        "gpm_e_ele.csv",
        b"fiche;code_perm;nom;pnom;sexe;date_naiss\n1;ABCD01020304;C\xf4t\xe9;Zo\xe9;F;2010-01-01\n2;EFGH01020304;Roy;Luc;M;2010-02-02\n",
    );
    let x = try_read(dir.path(), Encoding::Utf8).await.expect("read");
    assert_one(&x, "gpm_e_ele.csv", 2, Some("nom"), RejectKind::InvalidEncoding);
    let r = &rejects(&x, "gpm_e_ele.csv")[0];
    assert!(
        !r.message.contains("C") || !r.message.contains("t\u{fffd}"),
        "{}",
        r.message
    );
    assert!(
        !r.message.contains("ABCD01020304") && !r.message.contains('\u{fffd}'),
        "{}",
        r.message
    );
    assert_eq!(col(&x, "gpm_e_ele", "fiche"), vec![s("2")]);
    // The same bytes under `Auto` make the file Windows-1252, and both rows load.
    let x = read(dir.path()).await;
    assert!(rejects(&x, "gpm_e_ele.csv").is_empty());
    assert_eq!(col(&x, "gpm_e_ele", "nom"), vec![s("Côté"), s("Roy")]);
}

#[tokio::test]
async fn unparsable_date() {
    let dir = folder();
    write(
        dir.path(),
        "gpm_t_cal.csv",
        b"id_eco;date_evenement;jour_cycle;nb_periodes\n1;2024-09-03;1;4\n1;2024-02-30;2;4\n1;31/13/2024;2;4\n1;2024-9-4;2;4\n1;demain;2;4\n1;2024-09-03T00:00:00;2;4\n",
    );
    let x = read(dir.path()).await;
    let r = rejects(&x, "gpm_t_cal.csv");
    assert_eq!(r.len(), 5, "{r:#?}");
    for (i, reject) in r.iter().enumerate() {
        assert_eq!(reject.line, i as u64 + 3);
        assert_eq!(reject.kind, RejectKind::UnparsableDate);
        assert_eq!(reject.column.as_deref(), Some("date_evenement"));
        assert!(reject.message.contains("date_evenement"), "{}", reject.message);
    }
    assert!(r[0].message.contains("2024-02-30"), "{}", r[0].message);
    assert_eq!(r[0].raw, "1;2024-02-30;2;4");
    assert_eq!(col(&x, "gpm_t_cal", "date_evenement"), vec![s("2024-09-03")]);
}

#[tokio::test]
async fn unparsable_number() {
    let dir = folder();
    write(
        dir.path(),
        "gpm_t_leg.csv",
        b"id_eco;leg;seuil_reus\n12a;A;60\n1;B;6O\n1;C;1 000\n1;D;inf\n1;E;1.000,5\n1;F;60\n",
    );
    let x = read(dir.path()).await;
    let r = rejects(&x, "gpm_t_leg.csv");
    let got: Vec<(u64, Option<&str>, RejectKind)> = r.iter().map(|r| (r.line, r.column.as_deref(), r.kind)).collect();
    assert_eq!(
        got,
        vec![
            (2, Some("id_eco"), RejectKind::UnparsableNumber),
            (3, Some("seuil_reus"), RejectKind::UnparsableNumber),
            (4, Some("seuil_reus"), RejectKind::UnparsableNumber),
            (5, Some("seuil_reus"), RejectKind::UnparsableNumber),
            (6, Some("seuil_reus"), RejectKind::UnparsableNumber),
        ]
    );
    assert!(
        r[0].message.contains("12a") && r[0].message.contains("integer"),
        "{}",
        r[0].message
    );
    assert_eq!(col(&x, "gpm_t_leg", "leg"), vec![s("F")]);
}

#[tokio::test]
async fn missing_value() {
    let dir = folder();
    write(
        dir.path(),
        "gpm_e_abs.csv",
        b"fiche;id_eco;date_abs;periode;motif_abs\n1;1;2024-10-01;1;M\n2;  ;2024-10-01;1;M\n3;1;2024-10-01;;\n",
    );
    let x = read(dir.path()).await;
    let r = rejects(&x, "gpm_e_abs.csv");
    assert_eq!(r.len(), 2, "{r:#?}");
    assert_eq!(
        (r[0].line, r[0].column.as_deref(), r[0].kind),
        (3, Some("id_eco"), RejectKind::MissingValue)
    );
    assert_eq!(
        (r[1].line, r[1].column.as_deref(), r[1].kind),
        (4, Some("periode"), RejectKind::MissingValue)
    );
    assert!(r[0].message.contains("id_eco"), "{}", r[0].message);
    // motif_abs is nullable: empty is null, not a reject.
    assert_eq!(col(&x, "gpm_e_abs", "fiche"), vec![s("1")]);
}

#[tokio::test]
async fn out_of_domain() {
    let dir = folder();
    write(
        dir.path(),
        "gpm_t_eco.csv",
        b"id_eco;org;annee;eco;eco_off;nom_eco;indic_eco_bidon\n1;866000;2024;001;063414;A;0\n2;86600;2024;002;063414;B;0\n3;866000;1800;003;063414;C;0\n4;866000;2024;004;063414;D;2\n5;866000;2024;005;06341X;E;1\n",
    );
    write(
        dir.path(),
        "gpm_e_dan.csv",
        b"fiche;id_eco;statut_don_an;ordre_ens;classe;grp_rep;plan_interv_ehdaa;difficulte;date_deb;date_depart;motif_depart\n1;1;A;3;1;101;;;2024-08-28;;\n2;1;A;7;1;101;;;2024-08-28;;\n3;1;A;03;1;101;;;2024-08-28;;\n",
    );
    let x = read(dir.path()).await;
    let got: Vec<(u64, Option<&str>, RejectKind)> = rejects(&x, "gpm_t_eco.csv")
        .iter()
        .map(|r| (r.line, r.column.as_deref(), r.kind))
        .collect();
    assert_eq!(
        got,
        vec![
            (3, Some("org"), RejectKind::OutOfDomain),
            (4, Some("annee"), RejectKind::OutOfDomain),
            (5, Some("indic_eco_bidon"), RejectKind::OutOfDomain),
            (6, Some("eco_off"), RejectKind::OutOfDomain),
        ]
    );
    let annee = &rejects(&x, "gpm_t_eco.csv")[1];
    assert!(
        annee.message.contains("1800") && annee.message.contains("1990"),
        "{}",
        annee.message
    );
    assert_eq!(col(&x, "gpm_t_eco", "id_eco"), vec![s("1")]);
    // ordre_ens is an int: 03 is 3, in its domain; 7 is not.
    assert_one(&x, "gpm_e_dan.csv", 3, Some("ordre_ens"), RejectKind::OutOfDomain);
    assert_eq!(col(&x, "gpm_e_dan", "ordre_ens"), vec![s("3"), s("3")]);
}

#[tokio::test]
async fn first_failing_check_in_column_order() {
    let dir = folder();
    write(
        dir.path(),
        "gpm_t_eco.csv",
        b"id_eco;org;annee;eco;eco_off;nom_eco;indic_eco_bidon\n1;x;y;001;z;A;9\n",
    );
    let x = read(dir.path()).await;
    assert_one(&x, "gpm_t_eco.csv", 2, Some("org"), RejectKind::OutOfDomain);
}

#[tokio::test]
async fn duplicate_key_first_kept() {
    let dir = folder();
    write(
        dir.path(),
        "gpm_t_mat.csv",
        b"id_eco;mat;descr;unites\n1;FRA400;Premier;4\n1;MAT600;Maths;4\n01; FRA400 ;Second;2\n2;FRA400;Autre ecole;4\n1;FRA400;bad;x\n",
    );
    let x = read(dir.path()).await;
    // Line 6 fails its own check and does not count as a duplicate.
    let r = rejects(&x, "gpm_t_mat.csv");
    assert_eq!(r.len(), 2, "{r:#?}");
    assert_eq!(
        (r[0].line, r[0].kind, r[0].column.as_deref()),
        (4, RejectKind::DuplicateKey, Some("id_eco, mat"))
    );
    assert!(r[0].message.contains("line 2"), "{}", r[0].message);
    assert!(r[0].message.contains("FRA400"), "{}", r[0].message);
    assert_eq!(r[0].raw, "01; FRA400 ;Second;2");
    assert_eq!((r[1].line, r[1].kind), (6, RejectKind::UnparsableNumber));
    assert_eq!(
        col(&x, "gpm_t_mat", "descr"),
        vec![s("Premier"), s("Maths"), s("Autre ecole")]
    );
}

#[tokio::test]
async fn duplicates_kept_in_students_and_enrolments() {
    let dir = folder();
    write(
        dir.path(),
        "gpm_e_ele.csv",
        b"fiche;code_perm;nom;pnom;sexe;date_naiss\n1;ABCD01020304;Roy;Luc;M;2010-01-01\n1;ABCD01020304;Roy;Luc;M;2010-01-01\n",
    );
    write(
        dir.path(),
        "gpm_e_dan.csv",
        b"fiche;id_eco;statut_don_an;ordre_ens;classe;grp_rep;plan_interv_ehdaa;difficulte;date_deb;date_depart;motif_depart\n1;1;A;3;1;101;;;2024-08-28;;\n1;1;A;3;1;101;;;2024-08-28;;\n",
    );
    let x = read(dir.path()).await;
    assert!(x.rejects.is_empty(), "{:#?}", x.rejects);
    assert_eq!(x.tables["gpm_e_ele"].rows_loaded, 2);
    assert_eq!(x.tables["gpm_e_dan"].rows_loaded, 2);
}

#[tokio::test]
async fn empty_files() {
    // A 0-byte file is a failed export: the source fails, naming the file, like a missing file.
    let dir = folder();
    write(dir.path(), "gpm_t_leg.csv", b"");
    write(dir.path(), "gpm_t_mat.csv", b"id_eco;mat;descr;unites\n1;A;x;1\n");
    let message = assert_empty_file(try_read(dir.path(), Encoding::Auto).await, "gpm_t_leg", "gpm_t_leg.csv");
    assert!(message.contains("0 bytes"), "{message}");
    // So is a file with no header (a byte order mark and blank lines only).
    let dir = folder();
    write(dir.path(), "gpm_t_cotes.csv", b"\xEF\xBB\xBF\r\n\r\n");
    let message = assert_empty_file(
        try_read(dir.path(), Encoding::Auto).await,
        "gpm_t_cotes",
        "gpm_t_cotes.csv",
    );
    assert!(message.contains("no header"), "{message}");
    // A header with no rows is a valid empty table.
    let dir = folder();
    write(dir.path(), "gpm_t_leg.csv", b"id_eco;leg;seuil_reus\r\n");
    write(dir.path(), "gpm_t_mat.csv", b"id_eco;mat;descr;unites\n1;A;x;1\n");
    let x = read(dir.path()).await;
    assert!(x.rejects.is_empty(), "{:#?}", x.rejects);
    let t = &x.tables["gpm_t_leg"];
    assert_eq!((t.rows_read, t.rows_loaded), (0, 0));
    assert_eq!(t.schema.fields().len(), 5);
    assert_eq!(x.tables["gpm_t_mat"].rows_loaded, 1);
}

#[tokio::test]
async fn truncated_last_line() {
    // A last record cut short (no line end, fewer fields) is a cut file: the source fails.
    let dir = folder();
    write(
        dir.path(),
        "gpm_e_abs.csv",
        b"fiche;id_eco;date_abs;periode;motif_abs\r\n1;1;2024-10-01;1;M\r\n2;1;2024-10-01;2;M\r\n3;1;2024-1",
    );
    let message = assert_cut_file(
        try_read(dir.path(), Encoding::Auto).await,
        "gpm_e_abs",
        "gpm_e_abs.csv",
        4,
    );
    assert!(message.contains("3 fields of 5"), "{message}");
    // A short last line that does end with a line break is a plain wrong column count.
    write(
        dir.path(),
        "gpm_e_abs.csv",
        b"fiche;id_eco;date_abs;periode;motif_abs\n1;1;2024-10-01;1;M\n3;1;2024-1\n",
    );
    let x = read(dir.path()).await;
    assert_one(&x, "gpm_e_abs.csv", 3, None, RejectKind::WrongColumnCount);
    assert_eq!(x.tables["gpm_e_abs"].rows_loaded, 1);
    // A complete last line without a line end loads.
    write(
        dir.path(),
        "gpm_e_abs.csv",
        b"fiche;id_eco;date_abs;periode;motif_abs\n1;1;2024-10-01;1;M\n2;1;2024-10-01;2;M",
    );
    let x = read(dir.path()).await;
    assert!(x.rejects.is_empty(), "{:#?}", x.rejects);
    assert_eq!(col(&x, "gpm_e_abs", "fiche"), vec![s("1"), s("2")]);
}

#[tokio::test]
async fn cut_inside_a_quoted_field() {
    // A transfer cut inside a quoted field: the file ends in the open quote with no line end.
    // All the fields may even be there: it is a cut file all the same.
    let dir = folder();
    write(
        dir.path(),
        "gpm_t_mat.csv",
        b"id_eco;mat;descr;unites\n1;A;x;1\n1;B;\"Math\xC3\xA9matique, ",
    );
    let message = assert_cut_file(
        try_read(dir.path(), Encoding::Auto).await,
        "gpm_t_mat",
        "gpm_t_mat.csv",
        3,
    );
    assert!(message.contains("quoted field"), "{message}");
    write(
        dir.path(),
        "gpm_t_mat.csv",
        b"id_eco;mat;descr;unites\n1;A;\"x\n1;B;y;2\n1;C;z;3",
    );
    assert_cut_file(
        try_read(dir.path(), Encoding::Auto).await,
        "gpm_t_mat",
        "gpm_t_mat.csv",
        2,
    );
    // The same open quote in a file that ends with a line break is one quarantined row.
    write(
        dir.path(),
        "gpm_t_mat.csv",
        b"id_eco;mat;descr;unites\n1;A;x;1\n1;B;\"y;2\n1;C;z;3\n",
    );
    let x = read(dir.path()).await;
    assert_one(&x, "gpm_t_mat.csv", 3, None, RejectKind::UnterminatedQuote);
    assert_eq!(col(&x, "gpm_t_mat", "mat"), vec![s("A")]);
}

#[tokio::test]
async fn cut_inside_a_character() {
    // A UTF-8 file cut inside the last character of its last field: not read as Windows-1252
    // (which would garble every accent), but a cut file.
    let dir = folder();
    write(
        dir.path(),
        "gpm_t_mat.csv",
        b"id_eco;mat;descr;unites\n1;A;\xC3\xA9t\xC3\xA9;1\n1;B;2;Fran\xC3",
    );
    let message = assert_cut_file(
        try_read(dir.path(), Encoding::Auto).await,
        "gpm_t_mat",
        "gpm_t_mat.csv",
        3,
    );
    assert!(message.contains("inside a character"), "{message}");
}

#[tokio::test]
async fn missing_file_fails_the_source() {
    let dir = folder();
    std::fs::remove_file(dir.path().join("gpm_t_cal.csv")).expect("remove");
    let err = try_read(dir.path(), Encoding::Auto).await.expect_err("must fail");
    assert!(
        matches!(&err, ConnectError::MissingFile { table, .. } if table == "gpm_t_cal"),
        "{err:?}"
    );
    assert!(err.to_string().contains("gpm_t_cal.csv"), "{err}");
}

#[tokio::test]
async fn missing_required_column_fails_the_source() {
    let dir = folder();
    write(
        dir.path(),
        "gpm_e_abs.csv",
        b"fiche;id_eco;date_abs;motif_abs\n1;1;2024-10-01;M\n",
    );
    let err = try_read(dir.path(), Encoding::Auto).await.expect_err("must fail");
    assert!(
        matches!(&err, ConnectError::MissingColumn { file, column } if file == "gpm_e_abs.csv" && column == "periode"),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(msg.contains("periode") && msg.contains("gpm_e_abs.csv"), "{msg}");
}

#[tokio::test]
async fn no_personal_value_in_messages() {
    let dir = folder();
    let personal = [
        "QWER12345678",
        "Tremblay",
        "Zoéline",
        "2010-02-31",
        "31/02/2010",
        "ZXCV87654321",
        "Bouchard",
        "Anaïs",
    ];
    write(
        dir.path(),
        "gpm_e_ele.csv",
        "fiche;code_perm;nom;pnom;sexe;date_naiss\n\
         1;QWER12345678;Tremblay;Zoéline;F;2010-02-31\n\
         x;QWER12345678;Tremblay;Zoéline;F;2010-01-01\n\
         2;QWER12345678;Tremblay;Zoéline;Q;31/02/2010\n\
         3;QWER12345678;Tremblay;Zoéline;F\n\
         ;ZXCV87654321;Bouchard;Anaïs;F;2010-01-01\n\
         4;ZXCV87654321;Bouchard;Anaïs;F;2010-01-01;de trop\n\
         5;ZXCV87654321;\"Bouchard;Anaïs;F;2010-01-01\n"
            .as_bytes(),
    );
    let x = read(dir.path()).await;
    let r = rejects(&x, "gpm_e_ele.csv");
    assert_eq!(r.len(), 7, "{r:#?}");
    let kinds: Vec<RejectKind> = r.iter().map(|r| r.kind).collect();
    assert_eq!(
        kinds,
        vec![
            RejectKind::UnparsableDate,
            RejectKind::UnparsableNumber,
            RejectKind::OutOfDomain,
            RejectKind::WrongColumnCount,
            RejectKind::MissingValue,
            RejectKind::WrongColumnCount,
            RejectKind::UnterminatedQuote,
        ]
    );
    assert_eq!(r[0].column.as_deref(), Some("date_naiss"));
    for reject in &r {
        for value in personal {
            assert!(!reject.message.contains(value), "{value} in {}", reject.message);
        }
    }
    // The raw record keeps them, for the CSS's own quarantine.
    assert!(r[0].raw.contains("Tremblay"));
    // Invalid bytes in a personal column, in a UTF-8 file.
    write(
        dir.path(),
        "gpm_e_ele.csv",
        b"fiche;code_perm;nom;pnom;sexe;date_naiss\n1;QWER12345678;Tr\xe9mblay;Zo\xe9line;F;2010-01-01\n",
    );
    let x = try_read(dir.path(), Encoding::Utf8).await.expect("read");
    let r = rejects(&x, "gpm_e_ele.csv");
    assert_eq!(r.len(), 1);
    for value in ["QWER12345678", "Tr", "mblay", "line", "2010-01-01"] {
        assert!(!r[0].message.contains(value), "{value} in {}", r[0].message);
    }
}

#[tokio::test]
async fn rejects_sorted_by_file_and_line_and_lines_exact() {
    let dir = folder();
    write(
        dir.path(),
        "gpm_t_leg.csv",
        b"id_eco;leg;seuil_reus\n\n1;A;x\n1;B;60;9\n\n\n1;C;y\n",
    );
    write(
        dir.path(),
        "gpm_t_cal.csv",
        b"id_eco;date_evenement;jour_cycle;nb_periodes\r\n\r\n1;bad;1;4\r\n",
    );
    let x = read(dir.path()).await;
    let got: Vec<(&str, u64)> = x.rejects.iter().map(|r| (r.file.as_str(), r.line)).collect();
    assert_eq!(
        got,
        vec![
            ("gpm_t_cal.csv", 3),
            ("gpm_t_leg.csv", 3),
            ("gpm_t_leg.csv", 4),
            ("gpm_t_leg.csv", 7)
        ]
    );
}
