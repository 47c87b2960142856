//! What varies from one CSS to the next (formats/README.md): every variation must load.

mod common;

use common::*;
use datafusion::arrow::datatypes::{DataType, TimeUnit};
use socle_connect_jade::{ReadOptions, RejectKind, SYSTEM, read_jade};
use socle_dictionary::Encoding;

const ELE: &str = "fiche;codeperm;nom;pnom;datenaiss;sexe\n\
                   1;TREM01020304;Côté;Émilie;2001-05-03;F\n\
                   2;GAGN05060708;Gagnon;Zoé;1999-12-31;M\n";

const RES_HEADER: &str = "codeperm;fiche;ecocenoff;matcharl;annee;moissanct;resecobrute;resecomod;resoffbrute;\
                          resofffinal;indreuscharl;nbunitecharl;typeformcharl;secteurenseignfreq;datehrerecup";

#[tokio::test]
async fn utf8_lf_semicolon() {
    let dir = folder();
    write(dir.path(), "e_ele.csv", ELE.as_bytes());
    let x = read(dir.path()).await;
    assert_eq!(x.system, SYSTEM);
    assert!(x.rejects.is_empty(), "{:#?}", x.rejects);
    assert_eq!(x.tables.len(), 5);
    assert_eq!(x.files.len(), 5);
    let ele = &x.tables["e_ele"];
    assert_eq!((ele.rows_read, ele.rows_loaded), (2, 2));
    assert_eq!(col(&x, "e_ele", "fiche"), vec![s("1"), s("2")]);
    assert_eq!(col(&x, "e_ele", "nom"), vec![s("Côté"), s("Gagnon")]);
    assert_eq!(col(&x, "e_ele", "pnom"), vec![s("Émilie"), s("Zoé")]);
    assert_eq!(col(&x, "e_ele", "datenaiss"), vec![s("2001-05-03"), s("1999-12-31")]);
    assert_eq!(col(&x, "e_ele", "_file"), vec![s("e_ele.csv"), s("e_ele.csv")]);
    assert_eq!(col(&x, "e_ele", "_line"), vec![s("2"), s("3")]);
    let info = x.files.iter().find(|f| f.table == "e_ele").expect("file info");
    assert_eq!((info.encoding.as_str(), info.delimiter), ("utf-8", ';'));
    assert_eq!(info.rows_read, 2);
    assert_eq!(info.bytes, ELE.len() as u64);
    assert_eq!(info.path, dir.path().join("e_ele.csv"));
}

#[tokio::test]
async fn typed_schemas_follow_the_contract() {
    let dir = folder();
    let x = read(dir.path()).await;
    // Header-only files: tables with no rows, no rejects.
    assert!(x.rejects.is_empty(), "{:#?}", x.rejects);
    assert!(x.tables.values().all(|t| t.rows_read == 0 && t.rows_loaded == 0));
    let names: Vec<&str> = x.tables.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        ["e_ele", "e_freq", "e_ri_mentions", "e_ri_resultats", "t_ecocen"]
    );
    let res = &x.tables["e_ri_resultats"].schema;
    let types: Vec<(&str, &DataType)> = res
        .fields()
        .iter()
        .map(|f| (f.name().as_str(), f.data_type()))
        .collect();
    assert_eq!(
        types,
        [
            ("codeperm", &DataType::Utf8),
            ("fiche", &DataType::Int64),
            ("ecocenoff", &DataType::Utf8),
            ("matcharl", &DataType::Utf8),
            ("annee", &DataType::Int64),
            ("moissanct", &DataType::Int64),
            ("resecobrute", &DataType::Utf8),
            ("resecomod", &DataType::Utf8),
            ("resoffbrute", &DataType::Utf8),
            ("resofffinal", &DataType::Utf8),
            ("indreuscharl", &DataType::Utf8),
            ("nbunitecharl", &DataType::Int64),
            ("typeformcharl", &DataType::Utf8),
            ("secteurenseignfreq", &DataType::Utf8),
            ("datehrerecup", &DataType::Timestamp(TimeUnit::Microsecond, None)),
            ("_file", &DataType::Utf8),
            ("_line", &DataType::Int64),
        ]
    );
    let freq = &x.tables["e_freq"].schema;
    for (name, t) in [
        ("datedeb", DataType::Date32),
        ("datefin", DataType::Date32),
        ("annee", DataType::Int64),
    ] {
        assert_eq!(freq.field_with_name(name).map(|f| f.data_type().clone()).ok(), Some(t));
    }
    let men = &x.tables["e_ri_mentions"].schema;
    let date = men.field_with_name("dateobtmention").expect("dateobtmention");
    assert_eq!((date.data_type(), date.is_nullable()), (&DataType::Date32, false));
}

#[tokio::test]
async fn utf8_with_bom() {
    let dir = folder();
    let mut bytes = vec![0xEF, 0xBB, 0xBF];
    bytes.extend_from_slice(ELE.as_bytes());
    write(dir.path(), "e_ele.csv", &bytes);
    for enc in [Encoding::Auto, Encoding::Utf8] {
        let x = try_read(dir.path(), enc).await.expect("read");
        assert!(x.rejects.is_empty(), "{:#?}", x.rejects);
        // The BOM is not part of the first column's name.
        assert_eq!(col(&x, "e_ele", "fiche"), vec![s("1"), s("2")]);
        assert_eq!(col(&x, "e_ele", "nom"), vec![s("Côté"), s("Gagnon")]);
        let info = x.files.iter().find(|f| f.table == "e_ele").expect("info");
        assert_eq!(info.encoding, "utf-8");
        assert_eq!(info.bytes, bytes.len() as u64);
    }
}

#[tokio::test]
async fn windows_1252_with_accents_declared_and_detected() {
    let dir = folder();
    let centres =
        "ecocen;ecooff;descr\n001;063414;Centre Élisabeth-Bruyère\n002;063415;École des métiers de l'équipement\n";
    for (file, text) in [("e_ele.csv", ELE), ("t_ecocen.csv", centres)] {
        let (bytes, _, bad) = encoding_rs::WINDOWS_1252.encode(text);
        assert!(!bad);
        assert!(std::str::from_utf8(&bytes).is_err(), "the test file must not be UTF-8");
        write(dir.path(), file, &bytes);
    }
    for enc in [Encoding::Windows1252, Encoding::Auto] {
        let x = try_read(dir.path(), enc).await.expect("read");
        assert!(x.rejects.is_empty(), "{:#?}", x.rejects);
        assert_eq!(col(&x, "e_ele", "nom"), vec![s("Côté"), s("Gagnon")]);
        assert_eq!(col(&x, "e_ele", "pnom"), vec![s("Émilie"), s("Zoé")]);
        assert_eq!(
            col(&x, "t_ecocen", "descr"),
            vec![s("Centre Élisabeth-Bruyère"), s("École des métiers de l'équipement")]
        );
        for table in ["e_ele", "t_ecocen"] {
            let info = x.files.iter().find(|f| f.table == table).expect("info");
            assert_eq!(info.encoding, "windows-1252", "{table} under {enc:?}");
        }
    }
    // Under `Auto`, the ASCII files of the same night are UTF-8.
    let x = read(dir.path()).await;
    let freq = x.files.iter().find(|f| f.table == "e_freq").expect("info");
    assert_eq!(freq.encoding, "utf-8");
}

#[tokio::test]
async fn auto_encoding_decides_per_file() {
    let dir = folder();
    // Valid UTF-8 throughout: UTF-8.
    write(dir.path(), "e_ele.csv", ELE.as_bytes());
    // One Windows-1252 byte far into the file (after the first 64 KiB scan chunk).
    let mut bytes = b"ecocen;ecooff;descr\n".to_vec();
    for i in 0..4000 {
        bytes.extend_from_slice(format!("C{i:05};063414;Centre numero {i}\n").as_bytes());
    }
    bytes.extend_from_slice(b"Z99999;063414;Centre P\xe8re-Marquette\n");
    assert!(bytes.len() > 65_536);
    write(dir.path(), "t_ecocen.csv", &bytes);
    let x = read(dir.path()).await;
    assert!(x.rejects.is_empty(), "{:#?}", &x.rejects[..x.rejects.len().min(3)]);
    let enc = |t: &str| x.files.iter().find(|f| f.table == t).map(|f| f.encoding.clone());
    assert_eq!(enc("e_ele").as_deref(), Some("utf-8"));
    assert_eq!(enc("t_ecocen").as_deref(), Some("windows-1252"));
    assert_eq!(col(&x, "e_ele", "nom"), vec![s("Côté"), s("Gagnon")]);
    assert_eq!(x.tables["t_ecocen"].rows_loaded, 4001);
    assert_eq!(
        col(&x, "t_ecocen", "descr").last().cloned().flatten(),
        s("Centre Père-Marquette")
    );
}

#[tokio::test]
async fn every_delimiter_with_crlf_and_lf() {
    let rows = [
        vec![
            "fiche",
            "annee",
            "ecocen",
            "prog",
            "datedeb",
            "org",
            "serviceenseign",
            "typefreq",
            "datefin",
            "motifdep",
        ],
        vec![
            "1",
            "2024",
            "001",
            "5321",
            "2024-08-26",
            "866000",
            "FP",
            "FIN",
            "2025-06-20",
            "03",
        ],
        vec!["2", "2024", "002", "1340", "2024-09-03", "866000", "FGA", "FRE", "", ""],
    ];
    for delim in [";", ",", "|", "\t"] {
        for eol in ["\n", "\r\n"] {
            let dir = folder();
            let text: String = rows.iter().map(|r| format!("{}{eol}", r.join(delim))).collect();
            write(dir.path(), "e_freq.csv", text.as_bytes());
            let x = read(dir.path()).await;
            assert!(x.rejects.is_empty(), "{delim:?} {eol:?}: {:#?}", x.rejects);
            assert_eq!(
                col(&x, "e_freq", "prog"),
                vec![s("5321"), s("1340")],
                "{delim:?} {eol:?}"
            );
            assert_eq!(col(&x, "e_freq", "ecocen"), vec![s("001"), s("002")]);
            assert_eq!(col(&x, "e_freq", "datefin"), vec![s("2025-06-20"), None]);
            // The `\r` of CRLF is not part of the last column.
            assert_eq!(col(&x, "e_freq", "motifdep"), vec![s("03"), None], "{delim:?} {eol:?}");
            assert_eq!(col(&x, "e_freq", "_line"), vec![s("2"), s("3")]);
            let info = x.files.iter().find(|f| f.table == "e_freq").expect("info");
            assert_eq!(info.delimiter.to_string(), delim);
        }
    }
}

#[tokio::test]
async fn header_case_column_order_and_extra_columns() {
    let dir = folder();
    write(
        dir.path(),
        "t_ecocen.csv",
        b"DESCR;Colonne_Inconnue;ECOOFF; EcoCen \nCentre A;x;063414;001\n",
    );
    write(
        dir.path(),
        "e_ri_mentions.csv",
        b"DATEOBTMENTION|INDREUSSANCTCHARL|TypeDiplomeCharl|progcharl|autre|ecocenoff|fiche|CODEPERM\n\
          2025-06-30|O|DES|DES|?|063414||TREM01020304\n",
    );
    let x = read(dir.path()).await;
    assert!(x.rejects.is_empty(), "{:#?}", x.rejects);
    assert_eq!(col(&x, "t_ecocen", "ecocen"), vec![s("001")]);
    assert_eq!(col(&x, "t_ecocen", "ecooff"), vec![s("063414")]);
    assert_eq!(col(&x, "t_ecocen", "descr"), vec![s("Centre A")]);
    let names: Vec<String> = x.tables["t_ecocen"]
        .schema
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    assert_eq!(names, ["ecocen", "ecooff", "descr", "_file", "_line"]);
    assert_eq!(col(&x, "e_ri_mentions", "codeperm"), vec![s("TREM01020304")]);
    assert_eq!(col(&x, "e_ri_mentions", "typediplomecharl"), vec![s("DES")]);
    assert_eq!(col(&x, "e_ri_mentions", "dateobtmention"), vec![s("2025-06-30")]);
    assert_eq!(col(&x, "e_ri_mentions", "fiche"), vec![None]);
}

#[tokio::test]
async fn three_date_formats_one_per_file() {
    let dir = folder();
    let h = "fiche;annee;ecocen;prog;datedeb;org;serviceenseign;typefreq;datefin;motifdep";
    // ISO in e_freq, YYYYMMDD in e_ele, DD/MM/YYYY in e_ri_mentions.
    write(
        dir.path(),
        "e_freq.csv",
        format!(
            "{h}\n1;2024;001;5321;2024-08-26;866000;FP;FIN;2024-02-29;\n2;2024;001;5321;2024-09-03;866000;FP;FRE;;\n"
        )
        .as_bytes(),
    );
    write(
        dir.path(),
        "e_ele.csv",
        "fiche;codeperm;nom;pnom;datenaiss;sexe\n1;TREM01020304;Roy;Luc;20010503;M\n2;;Roy;Léa;;F\n".as_bytes(),
    );
    write(
        dir.path(),
        "e_ri_mentions.csv",
        b"codeperm;fiche;ecocenoff;progcharl;typediplomecharl;indreussanctcharl;dateobtmention\n\
          TREM01020304;1;063414;5321;DEP;O;30/06/2025\nGAGN05060708;;063414;DES;DES;N;05/09/2024\n",
    );
    let x = read(dir.path()).await;
    assert!(x.rejects.is_empty(), "{:#?}", x.rejects);
    assert_eq!(col(&x, "e_freq", "datedeb"), vec![s("2024-08-26"), s("2024-09-03")]);
    // Empty = null (an open spell).
    assert_eq!(col(&x, "e_freq", "datefin"), vec![s("2024-02-29"), None]);
    assert_eq!(col(&x, "e_ele", "datenaiss"), vec![s("2001-05-03"), None]);
    assert_eq!(col(&x, "e_ele", "codeperm"), vec![s("TREM01020304"), None]);
    assert_eq!(
        col(&x, "e_ri_mentions", "dateobtmention"),
        vec![s("2025-06-30"), s("2024-09-05")]
    );
    assert_eq!(col(&x, "e_ri_mentions", "fiche"), vec![s("1"), None]);
}

#[tokio::test]
async fn timestamps_of_the_result_copies() {
    let dir = folder();
    let text = format!(
        "{RES_HEADER}\n\
         AAAA01010101;;063414;132406;2025;6;78;80;72;76;R;4;FG;JE;2025-07-05 14:05:09\n\
         AAAA01010101;;063414;132406;2025;6;78;80;72;76;R;4;FG;JE;2025-07-06T08:30\n\
         AAAA01010101;;063414;132406;2025;6;78;80;72;76;R;4;FG;JE;07/07/2025 09:15:30\n\
         AAAA01010101;;063414;132406;2025;6;78;80;72;76;R;4;FG;JE;08/07/2025 10:00\n\
         AAAA01010101;;063414;132406;2025;6;78;80;72;76;R;4;FG;JE;2025-07-09 11:12:13.250000\n"
    );
    write(dir.path(), "e_ri_resultats.csv", text.as_bytes());
    let x = read(dir.path()).await;
    assert!(x.rejects.is_empty(), "{:#?}", x.rejects);
    assert_eq!(
        col(&x, "e_ri_resultats", "datehrerecup"),
        vec![
            s("2025-07-05T14:05:09"),
            s("2025-07-06T08:30:00"),
            s("2025-07-07T09:15:30"),
            s("2025-07-08T10:00:00"),
            s("2025-07-09T11:12:13.250"),
        ]
    );
}

#[tokio::test]
async fn copies_of_a_result_all_load_an_exact_repeat_does_not() {
    let dir = folder();
    let text = format!(
        "{RES_HEADER}\n\
         TREM01020304;12;063414;132406;2025;6;58;60;55;57;E;4;FG;AD;2025-07-05 14:05:09\n\
         TREM01020304;12;063414;132406;2025;6;58;62;55;61;R;4;FG;AD;2025-08-20 03:00:00\n\
         TREM01020304;12;063414;132406;2025;8;;;70;70;R;4;FG;AD;2025-08-20 03:00:00\n\
         TREM01020304;12;063414;132406;2025;6;58;62;55;61;R;4;FG;AD;20/08/2025 03:00:00\n\
         TREM01020304;12;063414;132406;2025;6;58;60;55;57;E;4;FG;AD;2025-07-05 14:05:09\n"
    );
    write(dir.path(), "e_ri_resultats.csv", text.as_bytes());
    let x = read(dir.path()).await;
    // Lines 2 and 3 differ by datehrerecup only: both are kept (normalisation keeps the latest).
    // Line 4 is another session month. Line 5 is line 3's copy written day-first: the same
    // instant, a duplicate key once typed. Line 6 repeats line 2 exactly.
    let key = "codeperm, matcharl, annee, moissanct, datehrerecup";
    assert_eq!(
        summary(&x, "e_ri_resultats.csv"),
        vec![
            rj(5, Some(key), RejectKind::DuplicateKey),
            rj(6, Some(key), RejectKind::DuplicateKey)
        ]
    );
    let r = rejects(&x, "e_ri_resultats.csv");
    assert!(r[0].message.contains("line 3"), "{}", r[0].message);
    assert!(r[1].message.contains("line 2"), "{}", r[1].message);
    // The key holds the code permanent: its value is not shown.
    assert_no_personal(&x, &["TREM01020304"]);
    assert_eq!(col(&x, "e_ri_resultats", "_line"), vec![s("2"), s("3"), s("4")]);
    assert_eq!(
        col(&x, "e_ri_resultats", "resofffinal"),
        vec![s("57"), s("61"), s("70")]
    );
    assert_eq!(col(&x, "e_ri_resultats", "moissanct"), vec![s("6"), s("6"), s("8")]);
    let t = &x.tables["e_ri_resultats"];
    assert_eq!((t.rows_read, t.rows_loaded), (5, 3));
}

#[tokio::test]
async fn result_columns_are_text_as_exported() {
    let dir = folder();
    let text = format!(
        "{RES_HEADER}\n\
         AAAA01010101;;063414;132406;2025;6;78,5;80.5;072;ABS;E;;FG;JE;2025-07-05 14:05\n\
         BBBB02020202;7;063414;132406;2025;6; EQU ;;;EQU;R;4;;AD;2025-07-05 14:05\n\
         CCCC03030303;8;063414;MAT4173;2025;1;;;;;;;;AD;2025-07-05 14:05\n"
    );
    write(dir.path(), "e_ri_resultats.csv", text.as_bytes());
    let x = read(dir.path()).await;
    assert!(x.rejects.is_empty(), "{:#?}", x.rejects);
    // Decimal comma or point, leading zeros, codes: kept as exported (trimmed); empty is null.
    assert_eq!(
        col(&x, "e_ri_resultats", "resecobrute"),
        vec![s("78,5"), s("EQU"), None]
    );
    assert_eq!(col(&x, "e_ri_resultats", "resecomod"), vec![s("80.5"), None, None]);
    assert_eq!(col(&x, "e_ri_resultats", "resoffbrute"), vec![s("072"), None, None]);
    assert_eq!(col(&x, "e_ri_resultats", "resofffinal"), vec![s("ABS"), s("EQU"), None]);
    assert_eq!(col(&x, "e_ri_resultats", "indreuscharl"), vec![s("E"), s("R"), None]);
    assert_eq!(col(&x, "e_ri_resultats", "nbunitecharl"), vec![None, s("4"), None]);
    assert_eq!(col(&x, "e_ri_resultats", "fiche"), vec![None, s("7"), s("8")]);
    assert_eq!(col(&x, "e_ri_resultats", "typeformcharl"), vec![s("FG"), None, None]);
}

#[tokio::test]
async fn spaces_trimmed_and_leading_zeros_kept() {
    let dir = folder();
    write(
        dir.path(),
        "t_ecocen.csv",
        b"ecocen;ecooff;descr\n 001 ; 063414 ;  Centre des Pins  \n0002;000123;\n",
    );
    write(
        dir.path(),
        "e_freq.csv",
        b"fiche;annee;ecocen;prog;datedeb;org;serviceenseign;typefreq;datefin;motifdep\n 0042 ; 2024 ; 001 ; 05321 ; 2024-08-26 ; 866000 ; FP ; FIN ;  ; 03 \n",
    );
    let x = read(dir.path()).await;
    assert!(x.rejects.is_empty(), "{:#?}", x.rejects);
    assert_eq!(col(&x, "t_ecocen", "ecocen"), vec![s("001"), s("0002")]);
    assert_eq!(col(&x, "t_ecocen", "ecooff"), vec![s("063414"), s("000123")]);
    assert_eq!(col(&x, "t_ecocen", "descr"), vec![s("Centre des Pins"), None]);
    assert_eq!(col(&x, "e_freq", "fiche"), vec![s("42")]);
    assert_eq!(col(&x, "e_freq", "ecocen"), vec![s("001")]);
    assert_eq!(col(&x, "e_freq", "prog"), vec![s("05321")]);
    assert_eq!(col(&x, "e_freq", "serviceenseign"), vec![s("FP")]);
    assert_eq!(col(&x, "e_freq", "datedeb"), vec![s("2024-08-26")]);
    assert_eq!(col(&x, "e_freq", "datefin"), vec![None]);
    assert_eq!(col(&x, "e_freq", "motifdep"), vec![s("03")]);
}

#[tokio::test]
async fn rfc4180_quoting_and_no_final_line_break() {
    let dir = folder();
    write(
        dir.path(),
        "t_ecocen.csv",
        b"ecocen,ecooff,descr\r\n\"001\",063414,\"Centre Lavoie, Laval\"\r\n002,063415,\"Centre \"\"Le Phare\"\"\r\nannexe\"\r\n003,063416,Centre C",
    );
    let x = read(dir.path()).await;
    assert!(x.rejects.is_empty(), "{:#?}", x.rejects);
    assert_eq!(
        col(&x, "t_ecocen", "descr"),
        vec![
            s("Centre Lavoie, Laval"),
            s("Centre \"Le Phare\"\r\nannexe"),
            s("Centre C")
        ]
    );
    assert_eq!(col(&x, "t_ecocen", "_line"), vec![s("2"), s("3"), s("5")]);
}

#[tokio::test]
async fn small_batches_keep_line_order() {
    let dir = folder();
    let mut text = format!("{RES_HEADER}\n");
    for i in 0..25 {
        text.push_str(&format!(
            "ABCD{i:08};;063414;132406;2025;6;70;70;70;70;R;4;FG;JE;2025-07-05 14:05:09\n"
        ));
    }
    write(dir.path(), "e_ri_resultats.csv", text.as_bytes());
    let opts = ReadOptions {
        encoding: Encoding::Auto,
        batch_size: 10,
    };
    let x = read_jade(dir.path(), &source(), &opts).await.expect("read");
    let t = &x.tables["e_ri_resultats"];
    assert_eq!((t.rows_read, t.rows_loaded), (25, 25));
    assert!(t.batches.iter().all(|b| b.num_rows() <= 10));
    let expected: Vec<Option<String>> = (2..27).map(|l| Some(l.to_string())).collect();
    assert_eq!(col(&x, "e_ri_resultats", "_line"), expected);
}
