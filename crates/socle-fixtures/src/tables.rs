//! The delimited tables the generator writes: the 12 GPI tables of `formats/gpi.md` and the 5
//! JADE tables of `formats/jade.md`, columns in contract order, and what the bad-row injector
//! needs to know about each (key, typed columns, domains).

/// How a bad row gets a key that no clean row has.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Fresh {
    /// An integer column: `900000000 + n`.
    Int(usize),
    /// A code permanent column: `ZZZZ9` + 7 digits (well formed, never drawn for a student).
    CodePerm(usize),
    /// A text code column: `Z` + 4 digits.
    Code(usize),
}

/// Static description of one table.
pub(crate) struct TableSpec {
    pub name: &'static str,
    pub columns: &'static [&'static str],
    /// Key column set to a reserved value in bad rows, so they never collide with a clean key.
    pub fresh: Fresh,
    pub date_cols: &'static [usize],
    pub int_cols: &'static [usize],
    /// A column with a closed domain and values outside it.
    pub domain: Option<(usize, &'static [&'static str])>,
    /// Column changed in a `duplicate_key` copy; `None` where duplicates are legal.
    pub dup_col: Option<usize>,
    /// Text column that receives invalid bytes or an unterminated quote.
    pub text_col: usize,
}

pub(crate) const T_ECO: usize = 0;
pub(crate) const E_ELE: usize = 1;
pub(crate) const E_DAN: usize = 2;
pub(crate) const T_MAT: usize = 3;
pub(crate) const T_MAT_GRP: usize = 4;
pub(crate) const E_MAT_ELE: usize = 5;
pub(crate) const T_LEG: usize = 6;
pub(crate) const T_COTES: usize = 7;
pub(crate) const T_ETAPE: usize = 8;
pub(crate) const T_CAL: usize = 9;
pub(crate) const E_ABS: usize = 10;
pub(crate) const T_MOTIF_ABS: usize = 11;
/// Number of GPI tables (the first ones of [`TABLES`]).
pub(crate) const N_TABLES: usize = 12;
pub(crate) const J_ELE: usize = 12;
pub(crate) const J_FREQ: usize = 13;
pub(crate) const J_RES: usize = 14;
pub(crate) const J_MENT: usize = 15;
pub(crate) const J_ECOCEN: usize = 16;
/// GPI then JADE tables.
pub(crate) const N_ALL_TABLES: usize = 17;
/// The JADE tables, in generation order.
pub(crate) const JADE_TABLES: [usize; 5] = [J_ELE, J_FREQ, J_RES, J_MENT, J_ECOCEN];

pub(crate) const TABLES: [TableSpec; N_ALL_TABLES] = [
    TableSpec {
        name: "gpm_t_eco",
        columns: &["id_eco", "org", "annee", "eco", "eco_off", "nom_eco", "indic_eco_bidon"],
        fresh: Fresh::Int(0),
        date_cols: &[],
        int_cols: &[0, 2],
        domain: None,
        dup_col: Some(5),
        text_col: 5,
    },
    TableSpec {
        name: "gpm_e_ele",
        columns: &["fiche", "code_perm", "nom", "pnom", "sexe", "date_naiss"],
        fresh: Fresh::Int(0),
        date_cols: &[5],
        int_cols: &[0],
        domain: Some((4, &["Q", "Z", "H"])),
        dup_col: None,
        text_col: 2,
    },
    TableSpec {
        name: "gpm_e_dan",
        columns: &[
            "fiche",
            "id_eco",
            "statut_don_an",
            "ordre_ens",
            "classe",
            "grp_rep",
            "plan_interv_ehdaa",
            "difficulte",
            "date_deb",
            "date_depart",
            "motif_depart",
        ],
        fresh: Fresh::Int(0),
        date_cols: &[8, 9],
        int_cols: &[0, 1],
        domain: Some((3, &["9", "0", "7"])),
        dup_col: None,
        text_col: 5,
    },
    TableSpec {
        name: "gpm_t_mat",
        columns: &["id_eco", "mat", "descr", "unites"],
        fresh: Fresh::Int(0),
        date_cols: &[],
        int_cols: &[0, 3],
        domain: None,
        dup_col: Some(2),
        text_col: 2,
    },
    TableSpec {
        name: "gpm_t_mat_grp",
        columns: &[
            "id_mat_grp",
            "id_eco",
            "mat",
            "grp",
            "leg_etape_01",
            "leg_etape_02",
            "leg_etape_03",
            "leg_som",
        ],
        fresh: Fresh::Int(0),
        date_cols: &[],
        int_cols: &[0, 1],
        domain: None,
        dup_col: Some(3),
        text_col: 3,
    },
    TableSpec {
        name: "gpm_e_mat_ele",
        columns: &[
            "id_mat_ele",
            "id_mat_grp",
            "fiche",
            "id_eco",
            "mat",
            "grp",
            "etat",
            "res_etape_01",
            "res_etape_02",
            "res_etape_03",
            "res_som",
            "unites_ele",
        ],
        fresh: Fresh::Int(0),
        date_cols: &[],
        int_cols: &[0, 1, 2, 3, 6, 11],
        domain: Some((6, &["7", "9", "2"])),
        dup_col: Some(10),
        text_col: 7,
    },
    TableSpec {
        name: "gpm_t_leg",
        columns: &["id_eco", "leg", "seuil_reus"],
        fresh: Fresh::Int(0),
        date_cols: &[],
        int_cols: &[0],
        domain: None,
        dup_col: Some(2),
        text_col: 1,
    },
    TableSpec {
        name: "gpm_t_cotes",
        columns: &["id_eco", "leg", "cote", "note_equiv", "indic_reus_echec"],
        fresh: Fresh::Int(0),
        date_cols: &[],
        int_cols: &[0],
        domain: Some((4, &["3", "9", "0"])),
        dup_col: Some(3),
        text_col: 2,
    },
    TableSpec {
        name: "gpm_t_etape",
        columns: &["id_eco", "etape", "date_deb", "date_fin", "nb_jours_classe"],
        fresh: Fresh::Int(0),
        date_cols: &[2, 3],
        int_cols: &[0, 4],
        domain: Some((1, &["4", "0", "5"])),
        dup_col: Some(4),
        text_col: 1,
    },
    TableSpec {
        name: "gpm_t_cal",
        columns: &["id_eco", "date_evenement", "jour_cycle", "nb_periodes"],
        fresh: Fresh::Int(0),
        date_cols: &[1],
        int_cols: &[0, 3],
        domain: None,
        dup_col: Some(3),
        text_col: 2,
    },
    TableSpec {
        name: "gpm_e_abs",
        columns: &["fiche", "id_eco", "date_abs", "periode", "motif_abs"],
        fresh: Fresh::Int(0),
        date_cols: &[2],
        int_cols: &[0, 1, 3],
        domain: None,
        dup_col: Some(4),
        text_col: 4,
    },
    TableSpec {
        name: "gpm_t_motif_abs",
        columns: &["id_eco", "motif_abs", "descr", "cpt_abs"],
        fresh: Fresh::Int(0),
        date_cols: &[],
        int_cols: &[0, 3],
        domain: Some((3, &["4", "0", "9"])),
        dup_col: Some(2),
        text_col: 2,
    },
    TableSpec {
        name: "e_ele",
        columns: &["fiche", "codeperm", "nom", "pnom", "datenaiss", "sexe"],
        fresh: Fresh::Int(0),
        date_cols: &[4],
        int_cols: &[0],
        domain: None,
        dup_col: Some(5),
        text_col: 2,
    },
    TableSpec {
        name: "e_freq",
        columns: &[
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
        fresh: Fresh::Int(0),
        date_cols: &[4, 8],
        int_cols: &[0, 1],
        domain: Some((6, &["FGJ", "FPX", "ADU"])),
        dup_col: Some(7),
        text_col: 3,
    },
    TableSpec {
        name: "e_ri_resultats",
        columns: &[
            "codeperm",
            "fiche",
            "ecocenoff",
            "matcharl",
            "annee",
            "moissanct",
            "resecobrute",
            "resecomod",
            "resoffbrute",
            "resofffinal",
            "indreuscharl",
            "nbunitecharl",
            "typeformcharl",
            "secteurenseignfreq",
            "datehrerecup",
        ],
        fresh: Fresh::CodePerm(0),
        date_cols: &[14],
        int_cols: &[1, 4, 5, 11],
        domain: Some((13, &["JX", "ZZ", "FP"])),
        dup_col: Some(9),
        text_col: 12,
    },
    TableSpec {
        name: "e_ri_mentions",
        columns: &[
            "codeperm",
            "fiche",
            "ecocenoff",
            "progcharl",
            "typediplomecharl",
            "indreussanctcharl",
            "dateobtmention",
        ],
        fresh: Fresh::CodePerm(0),
        date_cols: &[6],
        int_cols: &[1],
        domain: Some((5, &["X", "OUI", "Y"])),
        dup_col: Some(5),
        text_col: 3,
    },
    TableSpec {
        name: "t_ecocen",
        columns: &["ecocen", "ecooff", "descr"],
        fresh: Fresh::Code(0),
        date_cols: &[],
        int_cols: &[],
        domain: Some((1, &["12345", "ABC123", "1234567"])),
        dup_col: Some(2),
        text_col: 2,
    },
];

/// Kinds of injected bad rows (formats/README.md "Bad input").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum BadKind {
    WrongColumnCount,
    UnterminatedQuote,
    UndecodableBytes,
    UnparsableDate,
    UnparsableNumber,
    OutOfDomain,
    DuplicateKey,
    UnknownResultCode,
}

impl BadKind {
    pub const ALL: [BadKind; 8] = [
        BadKind::WrongColumnCount,
        BadKind::UnterminatedQuote,
        BadKind::UndecodableBytes,
        BadKind::UnparsableDate,
        BadKind::UnparsableNumber,
        BadKind::OutOfDomain,
        BadKind::DuplicateKey,
        BadKind::UnknownResultCode,
    ];

    /// The name written in `bad_rows.csv`.
    pub fn as_str(self) -> &'static str {
        match self {
            BadKind::WrongColumnCount => "wrong_column_count",
            BadKind::UnterminatedQuote => "unterminated_quote",
            BadKind::UndecodableBytes => "undecodable_bytes",
            BadKind::UnparsableDate => "unparsable_date",
            BadKind::UnparsableNumber => "unparsable_number",
            BadKind::OutOfDomain => "out_of_domain",
            BadKind::DuplicateKey => "duplicate_key",
            BadKind::UnknownResultCode => "unknown_result_code",
        }
    }

    /// Kinds that can only be the last record of a file. (A last record cut short is not
    /// injected: it is a cut file, which fails its whole source, not a bad row of a night.)
    pub(crate) fn is_end_of_file(self) -> bool {
        matches!(self, BadKind::UnterminatedQuote)
    }

    /// Whether the kind can be injected into a table.
    pub(crate) fn applies_to(self, table: usize, allow_undecodable: bool) -> bool {
        let spec = &TABLES[table];
        match self {
            BadKind::WrongColumnCount | BadKind::UnterminatedQuote => true,
            BadKind::UnparsableNumber => !spec.int_cols.is_empty(),
            BadKind::UndecodableBytes => allow_undecodable,
            BadKind::UnparsableDate => !spec.date_cols.is_empty(),
            BadKind::OutOfDomain => spec.domain.is_some(),
            BadKind::DuplicateKey => spec.dup_col.is_some(),
            BadKind::UnknownResultCode => table == E_MAT_ELE,
        }
    }
}
