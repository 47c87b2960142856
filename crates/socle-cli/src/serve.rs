//! `socle serve` (the web page and the SQL endpoint, `socle-serve`), `socle serve passwd`, and
//! `socle audit` (reads the audit log).

use anyhow::{Context, Result, bail};
use std::io::BufRead;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ServeArgs {
    #[command(subcommand)]
    command: Option<ServeCommand>,
    #[arg(long, default_value = "warehouse")]
    warehouse: PathBuf,
    /// The accounts and settings (see `socle serve passwd`).
    #[arg(long, default_value = "access.yaml")]
    access: PathBuf,
    /// The web page's address.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// The SQL endpoint's address (Postgres wire).
    #[arg(long, default_value = "127.0.0.1:5433")]
    pg_listen: SocketAddr,
    /// Serve the web page only.
    #[arg(long)]
    no_sql: bool,
    /// TLS certificate (PEM) for both the web page and the SQL endpoint; the server refuses to
    /// start if it cannot be loaded.
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    #[arg(long, default_value = "schemas")]
    schemas: PathBuf,
    #[arg(long, default_value = "pipelines")]
    pipelines: PathBuf,
}

#[derive(clap::Subcommand)]
enum ServeCommand {
    /// Set an account's password (read from the first line of standard input), as an argon2
    /// hash for the web and a SCRAM-SHA-256 verifier for the SQL endpoint; with --role, create
    /// the account if it does not exist.
    Passwd(PasswdArgs),
}

#[derive(clap::Args)]
struct PasswdArgs {
    user: String,
    #[arg(long, default_value = "access.yaml")]
    access: PathBuf,
    /// Role of a new account: ecole, css, ministere, admin.
    #[arg(long)]
    role: Option<String>,
    /// CSS of a new `css` or `ecole` account.
    #[arg(long)]
    css: Option<String>,
    /// Establishments of a new `ecole` account, comma-separated.
    #[arg(long, value_delimiter = ',')]
    etablissements: Vec<String>,
    /// A new account may see students by name.
    #[arg(long)]
    nominatif: bool,
    /// Last day a new account may sign in (YYYY-MM-DD).
    #[arg(long)]
    expires: Option<chrono::NaiveDate>,
}

#[derive(clap::Args)]
pub struct AuditArgs {
    #[arg(long, default_value = "warehouse")]
    warehouse: PathBuf,
    /// Only this account's lines.
    #[arg(long)]
    user: Option<String>,
    /// From this day (YYYY-MM-DD, UTC), inclusive.
    #[arg(long)]
    since: Option<chrono::NaiveDate>,
    /// One JSON object per line instead of a table.
    #[arg(long)]
    json: bool,
}

pub async fn serve(a: ServeArgs) -> Result<u8> {
    if let Some(ServeCommand::Passwd(p)) = a.command {
        return passwd(p);
    }
    let options = socle_serve::ServeOptions {
        warehouse: a.warehouse,
        access: a.access,
        schemas: a.schemas,
        pipelines: a.pipelines,
        listen: a.listen,
        pg_listen: (!a.no_sql).then_some(a.pg_listen),
        tls_cert: a.tls_cert,
        tls_key: a.tls_key,
    };
    let bound = socle_serve::bind(&options).await?;
    let scheme = if options.tls_cert.is_some() { "https" } else { "http" };
    // Printed on standard output, one line each, for people and for tests that bind port 0.
    println!("web: {scheme}://{}", bound.web_addr()?);
    if let Some(pg) = bound.pg_addr() {
        println!("sql: postgresql://{pg}");
    }
    socle_serve::serve(bound, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(0)
}

fn passwd(p: PasswdArgs) -> Result<u8> {
    let template = match &p.role {
        None => None,
        Some(role) => Some(socle_serve::Account {
            role: role.parse().map_err(anyhow::Error::msg)?,
            css: p.css.clone(),
            etablissements: p.etablissements.clone(),
            nominatif: p.nominatif,
            expires: p.expires,
            password: Default::default(),
        }),
    };
    eprintln!(
        "Mot de passe de {} (une ligne sur l'entrée standard) / password:",
        p.user
    );
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the password")?;
    let password = line.trim_end_matches(['\r', '\n']);
    if password.is_empty() {
        bail!("empty password");
    }
    let created = socle_serve::passwd(&p.access, &p.user, password, template)?;
    println!(
        "{} {} in {}",
        if created { "account created:" } else { "password set:" },
        p.user,
        p.access.display()
    );
    Ok(0)
}

pub fn audit(a: AuditArgs) -> Result<u8> {
    if !a.warehouse.join("_socle").exists() {
        bail!("{} is not a Socle warehouse", a.warehouse.display());
    }
    let auditor = socle_serve::audit::Auditor::open(&a.warehouse)?;
    let since = a.since.map(|d| d.to_string());
    let events = auditor.read(since.as_deref(), a.user.as_deref())?;
    for e in &events {
        if a.json {
            println!("{}", serde_json::to_string(e)?);
        } else {
            println!("{e}");
        }
    }
    eprintln!("{} line(s)", events.len());
    Ok(0)
}
