//! `socle serve`: Socle's front door, in one process.
//!
//! - **The web page** ([`web`]) for CSS staff and ministry analysts: sign in, the dashboards of
//!   one's scope (a chart, a paged table, filters, the definition in words, downloads in CSV,
//!   Excel and Parquet), the documentation of the data dictionary and of every model with its
//!   lineage, and the audit log for `admin`. French first; no script, no CDN: charts are SVG
//!   drawn on the server.
//! - **The SQL endpoint** ([`pg`]) on the Postgres wire, for analysts' tools (psql, DBeaver,
//!   Power BI through Npgsql, Python's psycopg): SCRAM-SHA-256, one session per connection built
//!   for the account, read-only by construction, a statement timeout and a row cap.
//! - **Accounts and roles** ([`access`]): `ecole`, `css`, `ministere`, `admin`, each with its
//!   scope, an optional expiry and `nominatif`; enforced where the data is read ([`scope`]):
//!   the session a request gets holds only what its account may see.
//! - **The audit log** ([`audit`]): every sign-in, page, download and statement, one JSON line,
//!   never a personal value; reads fail closed when it cannot be written.
//!
//! The server picks up a newly published night without a restart (sessions are rebuilt when
//! [`socle_warehouse::Warehouse::publication_stamp`] changes) and never shows a half-published
//! one (it reads through the manifests); a query running while a night publishes finishes on
//! the files it planned with, which the night keeps for a grace period
//! ([`socle_warehouse::Warehouse::set_replaced_grace`]).

pub mod access;
pub mod audit;
mod compat;
pub mod download;
pub mod export;
mod http;
pub mod pg;
pub mod scope;
pub mod server;
pub mod web;

pub use access::{AccessFile, Account, Role};
pub use server::{Bound, ServeOptions, Server, bind, serve};

use std::path::Path;

/// `socle serve passwd USER`: who, where, and the fields of a new account.
#[derive(clap::Args)]
pub struct PasswdRequest {
    pub user: String,
    #[arg(long, default_value = "access.yaml")]
    pub access: std::path::PathBuf,
    /// Role of a new account: ecole, css, ministere, admin.
    #[arg(long)]
    pub role: Option<Role>,
    /// CSS of a new `css` or `ecole` account.
    #[arg(long)]
    pub css: Option<String>,
    /// Establishments of a new `ecole` account, comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub etablissements: Vec<String>,
    /// A new account may see students by name.
    #[arg(long)]
    pub nominatif: bool,
    /// Last day a new account may sign in (YYYY-MM-DD).
    #[arg(long)]
    pub expires: Option<chrono::NaiveDate>,
}

/// `socle serve passwd`: the password read from the first line of `input` (never echoed, never
/// an argument a process listing would show), set as [`passwd`] does; returns the line to print.
pub fn passwd_from(req: &PasswdRequest, input: &mut impl std::io::BufRead) -> anyhow::Result<String> {
    let template = req.role.map(|role| Account {
        role,
        css: req.css.clone(),
        etablissements: req.etablissements.clone(),
        nominatif: req.nominatif,
        expires: req.expires,
        password: Default::default(),
    });
    let mut line = String::new();
    input
        .read_line(&mut line)
        .map_err(|e| anyhow::anyhow!("reading the password: {e}"))?;
    let password = line.trim_end_matches(['\r', '\n']);
    if password.is_empty() {
        anyhow::bail!("empty password");
    }
    let created = passwd(&req.access, &req.user, password, template)?;
    let done = if created { "account created:" } else { "password set:" };
    Ok(format!("{done} {} in {}", req.user, req.access.display()))
}

/// `socle serve passwd USER`: sets `user`'s password in `access` (both forms), creating the
/// account with `template` when it does not exist yet. The file is rewritten with mode 0600.
pub fn passwd(access: &Path, user: &str, password: &str, template: Option<Account>) -> anyhow::Result<bool> {
    let mut file = AccessFile::load_or_default(access)?;
    let created = !file.accounts.contains_key(user);
    let account = match (file.accounts.get_mut(user), template) {
        (Some(a), _) => a,
        (None, Some(t)) => file.accounts.entry(user.to_string()).or_insert(t),
        (None, None) => anyhow::bail!(
            "le compte {user} n'existe pas dans {}: donnez --role (et --css, --etablissements) pour le créer / no such account",
            access.display()
        ),
    };
    access::set_password(account, password)?;
    file.check(access)?;
    file.save(access)?;
    Ok(created)
}
