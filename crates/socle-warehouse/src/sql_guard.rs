//! The read-only guard of SQL typed by people: `socle query` today, the Postgres-wire endpoint
//! of `socle-serve` tomorrow. Written once, so both refuse the same things for the same reasons.
//!
//! DataFusion's SQL can write and read any local file: `COPY (...) TO '/path'` writes one,
//! `CREATE EXTERNAL TABLE ... LOCATION '/path'` reads one, and a table function may read a file
//! or a URL. A warehouse session must only read the warehouse's tables, so there are two layers:
//!
//! 1. [`check_read_only`], on the text, before anything is planned: it parses the text with
//!    the PostgreSQL dialect (the endpoint's) and with the generic one (DataFusion's default,
//!    `socle query`'s: `SELECT * EXCLUDE (...)`) and checks every parse that succeeds, so
//!    whichever of the two the engine uses, what it runs was checked. Every statement must be a
//!    query (`SELECT`, `WITH`, `VALUES`, set operations), an `EXPLAIN [ANALYZE]` of a query, a
//!    `DESCRIBE` of a table, a `SHOW`, the
//!    transaction statements (`BEGIN`, `START TRANSACTION`, `COMMIT`, `ROLLBACK`: nothing to
//!    commit on a read-only session) and the `SET`s Postgres clients send when they connect
//!    ([`HARMLESS_SETTINGS`]); anywhere in them (subqueries, CTEs, joins, set operations,
//!    `EXPLAIN` bodies), a table function other than [`ALLOWED_TABLE_FUNCTIONS`] and a table
//!    named like a path or a URL are refused. A text it cannot parse is refused: what cannot
//!    be checked does not run. Comments hide nothing (the parser drops them).
//! 2. [`read_only_options`], given to `SessionContext::sql_with_options`: DataFusion itself
//!    refuses to plan DDL, DML (COPY included) and statements (`SET`, transactions) whatever
//!    the text looked like to the first layer. A wire server answers the harmless `SET`s and
//!    transaction statements itself and sends DataFusion only the queries.
//!
//! A refusal ([`SqlRefusal`]) says, in French then English, what is refused and why, and never
//! quotes the query: a literal may hold a code permanent.

use datafusion::execution::context::SQLOptions;
use datafusion::sql::sqlparser::ast::{ObjectName, ObjectNamePart, Set, Statement, TableFactor, Visit, Visitor};
use datafusion::sql::sqlparser::dialect::{GenericDialect, PostgreSqlDialect};
use datafusion::sql::sqlparser::keywords::Keyword;
use datafusion::sql::sqlparser::parser::{Parser, ParserError};
use datafusion::sql::sqlparser::tokenizer::{Token, Tokenizer};
use std::ops::ControlFlow;

/// The session settings a `SET` may change: those Postgres clients (psql, JDBC, Power BI, DBeaver)
/// send when they connect, which change how results are shown, never what can be read.
pub const HARMLESS_SETTINGS: &[&str] = &[
    "extra_float_digits",
    "application_name",
    "datestyle",
    "client_encoding",
    "search_path",
    "statement_timeout",
    "timezone",
];

/// The table functions a query may call in its `FROM`: they compute rows, they read nothing.
/// `pg_get_keywords` is the PostgreSQL catalog's list of SQL keywords, which SQL clients
/// (DBeaver) ask for on connecting to the Postgres-wire endpoint.
pub const ALLOWED_TABLE_FUNCTIONS: &[&str] = &["generate_series", "range", "unnest", "pg_get_keywords"];

/// Why a text was refused; its `Display` is the message for the person who typed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlRefusal {
    kind: String,
    fr: String,
    en: String,
    /// The statement's position (1-based) in a text of several, if more than one.
    statement: Option<usize>,
}

impl SqlRefusal {
    fn new(kind: impl Into<String>, fr: String, en: String) -> Self {
        SqlRefusal {
            kind: kind.into(),
            fr,
            en,
            statement: None,
        }
    }

    /// A short name of what was refused, for logs and audit lines: `COPY`, `CREATE`, `SET`,
    /// `EXPLAIN`, `table function`, `unparsable`...
    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// The reason in French.
    pub fn message_fr(&self) -> &str {
        &self.fr
    }

    /// The reason in English.
    pub fn message_en(&self) -> &str {
        &self.en
    }

    fn not_allowed(keyword: &str) -> Self {
        SqlRefusal::new(
            keyword,
            format!("{keyword} n'est pas permis (lecture seule)"),
            format!("{keyword} is not allowed (read-only)"),
        )
    }
}

impl std::fmt::Display for SqlRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.statement {
            Some(n) => write!(
                f,
                "requête refusée (instruction {n}): {} / refused (statement {n}): {}",
                self.fr, self.en
            ),
            None => write!(f, "requête refusée: {} / refused: {}", self.fr, self.en),
        }
    }
}

impl std::error::Error for SqlRefusal {}

/// Refuses `sql` unless every statement in it only reads; see the module.
pub fn check_read_only(sql: &str) -> Result<(), SqlRefusal> {
    let postgres = Parser::parse_sql(&PostgreSqlDialect {}, sql);
    let generic = Parser::parse_sql(&GenericDialect {}, sql);
    match (postgres, generic) {
        (Err(e), Err(_)) => Err(unparsable(sql, &e)),
        (Ok(p), Err(_)) => check_statements(&p),
        (Err(_), Ok(g)) => check_statements(&g),
        (Ok(p), Ok(g)) => check_statements(&p).and_then(|()| check_statements(&g)),
    }
}

fn check_statements(statements: &[Statement]) -> Result<(), SqlRefusal> {
    let several = statements.len() > 1;
    for (i, statement) in statements.iter().enumerate() {
        check_statement(statement)
            .and_then(|()| check_relations(statement))
            .map_err(|mut refusal| {
                if several {
                    refusal.statement = Some(i + 1);
                }
                refusal
            })?;
    }
    Ok(())
}

/// The second layer: DataFusion refuses to plan DDL (`CREATE`, `DROP`...), DML (`INSERT`,
/// `COPY`...) and statements (`SET`, transactions). Use with `SessionContext::sql_with_options`.
pub fn read_only_options() -> SQLOptions {
    SQLOptions::new()
        .with_allow_ddl(false)
        .with_allow_dml(false)
        .with_allow_statements(false)
}

/// The statement's kind: allowed, or refused with its reason.
fn check_statement(statement: &Statement) -> Result<(), SqlRefusal> {
    match statement {
        Statement::Query(_) => Ok(()),
        Statement::Explain { statement: body, .. } => match body.as_ref() {
            Statement::Query(_) => Ok(()),
            other => {
                let keyword = leading_keyword(other);
                Err(SqlRefusal::new(
                    "EXPLAIN",
                    format!("EXPLAIN {keyword} n'est pas permis (lecture seule; EXPLAIN est permis sur une requête)"),
                    format!("EXPLAIN {keyword} is not allowed (read-only; EXPLAIN is allowed on a query)"),
                ))
            }
        },
        // `DESCRIBE t`: the table's columns, nothing else.
        Statement::ExplainTable { .. } => Ok(()),
        Statement::ShowFunctions { .. }
        | Statement::ShowVariable { .. }
        | Statement::ShowStatus { .. }
        | Statement::ShowVariables { .. }
        | Statement::ShowCreate { .. }
        | Statement::ShowColumns { .. }
        | Statement::ShowCatalogs { .. }
        | Statement::ShowDatabases { .. }
        | Statement::ShowSchemas { .. }
        | Statement::ShowCharset(_)
        | Statement::ShowObjects(_)
        | Statement::ShowTables { .. }
        | Statement::ShowViews { .. }
        | Statement::ShowCollation { .. } => Ok(()),
        // A bare `BEGIN`; a `BEGIN ... END` block holds statements of its own: refused rather
        // than checked, no client needs one.
        Statement::StartTransaction {
            statements, exception, ..
        } => {
            if statements.is_empty() && exception.is_none() {
                Ok(())
            } else {
                Err(SqlRefusal::new(
                    "BEGIN",
                    "un bloc BEGIN ... END n'est pas permis (lecture seule)".to_string(),
                    "a BEGIN ... END block is not allowed (read-only)".to_string(),
                ))
            }
        }
        Statement::Commit { .. } | Statement::Rollback { .. } => Ok(()),
        Statement::Set(set) => check_set(set),
        other => Err(SqlRefusal::not_allowed(&leading_keyword(other))),
    }
}

fn check_set(set: &Set) -> Result<(), SqlRefusal> {
    let names: Vec<&ObjectName> = match set {
        Set::SingleAssignment {
            hivevar: false,
            variable,
            ..
        } => vec![variable],
        Set::ParenthesizedAssignments { variables, .. } => variables.iter().collect(),
        Set::MultipleAssignments { assignments } => assignments.iter().map(|a| &a.name).collect(),
        // `SET TIME ZONE 'UTC'` is `SET timezone TO 'UTC'`.
        Set::SetTimeZone { .. } => Vec::new(),
        _ => return Err(refused_setting()),
    };
    for name in names {
        let parts: Vec<String> = name
            .0
            .iter()
            .map(|p| match p {
                ObjectNamePart::Identifier(ident) => Some(ident.value.to_lowercase()),
                ObjectNamePart::Function(_) => None,
            })
            .collect::<Option<_>>()
            .ok_or_else(refused_setting)?;
        if parts.first().is_some_and(|p| p == "datafusion") {
            return Err(SqlRefusal::new(
                "SET datafusion.*",
                "SET d'un paramètre datafusion.* n'est pas permis (il changerait le moteur de la session)".to_string(),
                "SET of a datafusion.* setting is not allowed (it would change the session's engine)".to_string(),
            ));
        }
        match parts.as_slice() {
            [one] if HARMLESS_SETTINGS.contains(&one.as_str()) => {}
            _ => return Err(refused_setting()),
        }
    }
    Ok(())
}

fn refused_setting() -> SqlRefusal {
    let allowed = HARMLESS_SETTINGS.join(", ");
    SqlRefusal::new(
        "SET",
        format!("SET de ce paramètre n'est pas permis (lecture seule; permis: {allowed})"),
        format!("SET of this setting is not allowed (read-only; allowed: {allowed})"),
    )
}

/// Every table of the statement, at any depth: no table function but the allowed ones, no
/// table named like a path or a URL.
fn check_relations(statement: &Statement) -> Result<(), SqlRefusal> {
    struct Tables;
    impl Visitor for Tables {
        type Break = SqlRefusal;

        fn pre_visit_table_factor(&mut self, factor: &TableFactor) -> ControlFlow<SqlRefusal> {
            let function = match factor {
                TableFactor::Table {
                    name, args: Some(_), ..
                }
                | TableFactor::Function { name, .. } => Some(function_name(name)),
                TableFactor::TableFunction { .. }
                | TableFactor::JsonTable { .. }
                | TableFactor::OpenJsonTable { .. }
                | TableFactor::XmlTable { .. }
                | TableFactor::SemanticView { .. } => Some(None),
                _ => None,
            };
            match function {
                Some(Some(name)) if ALLOWED_TABLE_FUNCTIONS.contains(&name.as_str()) => ControlFlow::Continue(()),
                Some(name) => ControlFlow::Break(refused_table_function(name.as_deref())),
                None => ControlFlow::Continue(()),
            }
        }

        fn pre_visit_relation(&mut self, relation: &ObjectName) -> ControlFlow<SqlRefusal> {
            let path_like = relation.0.iter().any(|part| match part {
                ObjectNamePart::Identifier(ident) => ident.value.contains(['/', '\\', ':', '.']),
                ObjectNamePart::Function(_) => true,
            });
            if path_like {
                ControlFlow::Break(SqlRefusal::new(
                    "file table",
                    "un nom de table qui ressemble à un chemin de fichier ou à une URL n'est pas permis (lecture seule)"
                        .to_string(),
                    "a table name that looks like a file path or a URL is not allowed (read-only)".to_string(),
                ))
            } else {
                ControlFlow::Continue(())
            }
        }
    }
    match statement.visit(&mut Tables) {
        ControlFlow::Break(refusal) => Err(refusal),
        ControlFlow::Continue(()) => Ok(()),
    }
}

/// A table function's name, lower case, when it is a plain identifier (the last part of a
/// qualified name); `None` otherwise.
fn function_name(name: &ObjectName) -> Option<String> {
    match name.0.last() {
        Some(ObjectNamePart::Identifier(ident)) => Some(ident.value.to_lowercase()),
        _ => None,
    }
}

fn refused_table_function(name: Option<&str>) -> SqlRefusal {
    // A function name is an identifier, not a literal; shown only when it looks like one.
    let name = name
        .filter(|n| n.len() <= 64 && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .map(|n| format!(" {n}"))
        .unwrap_or_default();
    let allowed = ALLOWED_TABLE_FUNCTIONS.join(", ");
    SqlRefusal::new(
        "table function",
        format!(
            "la fonction de table{name} n'est pas permise (une fonction de table peut lire des fichiers ou des \
             URL; permises: {allowed})"
        ),
        format!(
            "the table function{name} is not allowed (a table function may read files or URLs; allowed: {allowed})"
        ),
    )
}

/// The statement's first keyword (`COPY`, `CREATE`, `INSERT`...), from its SQL form: a
/// statement's text always starts with its keyword, never with a literal.
fn leading_keyword(statement: &Statement) -> String {
    let text = statement.to_string();
    let word = text.split_whitespace().next().unwrap_or_default();
    if !word.is_empty() && word.len() <= 24 && word.chars().all(|c| c.is_ascii_alphabetic() || c == '_') {
        word.to_ascii_uppercase()
    } else {
        "cette instruction".to_string()
    }
}

/// The statements that change something, by their first keyword: named in the refusal of a
/// text the parser does not understand (DataFusion's `COPY ... STORED AS`, say).
const WRITING_KEYWORDS: &[Keyword] = &[
    Keyword::COPY,
    Keyword::CREATE,
    Keyword::INSERT,
    Keyword::UPDATE,
    Keyword::DELETE,
    Keyword::MERGE,
    Keyword::DROP,
    Keyword::ALTER,
    Keyword::TRUNCATE,
    Keyword::GRANT,
    Keyword::REVOKE,
    Keyword::ATTACH,
    Keyword::INSTALL,
    Keyword::LOAD,
];

fn unparsable(sql: &str, error: &ParserError) -> SqlRefusal {
    let dialect = PostgreSqlDialect {};
    // Comments are whitespace to the tokenizer: `/* c */ COPY ...` starts with COPY.
    let first = Tokenizer::new(&dialect, sql).tokenize().ok().and_then(|tokens| {
        tokens.into_iter().find_map(|t| match t {
            Token::Whitespace(_) => None,
            Token::Word(w) => Some(Some(w)),
            _ => Some(None),
        })
    });
    if let Some(Some(word)) = first
        && WRITING_KEYWORDS.contains(&word.keyword)
    {
        return SqlRefusal::not_allowed(&word.value.to_ascii_uppercase());
    }
    // The parser's message may quote the text; only its position is kept.
    let at = match error {
        ParserError::ParserError(m) | ParserError::TokenizerError(m) => position(m),
        ParserError::RecursionLimitExceeded => None,
    };
    let (at_fr, at_en) = match at {
        Some((line, column)) => (
            format!(" (ligne {line}, colonne {column})"),
            format!(" (line {line}, column {column})"),
        ),
        None => (String::new(), String::new()),
    };
    SqlRefusal::new(
        "unparsable",
        format!("le texte SQL n'a pu être analysé{at_fr}: ce qui ne peut être vérifié ne s'exécute pas"),
        format!("the SQL text could not be parsed{at_en}: what cannot be checked does not run"),
    )
}

/// `(line, column)` from a parser message ending with `... at Line: 3, Column: 14`.
fn position(message: &str) -> Option<(u64, u64)> {
    let rest = &message[message.rfind("Line: ")? + "Line: ".len()..];
    let (line, rest) = rest.split_once(", Column: ")?;
    let column: String = rest.chars().take_while(char::is_ascii_digit).collect();
    Some((line.trim().parse().ok()?, column.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(sql: &str) -> SqlRefusal {
        match check_read_only(sql) {
            Err(r) => r,
            Ok(()) => panic!("allowed but should be refused: {sql}"),
        }
    }

    fn allowed(sql: &str) {
        if let Err(r) = check_read_only(sql) {
            panic!("refused but should be allowed: {sql}\n{r}");
        }
    }

    #[test]
    fn queries_and_harmless_statements_are_allowed() {
        for sql in [
            "SELECT 1",
            "select * from taux_reussite where code_css = '866000' limit 10",
            "WITH t AS (SELECT 1 AS a) SELECT a FROM t",
            "SELECT 1 UNION SELECT 2 EXCEPT SELECT 3",
            "VALUES (1, 'a'), (2, 'b')",
            "(SELECT 1) UNION ALL (SELECT 2)",
            "SELECT * FROM resultat r JOIN eleve e ON r.fiche = e.fiche WHERE r.note > (SELECT avg(note) FROM resultat)",
            "EXPLAIN SELECT 1",
            "EXPLAIN ANALYZE SELECT count(*) FROM resultat",
            "EXPLAIN VERBOSE WITH t AS (SELECT 1) SELECT * FROM t",
            "SET extra_float_digits = 3",
            "SET application_name = 'PowerBI'",
            "SET DateStyle = 'ISO, MDY'",
            "SET client_encoding TO 'UTF8'",
            "SET search_path = public",
            "SET statement_timeout = 30000",
            "SET TIME ZONE 'UTC'",
            "SET timezone = 'America/Montreal'",
            "SET SESSION extra_float_digits = 3",
            "SHOW ALL",
            "SHOW TABLES",
            "SHOW search_path",
            "BEGIN",
            "START TRANSACTION",
            "COMMIT",
            "ROLLBACK",
            "DESCRIBE resultat",
            "SELECT * FROM generate_series(1, 3)",
            "SELECT * FROM range(10) AS r(n)",
            "SELECT * FROM unnest(ARRAY[1, 2])",
            "SELECT 1; SELECT 2;",
            "-- a comment\nSELECT 1 /* another */",
            "SELECT '/tmp/x.csv' AS path",
            // DataFusion's own syntax, which only the generic dialect parses.
            "SELECT * EXCLUDE (systeme_source) FROM eleve WHERE systeme_source <> 'jade'",
        ] {
            allowed(sql);
        }
    }

    #[test]
    fn copy_in_every_form_is_refused() {
        for sql in [
            "COPY (SELECT 1) TO '/tmp/x.csv'",
            "COPY resultat TO '/tmp/x.csv'",
            "COPY resultat FROM '/tmp/x.csv'",
            "COPY (SELECT 1) TO '/tmp/x.csv' STORED AS CSV",
            "copy (select 1) to '/tmp/x.parquet' (format parquet)",
        ] {
            let r = refused(sql);
            assert_eq!(r.kind(), "COPY", "{sql}: {r}");
            assert_eq!(
                r.to_string(),
                "requête refusée: COPY n'est pas permis (lecture seule) / refused: COPY is not allowed (read-only)"
            );
        }
    }

    #[test]
    fn ddl_and_dml_are_refused() {
        for (sql, kind) in [
            (
                "CREATE EXTERNAL TABLE x (a INT) STORED AS CSV LOCATION '/tmp/x.csv'",
                "CREATE",
            ),
            ("CREATE EXTERNAL TABLE x STORED AS PARQUET LOCATION '/etc/'", "CREATE"),
            ("CREATE TABLE t (a INT)", "CREATE"),
            ("CREATE TABLE t AS SELECT 1", "CREATE"),
            ("CREATE VIEW v AS SELECT 1", "CREATE"),
            ("CREATE OR REPLACE VIEW v AS SELECT 1", "CREATE"),
            ("INSERT INTO t VALUES (1)", "INSERT"),
            ("INSERT INTO t SELECT * FROM resultat", "INSERT"),
            ("UPDATE t SET a = 1", "UPDATE"),
            ("DELETE FROM t", "DELETE"),
            ("MERGE INTO t USING s ON t.a = s.a WHEN MATCHED THEN DELETE", "MERGE"),
            ("DROP TABLE resultat", "DROP"),
            ("DROP VIEW v", "DROP"),
            ("ALTER TABLE t ADD COLUMN b INT", "ALTER"),
            ("TRUNCATE t", "TRUNCATE"),
            ("GRANT SELECT ON t TO public", "GRANT"),
            ("PREPARE p AS SELECT 1", "PREPARE"),
            ("RESET ALL", "RESET"),
        ] {
            let r = refused(sql);
            assert_eq!(r.kind(), kind, "{sql}: {r}");
            assert!(r.to_string().contains("lecture seule"), "{r}");
        }
    }

    #[test]
    fn every_statement_of_a_text_is_checked() {
        let r = refused("SELECT 1; COPY (SELECT 1) TO '/tmp/x.csv'");
        assert_eq!(r.kind(), "COPY");
        assert!(r.to_string().contains("instruction 2"), "{r}");
        assert_eq!(refused("SELECT 1; DROP TABLE resultat; SELECT 2").kind(), "DROP");
        assert_eq!(refused("BEGIN; INSERT INTO t VALUES (1); COMMIT").kind(), "INSERT");
    }

    #[test]
    fn explain_only_of_a_query() {
        for sql in [
            "EXPLAIN COPY (SELECT 1) TO '/tmp/x.csv'",
            "EXPLAIN ANALYZE COPY (SELECT 1) TO '/tmp/x.csv'",
            "EXPLAIN ANALYZE INSERT INTO t VALUES (1)",
            "EXPLAIN CREATE TABLE t AS SELECT 1",
            "EXPLAIN SET extra_float_digits = 3",
        ] {
            let r = refused(sql);
            assert_eq!(r.kind(), "EXPLAIN", "{sql}: {r}");
        }
        assert!(
            refused("EXPLAIN ANALYZE COPY (SELECT 1) TO '/tmp/x.csv'")
                .to_string()
                .contains("EXPLAIN COPY")
        );
        assert_eq!(
            refused("EXPLAIN SELECT * FROM read_parquet('/etc/x.parquet')").kind(),
            "table function"
        );
    }

    #[test]
    fn comments_hide_nothing() {
        for sql in [
            "/* c */ COPY (SELECT 1) TO '/tmp/x.csv'",
            "-- SELECT 1\nCOPY (SELECT 1) TO '/tmp/x.csv'",
            "/* SELECT */ /* nested /* comment */ */ DROP TABLE resultat",
            "SELECT 1 -- ; COPY\n; CREATE TABLE t (a INT)",
            "/* c */ COPY (SELECT 1) TO '/tmp/x.csv' STORED AS CSV",
        ] {
            let r = refused(sql);
            assert!(["COPY", "DROP", "CREATE"].contains(&r.kind()), "{sql}: {r}");
        }
    }

    #[test]
    fn settings_of_the_engine_are_refused() {
        for sql in [
            "SET datafusion.execution.target_partitions = 1",
            "SET datafusion.catalog.information_schema = true",
            "SET DataFusion.runtime.memory_limit = '1G'",
        ] {
            assert_eq!(refused(sql).kind(), "SET datafusion.*", "{sql}");
        }
        for sql in [
            "SET role = 'admin'",
            "SET ROLE admin",
            "SET work_mem = '1GB'",
            "SET NAMES 'UTF8'",
        ] {
            assert_eq!(refused(sql).kind(), "SET", "{sql}");
        }
    }

    #[test]
    fn table_functions_are_refused_at_any_depth() {
        for sql in [
            "SELECT * FROM read_csv('/etc/passwd')",
            "SELECT * FROM read_parquet('s3://bucket/x.parquet')",
            "SELECT * FROM resultat WHERE fiche IN (SELECT fiche FROM read_csv('/tmp/x.csv'))",
            "SELECT * FROM (SELECT * FROM (SELECT * FROM parquet_metadata('/tmp/x.parquet')) a) b",
            "WITH x AS (SELECT * FROM read_json('/tmp/x.json')) SELECT * FROM x",
            "SELECT * FROM resultat r JOIN read_csv('/tmp/x.csv') c ON true",
            "SELECT 1 UNION SELECT * FROM read_csv('/tmp/x.csv')",
            "SELECT EXISTS (SELECT 1 FROM read_csv('/tmp/x.csv'))",
            "SELECT * FROM LATERAL read_csv('/tmp/x.csv')",
            "SELECT * FROM TABLE(read_csv('/tmp/x.csv'))",
            "SELECT * FROM myschema.read_csv('/tmp/x.csv')",
            "SELECT * EXCLUDE (a) FROM read_csv('/tmp/x.csv')",
        ] {
            let r = refused(sql);
            assert_eq!(r.kind(), "table function", "{sql}: {r}");
            assert!(
                !r.to_string().contains("/tmp") && !r.to_string().contains("/etc"),
                "{r}"
            );
        }
        assert!(
            refused("SELECT * FROM read_csv('/etc/passwd')")
                .to_string()
                .contains("read_csv")
        );
        for sql in [
            "SELECT * FROM \"/etc/passwd\"",
            "SELECT * FROM \"data.csv\"",
            "SELECT * FROM \"https://example.com/x.parquet\"",
        ] {
            assert_eq!(refused(sql).kind(), "file table", "{sql}");
        }
    }

    #[test]
    fn refusals_never_quote_the_query() {
        let code = "ABCD12345678";
        for sql in [
            format!("SELECT * FROM eleve WHERE code_permanent = '{code}'; COPY (SELECT 1) TO '/tmp/x.csv'"),
            format!("SELECT * FROM eleve WHERE code_permanent = '{code}' AND"),
            format!("SELECT * FROM eleve WHERE code_permanent = '{code}"),
            format!("INSERT INTO eleve VALUES ('{code}')"),
            format!("SELECT * FROM read_csv('{code}.csv')"),
        ] {
            let r = refused(&sql);
            let text = format!("{r} {r:?}");
            assert!(!text.contains(code), "{text}");
        }
        let r = refused("SELECT * FROM t\nWHERE a = = 1");
        assert_eq!(r.kind(), "unparsable");
        assert!(r.to_string().contains("ligne 2"), "{r}");
    }

    #[tokio::test]
    async fn the_second_layer_refuses_ddl_dml_and_statements() {
        let ctx = datafusion::prelude::SessionContext::new();
        let dir = std::env::temp_dir().join(format!("socle-guard-{}", std::process::id()));
        let target = dir.join("never.csv");
        for sql in [
            format!("COPY (SELECT 1) TO '{}'", target.display()),
            format!("CREATE EXTERNAL TABLE x STORED AS CSV LOCATION '{}'", dir.display()),
            "CREATE VIEW v AS SELECT 1".to_string(),
            "SET datafusion.execution.batch_size = 1".to_string(),
            "BEGIN".to_string(),
        ] {
            assert!(ctx.sql_with_options(&sql, read_only_options()).await.is_err(), "{sql}");
        }
        assert!(ctx.sql_with_options("SELECT 1", read_only_options()).await.is_ok());
        assert!(!target.exists());
    }
}
