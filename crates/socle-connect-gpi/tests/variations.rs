//! What varies from one CSS to the next: every variation must load.

mod common;

use common::*;
use datafusion::arrow::datatypes::DataType;
use sha2::{Digest, Sha256};
use socle_connect_gpi::{ReadOptions, read_gpi};
use socle_dictionary::Encoding;

const ELE: &str = "fiche;code_perm;nom;pnom;sexe;date_naiss\n\
                   1;TREM01020304;Côté;Émilie;F;2010-05-03\n\
                   2;GAGN05060708;Gagnon;Zoé;M;2011-12-31\n";

#[tokio::test]
async fn utf8_lf_semicolon() {
    let dir = folder();
    write(dir.path(), "gpm_e_ele.csv", ELE.as_bytes());
    let x = read(dir.path()).await;
    assert!(x.rejects.is_empty(), "{:#?}", x.rejects);
    assert_eq!(x.tables.len(), 12);
    assert_eq!(x.files.len(), 12);
    let ele = &x.tables["gpm_e_ele"];
    assert_eq!((ele.rows_read, ele.rows_loaded), (2, 2));
    assert_eq!(col(&x, "gpm_e_ele", "nom"), vec![s("Côté"), s("Gagnon")]);
    assert_eq!(col(&x, "gpm_e_ele", "pnom"), vec![s("Émilie"), s("Zoé")]);
    assert_eq!(col(&x, "gpm_e_ele", "fiche"), vec![s("1"), s("2")]);
    assert_eq!(
        col(&x, "gpm_e_ele", "date_naiss"),
        vec![s("2010-05-03"), s("2011-12-31")]
    );
    assert_eq!(
        col(&x, "gpm_e_ele", "_file"),
        vec![s("gpm_e_ele.csv"), s("gpm_e_ele.csv")]
    );
    assert_eq!(col(&x, "gpm_e_ele", "_line"), vec![s("2"), s("3")]);
    let info = x.files.iter().find(|f| f.table == "gpm_e_ele").expect("file info");
    assert_eq!(info.encoding, "utf-8");
    assert_eq!(info.delimiter, ';');
    assert_eq!(info.rows_read, 2);
    assert_eq!(info.bytes, ELE.len() as u64);
    assert_eq!(info.sha256, hex::encode(Sha256::digest(ELE.as_bytes())));
    assert_eq!(info.path, dir.path().join("gpm_e_ele.csv"));
}

#[tokio::test]
async fn typed_schema_in_contract_order_with_lineage() {
    let dir = folder();
    let x = read(dir.path()).await;
    let schema = &x.tables["gpm_e_ele"].schema;
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    assert_eq!(
        names,
        [
            "fiche",
            "code_perm",
            "nom",
            "pnom",
            "sexe",
            "date_naiss",
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
    let leg = &x.tables["gpm_t_leg"].schema;
    assert_eq!(
        leg.field_with_name("seuil_reus").map(|f| f.data_type().clone()).ok(),
        Some(DataType::Float64)
    );
    // Header-only files: tables with no rows, no rejects.
    assert!(x.rejects.is_empty(), "{:#?}", x.rejects);
    assert!(x.tables.values().all(|t| t.rows_read == 0 && t.rows_loaded == 0));
}

#[tokio::test]
async fn utf8_bom() {
    let dir = folder();
    let mut bytes = vec![0xEF, 0xBB, 0xBF];
    bytes.extend_from_slice(ELE.as_bytes());
    write(dir.path(), "gpm_e_ele.csv", &bytes);
    for enc in [Encoding::Auto, Encoding::Utf8] {
        let x = try_read(dir.path(), enc).await.expect("read");
        assert!(x.rejects.is_empty(), "{:#?}", x.rejects);
        assert_eq!(col(&x, "gpm_e_ele", "fiche"), vec![s("1"), s("2")]);
        assert_eq!(col(&x, "gpm_e_ele", "nom"), vec![s("Côté"), s("Gagnon")]);
        let info = x.files.iter().find(|f| f.table == "gpm_e_ele").expect("info");
        assert_eq!(info.encoding, "utf-8");
        assert_eq!(info.bytes, bytes.len() as u64);
        assert_eq!(info.sha256, hex::encode(Sha256::digest(&bytes)));
    }
}

#[tokio::test]
async fn windows_1252_declared_and_detected() {
    let dir = folder();
    let (bytes, _, bad) = encoding_rs::WINDOWS_1252.encode(ELE);
    assert!(!bad);
    assert!(std::str::from_utf8(&bytes).is_err(), "the test file must not be UTF-8");
    write(dir.path(), "gpm_e_ele.csv", &bytes);
    for enc in [Encoding::Windows1252, Encoding::Auto] {
        let x = try_read(dir.path(), enc).await.expect("read");
        assert!(x.rejects.is_empty(), "{:#?}", x.rejects);
        assert_eq!(col(&x, "gpm_e_ele", "nom"), vec![s("Côté"), s("Gagnon")]);
        assert_eq!(col(&x, "gpm_e_ele", "pnom"), vec![s("Émilie"), s("Zoé")]);
        let info = x.files.iter().find(|f| f.table == "gpm_e_ele").expect("info");
        assert_eq!(info.encoding, "windows-1252");
        assert_eq!(info.bytes, bytes.len() as u64);
        assert_eq!(info.sha256, hex::encode(Sha256::digest(&bytes)));
    }
    // Other files of the same night, plain ASCII, are UTF-8 under `Auto`.
    let x = read(dir.path()).await;
    let eco = x.files.iter().find(|f| f.table == "gpm_t_eco").expect("info");
    assert_eq!(eco.encoding, "utf-8");
}

#[tokio::test]
async fn auto_detection_across_chunk_boundaries() {
    // Multi-byte characters cut by every possible offset around the 64 KiB scan chunk.
    for pad in 0..4 {
        let dir = folder();
        let mut text = String::from("id_eco;mat;descr;unites\n");
        let mut i = 0;
        while text.len() < 70_000 {
            i += 1;
            let filler = "x".repeat(pad + (i % 3));
            text.push_str(&format!("{i};M{i};{filler}Éé€ü;1\n"));
        }
        let dir_path = dir.path();
        write(dir_path, "gpm_t_mat.csv", text.as_bytes());
        let x = read(dir_path).await;
        assert!(x.rejects.is_empty(), "{:#?}", &x.rejects[..x.rejects.len().min(3)]);
        let info = x.files.iter().find(|f| f.table == "gpm_t_mat").expect("info");
        assert_eq!(info.encoding, "utf-8", "pad {pad}");
        assert_eq!(x.tables["gpm_t_mat"].rows_loaded, i as u64);
    }
    // One Windows-1252 byte far after the first chunk makes the whole file Windows-1252.
    let dir = folder();
    let mut bytes = b"id_eco;mat;descr;unites\n".to_vec();
    for i in 0..5000 {
        bytes.extend_from_slice(format!("{i};M{i};descr;1\n").as_bytes());
    }
    bytes.extend_from_slice(b"99999;MX;caf\xe9;1\n");
    assert!(bytes.len() > 65_536);
    write(dir.path(), "gpm_t_mat.csv", &bytes);
    let x = read(dir.path()).await;
    let info = x.files.iter().find(|f| f.table == "gpm_t_mat").expect("info");
    assert_eq!(info.encoding, "windows-1252");
    assert_eq!(col(&x, "gpm_t_mat", "descr").last().cloned().flatten(), s("café"));
}

#[tokio::test]
async fn delimiters_and_line_endings() {
    for (delim, eol) in [(";", "\n"), (",", "\n"), ("|", "\r\n"), ("\t", "\r\n"), (";", "\r\n")] {
        let dir = folder();
        let rows = [
            ["id_eco", "leg", "seuil_reus"],
            ["12", "STD", "60"],
            ["12", "SEC", "65"],
        ];
        let text: String = rows.iter().map(|r| format!("{}{eol}", r.join(delim))).collect();
        write(dir.path(), "gpm_t_leg.csv", text.as_bytes());
        let x = read(dir.path()).await;
        assert!(x.rejects.is_empty(), "{delim:?}: {:#?}", x.rejects);
        assert_eq!(col(&x, "gpm_t_leg", "leg"), vec![s("STD"), s("SEC")], "{delim:?}");
        assert_eq!(col(&x, "gpm_t_leg", "seuil_reus"), vec![s("60.0"), s("65.0")]);
        assert_eq!(col(&x, "gpm_t_leg", "_line"), vec![s("2"), s("3")]);
        let info = x.files.iter().find(|f| f.table == "gpm_t_leg").expect("info");
        assert_eq!(info.delimiter.to_string(), delim);
    }
}

#[tokio::test]
async fn header_case_order_and_extra_columns() {
    let dir = folder();
    write(
        dir.path(),
        "gpm_t_leg.csv",
        b"SEUIL_REUS;Extra_Col;LEG;ID_ECO;autre\n60;x;STD;12;y\n",
    );
    write(
        dir.path(),
        "gpm_t_cal.csv",
        b" nb_periodes ;date_evenement;JOUR_CYCLE;id_eco\n4;2024-09-03;1;12\n",
    );
    let x = read(dir.path()).await;
    assert!(x.rejects.is_empty(), "{:#?}", x.rejects);
    assert_eq!(col(&x, "gpm_t_leg", "id_eco"), vec![s("12")]);
    assert_eq!(col(&x, "gpm_t_leg", "leg"), vec![s("STD")]);
    assert_eq!(col(&x, "gpm_t_leg", "seuil_reus"), vec![s("60.0")]);
    let names: Vec<String> = x.tables["gpm_t_leg"]
        .schema
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    assert_eq!(names, ["id_eco", "leg", "seuil_reus", "_file", "_line"]);
    assert_eq!(col(&x, "gpm_t_cal", "nb_periodes"), vec![s("4")]);
    assert_eq!(col(&x, "gpm_t_cal", "jour_cycle"), vec![s("1")]);
}

#[tokio::test]
async fn decimal_comma_and_point() {
    let dir = folder();
    write(
        dir.path(),
        "gpm_t_leg.csv",
        b"id_eco;leg;seuil_reus\n1;A;60,5\n1;B;60.5\n1;C;60\n1;D;\n1;E;,5\n",
    );
    write(
        dir.path(),
        "gpm_t_cotes.csv",
        "id_eco,leg,cote,note_equiv,indic_reus_echec\n1,A,A+,\"95,5\",1\n1,A,B,82.25,1\n".as_bytes(),
    );
    let x = read(dir.path()).await;
    assert!(x.rejects.is_empty(), "{:#?}", x.rejects);
    assert_eq!(
        col(&x, "gpm_t_leg", "seuil_reus"),
        vec![s("60.5"), s("60.5"), s("60.0"), None, s("0.5")]
    );
    assert_eq!(col(&x, "gpm_t_cotes", "note_equiv"), vec![s("95.5"), s("82.25")]);
}

#[tokio::test]
async fn three_date_formats() {
    let dir = folder();
    write(
        dir.path(),
        "gpm_t_cal.csv",
        b"id_eco;date_evenement;jour_cycle;nb_periodes\n1;2024-09-03;1;4\n1;20240904;2;4\n1;05/09/2024;;0\n1;29/02/2024;3;4\n",
    );
    let x = read(dir.path()).await;
    assert!(x.rejects.is_empty(), "{:#?}", x.rejects);
    assert_eq!(
        col(&x, "gpm_t_cal", "date_evenement"),
        vec![s("2024-09-03"), s("2024-09-04"), s("2024-09-05"), s("2024-02-29")]
    );
    assert_eq!(col(&x, "gpm_t_cal", "jour_cycle"), vec![s("1"), s("2"), None, s("3")]);
}

#[tokio::test]
async fn spaces_trimmed_and_leading_zeros_kept() {
    let dir = folder();
    write(
        dir.path(),
        "gpm_t_eco.csv",
        b"id_eco;org;annee;eco;eco_off;nom_eco;indic_eco_bidon\n 0012 ; 866000 ;2024; 001 ;063414;  Ecole des Pins  ;  \n",
    );
    let x = read(dir.path()).await;
    assert!(x.rejects.is_empty(), "{:#?}", x.rejects);
    assert_eq!(col(&x, "gpm_t_eco", "id_eco"), vec![s("12")]);
    assert_eq!(col(&x, "gpm_t_eco", "org"), vec![s("866000")]);
    assert_eq!(col(&x, "gpm_t_eco", "eco"), vec![s("001")]);
    assert_eq!(col(&x, "gpm_t_eco", "eco_off"), vec![s("063414")]);
    assert_eq!(col(&x, "gpm_t_eco", "nom_eco"), vec![s("Ecole des Pins")]);
    assert_eq!(col(&x, "gpm_t_eco", "indic_eco_bidon"), vec![None]);
}

#[tokio::test]
async fn rfc4180_quoted_fields() {
    let dir = folder();
    write(
        dir.path(),
        "gpm_t_mat.csv",
        b"id_eco;mat;descr;unites\r\n1;\"FRA400\";\"Fran\xc3\xa7ais; lecture\";4\r\n1;MAT600;\"Math\r\nsur deux lignes\";4\r\n1;ANG;\"dit \"\"bonjour\"\"\";2\r\n1;HIS;\"\";\r\n",
    );
    let x = read(dir.path()).await;
    assert!(x.rejects.is_empty(), "{:#?}", x.rejects);
    assert_eq!(
        col(&x, "gpm_t_mat", "descr"),
        vec![
            s("Français; lecture"),
            s("Math\r\nsur deux lignes"),
            s("dit \"bonjour\""),
            None
        ]
    );
    // The record after the two-line one starts on line 5.
    assert_eq!(col(&x, "gpm_t_mat", "_line"), vec![s("2"), s("3"), s("5"), s("6")]);
}

#[tokio::test]
async fn no_final_line_break_is_fine() {
    let dir = folder();
    write(dir.path(), "gpm_t_leg.csv", b"id_eco;leg;seuil_reus\n1;A;60\n1;B;70");
    let x = read(dir.path()).await;
    assert!(x.rejects.is_empty(), "{:#?}", x.rejects);
    assert_eq!(col(&x, "gpm_t_leg", "leg"), vec![s("A"), s("B")]);
}

#[tokio::test]
async fn small_batches() {
    let dir = folder();
    let mut text = String::from("fiche;id_eco;date_abs;periode;motif_abs\n");
    for i in 0..25 {
        text.push_str(&format!("{i};1;2024-10-01;1;M\n"));
    }
    write(dir.path(), "gpm_e_abs.csv", text.as_bytes());
    let opts = ReadOptions {
        encoding: Encoding::Auto,
        batch_size: 10,
    };
    let x = read_gpi(dir.path(), &source(), &opts).await.expect("read");
    let abs = &x.tables["gpm_e_abs"];
    assert_eq!((abs.rows_read, abs.rows_loaded), (25, 25));
    assert!(abs.batches.len() >= 3, "{} batches", abs.batches.len());
    assert!(abs.batches.iter().all(|b| b.num_rows() <= 10));
    let lines = col(&x, "gpm_e_abs", "_line");
    let expected: Vec<Option<String>> = (2..27).map(|l| Some(l.to_string())).collect();
    assert_eq!(lines, expected);
}

#[tokio::test]
async fn optional_column_absent_is_all_null() {
    let dir = folder();
    write(dir.path(), "gpm_t_leg.csv", b"id_eco;leg\n1;A\n2;B\n");
    let mut src = source();
    for t in &mut src.tables {
        if t.name == "gpm_t_leg" {
            for c in &mut t.columns {
                if c.name == "seuil_reus" {
                    c.required = false;
                }
            }
        }
    }
    let x = read_gpi(dir.path(), &src, &ReadOptions::default()).await.expect("read");
    assert!(x.rejects.is_empty(), "{:#?}", x.rejects);
    assert_eq!(col(&x, "gpm_t_leg", "seuil_reus"), vec![None, None]);
    assert_eq!(col(&x, "gpm_t_leg", "leg"), vec![s("A"), s("B")]);
}
