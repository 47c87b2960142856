//! Bad input the connector must survive: each is reported with file, line, column and reason and
//! the rest of the night still loads; a missing file or column fails the whole source. No
//! message shows a code permanent, a name or a birth date.

mod common;

use common::*;
use socle_connect_jade::{ConnectError, RejectKind};
use socle_dictionary::Encoding;

const FREQ: &str = "fiche;annee;ecocen;prog;datedeb;org;serviceenseign;typefreq;datefin;motifdep";
const RES: &str = "codeperm;fiche;ecocenoff;matcharl;annee;moissanct;resecobrute;resecomod;resoffbrute;\
                   resofffinal;indreuscharl;nbunitecharl;typeformcharl;secteurenseignfreq;datehrerecup";
const MEN: &str = "codeperm;fiche;ecocenoff;progcharl;typediplomecharl;indreussanctcharl;dateobtmention";

/// Codes permanents, names and birth dates used in the bad rows below.
const PERSONAL: [&str; 10] = [
    "TREM01020304",
    "GAGN05060708",
    "QWER12345678",
    "Tremblay",
    "Zoéline",
    "Gagnon",
    "Anaïs",
    "2001-02-31",
    "31/02/2001",
    "20010231",
];

#[tokio::test]
async fn wrong_column_count() {
    let dir = folder();
    write(
        dir.path(),
        "e_freq.csv",
        format!(
            "{FREQ}\n1;2024;001;5321;2024-08-26;866000;FP;FIN;;\n2;2024;001;5321;2024-08-26;866000;FP;FIN;;;de trop\n\
             3;2024;001;5321;2024-08-26;866000;FP\n4;2024;001;5321;2024-08-26;866000;FP;FIN;;\n"
        )
        .as_bytes(),
    );
    let x = read(dir.path()).await;
    assert_eq!(
        summary(&x, "e_freq.csv"),
        vec![
            rj(3, None, RejectKind::WrongColumnCount),
            rj(4, None, RejectKind::WrongColumnCount)
        ]
    );
    let r = rejects(&x, "e_freq.csv");
    assert!(
        r[0].message.contains("11 fields") && r[0].message.contains("10"),
        "{}",
        r[0].message
    );
    assert_eq!(r[0].raw, "2;2024;001;5321;2024-08-26;866000;FP;FIN;;;de trop");
    assert_eq!(r[0].table, "e_freq");
    assert_eq!(col(&x, "e_freq", "fiche"), vec![s("1"), s("4")]);
    let t = &x.tables["e_freq"];
    assert_eq!((t.rows_read, t.rows_loaded), (4, 2));
}

#[tokio::test]
async fn unterminated_quote() {
    // In the middle: the quote opened on line 3 closes on line 4, the merged record is wrong.
    let dir = folder();
    write(
        dir.path(),
        "t_ecocen.csv",
        b"ecocen;ecooff;descr\n001;063414;ok\n002;063415;\"Centre ouvert\n003;063416;x\";9\n004;063417;ok\n",
    );
    let x = read(dir.path()).await;
    assert_one(&x, "t_ecocen.csv", 3, None, RejectKind::UnterminatedQuote);
    assert_eq!(col(&x, "t_ecocen", "ecocen"), vec![s("001"), s("004")]);
    assert_eq!(col(&x, "t_ecocen", "_line"), vec![s("2"), s("5")]);
    // At the end of the file, with or without a final line break.
    for text in ["ecocen;ecooff;descr\n001;063414;ok\n002;063415;\"jamais fermé\n003;063416;x\n"] {
        let dir = folder();
        write(dir.path(), "t_ecocen.csv", text.as_bytes());
        let x = read(dir.path()).await;
        assert_one(&x, "t_ecocen.csv", 3, None, RejectKind::UnterminatedQuote);
        assert_eq!(col(&x, "t_ecocen", "ecocen"), vec![s("001")], "{text:?}");
    }
    // Without a final line end, the file is cut inside the quoted field: the source fails.
    let dir = folder();
    write(
        dir.path(),
        "t_ecocen.csv",
        "ecocen;ecooff;descr\r\n001;063414;ok\r\n002;063415;\"jamais fermé".as_bytes(),
    );
    assert_cut_file(
        try_read(dir.path(), Encoding::Auto).await,
        "t_ecocen",
        "t_ecocen.csv",
        3,
    );
}

#[tokio::test]
async fn undecodable_bytes_in_a_file_declared_utf8() {
    let dir = folder();
    write(
        dir.path(),
        "e_ele.csv",
        b"fiche;codeperm;nom;pnom;datenaiss;sexe\n1;TREM01020304;Tr\xe9mblay;Zo\xe9line;2001-01-01;F\n2;GAGN05060708;Gagnon;Luc;2001-02-02;M\n",
    );
    let x = try_read(dir.path(), Encoding::Utf8).await.expect("read");
    assert_one(&x, "e_ele.csv", 2, Some("nom"), RejectKind::InvalidEncoding);
    let r = &rejects(&x, "e_ele.csv")[0];
    for value in ["TREM01020304", "Tr", "mblay", "line", "2001-01-01", "\u{fffd}"] {
        assert!(!r.message.contains(value), "{value} in {}", r.message);
    }
    assert_eq!(col(&x, "e_ele", "fiche"), vec![s("2")]);
    // The same bytes under `Auto` make the file Windows-1252: both rows load.
    let x = read(dir.path()).await;
    assert!(x.rejects.is_empty(), "{:#?}", x.rejects);
    assert_eq!(col(&x, "e_ele", "nom"), vec![s("Trémblay"), s("Gagnon")]);
}

#[tokio::test]
async fn unparsable_dates_and_timestamps() {
    let dir = folder();
    write(
        dir.path(),
        "e_freq.csv",
        format!(
            "{FREQ}\n1;2024;001;5321;2024-08-26;866000;FP;FIN;;\n2;2024;001;5321;2024-02-30;866000;FP;FIN;;\n\
             3;2024;001;5321;2024-08-26;866000;FP;FIN;32/01/2025;\n4;2024;001;5321;26-08-2024;866000;FP;FIN;;\n"
        )
        .as_bytes(),
    );
    write(
        dir.path(),
        "e_ri_resultats.csv",
        format!(
            "{RES}\nAAAA01010101;;063414;132406;2025;6;70;70;70;70;R;4;FG;JE;2025-07-05 14:05:09\n\
             BBBB01010101;;063414;132406;2025;6;70;70;70;70;R;4;FG;JE;2025-07-05\n\
             CCCC01010101;;063414;132406;2025;6;70;70;70;70;R;4;FG;JE;2025-02-30 10:00:00\n\
             DDDD01010101;;063414;132406;2025;6;70;70;70;70;R;4;FG;JE;hier\n"
        )
        .as_bytes(),
    );
    let x = read(dir.path()).await;
    assert_eq!(
        summary(&x, "e_freq.csv"),
        vec![
            rj(3, Some("datedeb"), RejectKind::UnparsableDate),
            rj(4, Some("datefin"), RejectKind::UnparsableDate),
            rj(5, Some("datedeb"), RejectKind::UnparsableDate),
        ]
    );
    let r = rejects(&x, "e_freq.csv");
    assert!(
        r[0].message.contains("2024-02-30") && r[0].message.contains("datedeb"),
        "{}",
        r[0].message
    );
    assert_eq!(col(&x, "e_freq", "fiche"), vec![s("1")]);
    let ts = Some("datehrerecup");
    assert_eq!(
        summary(&x, "e_ri_resultats.csv"),
        vec![
            rj(3, ts, RejectKind::UnparsableDate),
            rj(4, ts, RejectKind::UnparsableDate),
            rj(5, ts, RejectKind::UnparsableDate),
        ]
    );
    let r = rejects(&x, "e_ri_resultats.csv");
    assert!(r[0].message.contains("date and time"), "{}", r[0].message);
    assert_eq!(x.tables["e_ri_resultats"].rows_loaded, 1);
}

#[tokio::test]
async fn unparsable_numbers() {
    let dir = folder();
    write(
        dir.path(),
        "e_freq.csv",
        format!(
            "{FREQ}\n12a;2024;001;5321;2024-08-26;866000;FP;FIN;;\n2;2024.5;001;5321;2024-08-26;866000;FP;FIN;;\n\
             3;2024;001;5321;2024-08-26;866000;FP;FIN;;\n"
        )
        .as_bytes(),
    );
    write(
        dir.path(),
        "e_ri_resultats.csv",
        format!(
            "{RES}\nAAAA01010101;;063414;132406;2025;juin;70;70;70;70;R;4;FG;JE;2025-07-05 14:05\n\
             BBBB01010101;x;063414;132406;2025;6;70;70;70;70;R;4;FG;JE;2025-07-05 14:05\n\
             CCCC01010101;;063414;132406;2025;6;70;70;70;70;R;4,0;FG;JE;2025-07-05 14:05\n\
             DDDD01010101;;063414;132406;2025;6;70;70;70;70;R;4;FG;JE;2025-07-05 14:05\n"
        )
        .as_bytes(),
    );
    let x = read(dir.path()).await;
    assert_eq!(
        summary(&x, "e_freq.csv"),
        vec![
            rj(2, Some("fiche"), RejectKind::UnparsableNumber),
            rj(3, Some("annee"), RejectKind::UnparsableNumber)
        ]
    );
    let r = rejects(&x, "e_freq.csv");
    assert!(
        r[0].message.contains("12a") && r[0].message.contains("integer"),
        "{}",
        r[0].message
    );
    assert_eq!(col(&x, "e_freq", "fiche"), vec![s("3")]);
    assert_eq!(
        summary(&x, "e_ri_resultats.csv"),
        vec![
            rj(2, Some("moissanct"), RejectKind::UnparsableNumber),
            rj(3, Some("fiche"), RejectKind::UnparsableNumber),
            rj(4, Some("nbunitecharl"), RejectKind::UnparsableNumber),
        ]
    );
    assert_eq!(x.tables["e_ri_resultats"].rows_loaded, 1);
}

#[tokio::test]
async fn missing_values() {
    let dir = folder();
    write(
        dir.path(),
        "e_ri_mentions.csv",
        format!(
            "{MEN}\nAAAA01010101;;063414;5321;DEP;O;2025-06-30\nBBBB01010101;1;063414;5321;DEP;O;\n\
             CCCC01010101;2;063414;  ;DEP;O;2025-06-30\n;3;063414;5321;DEP;O;2025-06-30\n"
        )
        .as_bytes(),
    );
    let x = read(dir.path()).await;
    assert_eq!(
        summary(&x, "e_ri_mentions.csv"),
        vec![
            rj(3, Some("dateobtmention"), RejectKind::MissingValue),
            rj(4, Some("progcharl"), RejectKind::MissingValue),
            rj(5, Some("codeperm"), RejectKind::MissingValue),
        ]
    );
    // fiche is nullable (youth-sector students have none).
    assert_eq!(col(&x, "e_ri_mentions", "fiche"), vec![None]);
    assert!(rejects(&x, "e_ri_mentions.csv")[0].message.contains("dateobtmention"));
}

#[tokio::test]
async fn out_of_domain() {
    let dir = folder();
    write(
        dir.path(),
        "e_freq.csv",
        format!(
            "{FREQ}\n1;2024;001;5321;2024-08-26;866000;FP;FIN;;\n2;2024;001;5321;2024-08-26;866000;FP;XYZ;;\n\
             3;2024;001;5321;2024-08-26;866000;fga;FRE;;\n4;1800;001;5321;2024-08-26;866000;FGA;FRE;;\n\
             5;2024;001;5321;2024-08-26;866000;FGA;fin;;\n"
        )
        .as_bytes(),
    );
    write(
        dir.path(),
        "e_ri_resultats.csv",
        format!(
            "{RES}\nAAAA01010101;;063414;132406;2025;6;70;70;70;70;R;4;FG;JE;2025-07-05 14:05\n\
             BBBB01010101;;063414;132406;2025;6;70;70;70;70;R;4;FG;XX;2025-07-05 14:05\n\
             CCCC01010101;;63414;132406;2025;6;70;70;70;70;R;4;FG;AD;2025-07-05 14:05\n\
             DDDD01010101;;063414;132406;2025;13;70;70;70;70;R;4;FG;AD;2025-07-05 14:05\n\
             EEEE01010101;;063414;132406;2025;6;70;70;70;70;R;-1;FG;AD;2025-07-05 14:05\n"
        )
        .as_bytes(),
    );
    write(
        dir.path(),
        "e_ri_mentions.csv",
        format!("{MEN}\nAAAA01010101;;063414;5321;DEP;O;2025-06-30\nBBBB01010101;;063414;5321;DEP;Y;2025-06-30\n")
            .as_bytes(),
    );
    write(
        dir.path(),
        "t_ecocen.csv",
        b"ecocen;ecooff;descr\n001;063414;A\n002;06341X;B\n",
    );
    let x = read(dir.path()).await;
    assert_eq!(
        summary(&x, "e_freq.csv"),
        vec![
            rj(3, Some("typefreq"), RejectKind::OutOfDomain),
            rj(4, Some("serviceenseign"), RejectKind::OutOfDomain),
            rj(5, Some("annee"), RejectKind::OutOfDomain),
            rj(6, Some("typefreq"), RejectKind::OutOfDomain),
        ]
    );
    let r = rejects(&x, "e_freq.csv");
    assert!(
        r[0].message.contains("XYZ") && r[0].message.contains("FIN, FRE"),
        "{}",
        r[0].message
    );
    assert_eq!(col(&x, "e_freq", "fiche"), vec![s("1")]);
    assert_eq!(
        summary(&x, "e_ri_resultats.csv"),
        vec![
            rj(3, Some("secteurenseignfreq"), RejectKind::OutOfDomain),
            rj(4, Some("ecocenoff"), RejectKind::OutOfDomain),
            rj(5, Some("moissanct"), RejectKind::OutOfDomain),
            rj(6, Some("nbunitecharl"), RejectKind::OutOfDomain),
        ]
    );
    assert_one(
        &x,
        "e_ri_mentions.csv",
        3,
        Some("indreussanctcharl"),
        RejectKind::OutOfDomain,
    );
    assert_one(&x, "t_ecocen.csv", 3, Some("ecooff"), RejectKind::OutOfDomain);
    assert_no_personal(
        &x,
        &[
            "AAAA01010101",
            "BBBB01010101",
            "CCCC01010101",
            "DDDD01010101",
            "EEEE01010101",
        ],
    );
}

#[tokio::test]
async fn duplicate_keys_first_row_kept() {
    let dir = folder();
    write(
        dir.path(),
        "e_ele.csv",
        "fiche;codeperm;nom;pnom;datenaiss;sexe\n1;TREM01020304;Tremblay;Luc;2001-01-01;M\n2;GAGN05060708;Gagnon;Anaïs;2001-02-02;F\n01;TREM01020304;Tremblay;Luc;2001-01-01;M\n".as_bytes(),
    );
    // The same spell with its start date in another format is the same key once typed.
    write(
        dir.path(),
        "e_freq.csv",
        format!(
            "{FREQ}\n1;2024;001;5321;2024-08-26;866000;FP;FIN;;\n1;2024;001;5321;2025-01-13;866000;FP;FIN;;\n\
             1;2024; 001 ;5321;26/08/2024;866000;FP;FRE;;\n1;2024;001;5321;bad;866000;FP;FIN;;\n"
        )
        .as_bytes(),
    );
    write(
        dir.path(),
        "t_ecocen.csv",
        b"ecocen;ecooff;descr\n001;063414;A\n01;063414;B\n001;063415;C\n",
    );
    let x = read(dir.path()).await;
    let r = rejects(&x, "e_ele.csv");
    assert_one(&x, "e_ele.csv", 4, Some("fiche"), RejectKind::DuplicateKey);
    assert!(
        r[0].message.contains("line 2") && r[0].message.contains("(1)"),
        "{}",
        r[0].message
    );
    assert_eq!(col(&x, "e_ele", "pnom"), vec![s("Luc"), s("Anaïs")]);
    // Line 5 fails its own check and does not count as a duplicate.
    assert_eq!(
        summary(&x, "e_freq.csv"),
        vec![
            rj(4, Some("fiche, annee, ecocen, prog, datedeb"), RejectKind::DuplicateKey),
            rj(5, Some("datedeb"), RejectKind::UnparsableDate),
        ]
    );
    assert_eq!(col(&x, "e_freq", "datedeb"), vec![s("2024-08-26"), s("2025-01-13")]);
    // ecocen is text: `01` and `001` are different centres.
    assert_one(&x, "t_ecocen.csv", 4, Some("ecocen"), RejectKind::DuplicateKey);
    assert_eq!(col(&x, "t_ecocen", "ecocen"), vec![s("001"), s("01")]);
    assert_no_personal(&x, &PERSONAL);
}

#[tokio::test]
async fn empty_files() {
    // A 0-byte file is a failed export: the source fails, naming the file, like a missing file.
    let dir = folder();
    write(dir.path(), "e_ri_mentions.csv", b"");
    let message = assert_empty_file(
        try_read(dir.path(), Encoding::Auto).await,
        "e_ri_mentions",
        "e_ri_mentions.csv",
    );
    assert!(message.contains("0 bytes"), "{message}");
    // So is a file with no header.
    let dir = folder();
    write(dir.path(), "t_ecocen.csv", b"\xEF\xBB\xBF\r\n\r\n");
    assert_empty_file(try_read(dir.path(), Encoding::Auto).await, "t_ecocen", "t_ecocen.csv");
    // A header with no rows is a valid empty table.
    let dir = folder();
    write(
        dir.path(),
        "e_ele.csv",
        b"fiche;codeperm;nom;pnom;datenaiss;sexe\n1;;;;;\n",
    );
    let x = read(dir.path()).await;
    assert!(x.rejects.is_empty(), "{:#?}", x.rejects);
    let t = &x.tables["e_ri_mentions"];
    assert_eq!((t.rows_read, t.rows_loaded), (0, 0));
    assert_eq!(t.schema.fields().len(), 9);
    assert_eq!(x.tables["e_ele"].rows_loaded, 1);
}

#[tokio::test]
async fn truncated_last_line() {
    let dir = folder();
    write(
        dir.path(),
        "e_ri_resultats.csv",
        format!(
            "{RES}\r\nAAAA01010101;;063414;132406;2025;6;70;70;70;70;R;4;FG;JE;2025-07-05 14:05\r\n\
             BBBB01010101;;063414;132406;2025;6;70;70;70;70;R;4;FG;JE;2025-07-05 14:05\r\nCCCC01010101;;0634"
        )
        .as_bytes(),
    );
    let message = assert_cut_file(
        try_read(dir.path(), Encoding::Auto).await,
        "e_ri_resultats",
        "e_ri_resultats.csv",
        4,
    );
    assert!(message.contains("3 fields of 15"), "{message}");
    // The failure never quotes the record.
    assert!(!message.contains("CCCC01010101"), "{message}");
}

#[tokio::test]
async fn missing_file_fails_the_source() {
    let dir = folder();
    std::fs::remove_file(dir.path().join("e_ri_mentions.csv")).expect("remove");
    let err = try_read(dir.path(), Encoding::Auto).await.expect_err("must fail");
    assert!(
        matches!(&err, ConnectError::MissingFile { table, .. } if table == "e_ri_mentions"),
        "{err:?}"
    );
    assert!(err.to_string().contains("e_ri_mentions.csv"), "{err}");
}

#[tokio::test]
async fn missing_required_column_fails_the_source() {
    let dir = folder();
    let header = RES.replace(";datehrerecup", "");
    write(
        dir.path(),
        "e_ri_resultats.csv",
        format!("{header}\nAAAA01010101;;063414;132406;2025;6;70;70;70;70;R;4;FG;JE\n").as_bytes(),
    );
    let err = try_read(dir.path(), Encoding::Auto).await.expect_err("must fail");
    assert!(
        matches!(&err, ConnectError::MissingColumn { file, column } if file == "e_ri_resultats.csv" && column == "datehrerecup"),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains("datehrerecup") && msg.contains("e_ri_resultats.csv"),
        "{msg}"
    );
}

#[tokio::test]
async fn no_personal_value_in_any_message() {
    let dir = folder();
    write(
        dir.path(),
        "e_ele.csv",
        "fiche;codeperm;nom;pnom;datenaiss;sexe\n\
         1;TREM01020304;Tremblay;Zoéline;2001-02-31;F\n\
         x;TREM01020304;Tremblay;Zoéline;2001-01-01;F\n\
         2;TREM01020304;Tremblay;Zoéline;31/02/2001;F\n\
         3;QWER12345678;Tremblay;Zoéline;20010231;F\n\
         4;GAGN05060708;Gagnon;Anaïs;2001-01-01\n\
         ;GAGN05060708;Gagnon;Anaïs;2001-01-01;F\n\
         5;GAGN05060708;Gagnon;Anaïs;2001-01-01;F;de trop\n\
         6;GAGN05060708;\"Gagnon;Anaïs;2001-01-01;F\n"
            .as_bytes(),
    );
    write(
        dir.path(),
        "e_ri_resultats.csv",
        format!(
            "{RES}\nTREM01020304;1;063414;132406;2025;6;70;70;70;70;R;4;FG;JE;2025-07-05 14:05\n\
             TREM01020304;1;063414;132406;2025;6;70;70;70;70;R;4;FG;JE;2025-07-05 14:05\n\
             GAGN05060708;1;063414;132406;2025;6;70;70;70;70;R;4;FG;ZZ;2025-07-05 14:05\n\
             ;1;063414;132406;2025;6;70;70;70;70;R;4;FG;JE;2025-07-05 14:05\n"
        )
        .as_bytes(),
    );
    write(
        dir.path(),
        "e_ri_mentions.csv",
        format!("{MEN}\nQWER12345678;;063414;5321;DEP;O;2025-13-01\nQWER12345678;;063414;5321;DEP;O;2025-06-30\n")
            .as_bytes(),
    );
    let x = read(dir.path()).await;
    let kinds: Vec<RejectKind> = rejects(&x, "e_ele.csv").iter().map(|r| r.kind).collect();
    assert_eq!(
        kinds,
        vec![
            RejectKind::UnparsableDate,
            RejectKind::UnparsableNumber,
            RejectKind::UnparsableDate,
            RejectKind::UnparsableDate,
            RejectKind::WrongColumnCount,
            RejectKind::MissingValue,
            RejectKind::WrongColumnCount,
            RejectKind::UnterminatedQuote,
        ]
    );
    assert_eq!(rejects(&x, "e_ele.csv")[0].column.as_deref(), Some("datenaiss"));
    assert_eq!(
        summary(&x, "e_ri_resultats.csv"),
        vec![
            rj(
                3,
                Some("codeperm, matcharl, annee, moissanct, datehrerecup"),
                RejectKind::DuplicateKey
            ),
            rj(4, Some("secteurenseignfreq"), RejectKind::OutOfDomain),
            rj(5, Some("codeperm"), RejectKind::MissingValue),
        ]
    );
    assert_one(
        &x,
        "e_ri_mentions.csv",
        2,
        Some("dateobtmention"),
        RejectKind::UnparsableDate,
    );
    assert_no_personal(&x, &PERSONAL);
    // The raw record keeps them, for the CSS's own quarantine only.
    assert!(rejects(&x, "e_ele.csv")[0].raw.contains("Tremblay"));
    assert_eq!(x.tables["e_ri_mentions"].rows_loaded, 1);
}

#[tokio::test]
async fn rejects_sorted_by_file_and_line_and_the_night_still_loads() {
    let dir = folder();
    write(
        dir.path(),
        "t_ecocen.csv",
        b"ecocen;ecooff;descr\n\n001;bad;A\n002;063414;B;9\n\n\n003;063415;C\n",
    );
    write(
        dir.path(),
        "e_freq.csv",
        format!(
            "{FREQ}\r\n\r\n1;2024;001;5321;jamais;866000;FP;FIN;;\r\n2;2024;001;5321;2024-08-26;866000;FP;FIN;;\r\n"
        )
        .as_bytes(),
    );
    let x = read(dir.path()).await;
    let got: Vec<(&str, u64)> = x.rejects.iter().map(|r| (r.file.as_str(), r.line)).collect();
    assert_eq!(got, vec![("e_freq.csv", 3), ("t_ecocen.csv", 3), ("t_ecocen.csv", 4)]);
    assert_eq!(col(&x, "t_ecocen", "_line"), vec![s("7")]);
    assert_eq!(col(&x, "e_freq", "_line"), vec![s("4")]);
}
