//! The server's audit lines (Québec Law 25: who read what is the evidence after an incident).
//!
//! Every sign-in (success and failure), page, download and SQL statement appends one line to
//! the warehouse's audit log (`socle_warehouse::AuditLog`, `_socle/audit/YYYY-MM-DD.jsonl`):
//! time, account, role, action, zone, filters, the statement with every literal replaced by `?`
//! plus a hash of the full text, rows returned, duration and the client's address. Never a
//! personal value: SQL literals are what could hold one (`WHERE code_permanent = '...'`), and
//! they are never written; filters are values of a mart's filter columns (years, codes of CSS,
//! establishments, courses), never of a personal column.
//!
//! Reads fail closed: if the line cannot be written, the data is not served.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
use datafusion::sql::sqlparser::tokenizer::{Token, Tokenizer, Whitespace};
use socle_warehouse::{AuditEvent, AuditLog, WarehouseError};

/// `sql` with every literal replaced by `?` and comments dropped, on the tokens rather than on
/// a parse, so a text that does not parse, or a literal in any position (`DATE '...'`, an
/// interval, a dollar-quoted string), is covered. A token the tokenizer cannot read ends the
/// text: nothing after it is echoed.
pub fn normalise_sql(sql: &str) -> String {
    let dialect = PostgreSqlDialect {};
    let tokens = match Tokenizer::new(&dialect, sql).tokenize() {
        Ok(t) => t,
        Err(_) => return "(texte non analysable)".to_string(),
    };
    let mut out = String::new();
    let mut space = false;
    for token in tokens {
        let piece = match &token {
            Token::Whitespace(Whitespace::SingleLineComment { .. } | Whitespace::MultiLineComment(_)) => {
                space = true;
                continue;
            }
            Token::Whitespace(_) => {
                space = true;
                continue;
            }
            Token::Word(_) => token.to_string(),
            Token::EOF => continue,
            other => {
                let text = other.to_string();
                // Every literal kind, known or not: numbers, strings of any quoting.
                if text
                    .chars()
                    .any(|c| c.is_ascii_digit() || matches!(c, '\'' | '$' | '"'))
                    && !matches!(other, Token::Placeholder(_))
                {
                    "?".to_string()
                } else {
                    text
                }
            }
        };
        if space && !out.is_empty() {
            out.push(' ');
        }
        space = false;
        out.push_str(&piece);
    }
    out
}

/// What one audit line says, built by the web and SQL handlers.
#[derive(Debug, Clone, Default)]
pub struct Entry {
    pub who: String,
    pub role: String,
    pub action: &'static str,
    pub zone: String,
    pub target: String,
    pub rows: u64,
    pub filters: Option<String>,
    pub statement: Option<String>,
    pub duration: Option<Duration>,
    pub client: Option<SocketAddr>,
    pub outcome: String,
}

/// The audit log of the served warehouse.
#[derive(Debug, Clone)]
pub struct Auditor {
    log: AuditLog,
}

impl Auditor {
    pub fn open(root: &Path) -> Result<Self, WarehouseError> {
        Ok(Auditor {
            log: AuditLog::open(root)?,
        })
    }

    pub fn log(&self) -> &AuditLog {
        &self.log
    }

    /// Appends the line; the caller refuses to serve when this fails.
    pub fn record(&self, e: Entry) -> Result<(), WarehouseError> {
        let mut event = AuditEvent::now(&e.who, e.action, &e.zone, &e.target, e.rows);
        event.role = Some(e.role);
        event.filters = e.filters;
        event.statement = e.statement;
        event.duration_ms = e.duration.map(|d| d.as_millis() as u64);
        event.client = e.client.map(|a| a.to_string());
        event.outcome = Some(e.outcome);
        self.log.append(&event)
    }

    /// Events of every day from `since` (inclusive, `YYYY-MM-DD`), of `user` if given, newest last.
    pub fn read(&self, since: Option<&str>, user: Option<&str>) -> Result<Vec<AuditEvent>, WarehouseError> {
        let mut out = Vec::new();
        for day in self.log.days()? {
            if since.is_some_and(|s| day.as_str() < s) {
                continue;
            }
            out.extend(
                self.log
                    .read_day(&day)?
                    .into_iter()
                    .filter(|e| user.is_none_or(|u| e.who == u)),
            );
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_never_reach_the_statement() {
        let n = normalise_sql("SELECT * FROM eleve WHERE code_permanent = 'TREM12345678' AND annee = 2024 LIMIT 10");
        assert!(!n.contains("TREM12345678"), "{n}");
        assert!(!n.contains("2024"), "{n}");
        assert!(n.contains("code_permanent = ?"), "{n}");
        assert_eq!(normalise_sql("SELECT 1; SELECT 'x'"), "SELECT ?; SELECT ?");
        assert_eq!(normalise_sql("SELECT 'TREM12345678"), "(texte non analysable)");
        assert!(normalise_sql("SELECT * FROM t WHERE a IS NULL").contains("NULL"));
        for leak in [
            "SELECT DATE '2011-03-04'",
            "SELECT $$TREM12345678$$",
            "SELECT E'TREM12345678'",
            "SELECT * FROM t /* TREM12345678 */",
            "SELECT 1 -- TREM12345678",
            "SELECT X'0A'",
        ] {
            let n = normalise_sql(leak);
            assert!(
                !n.contains("TREM") && !n.contains("2011") && !n.contains("0A"),
                "{leak} -> {n}"
            );
        }
    }
}
