//! `socle serve` (the web page and the SQL endpoint, `socle-serve`), `socle serve passwd`, and
//! `socle audit` (reads the audit log).

use anyhow::Result;
use socle_serve::{PasswdRequest, ServeOptions};
use std::path::PathBuf;

#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ServeArgs {
    #[command(subcommand)]
    command: Option<ServeCommand>,
    #[command(flatten)]
    options: ServeOptions,
}

#[derive(clap::Subcommand)]
enum ServeCommand {
    /// Set an account's password (read from the first line of standard input), as an argon2
    /// hash for the web and a SCRAM-SHA-256 verifier for the SQL endpoint; with --role, create
    /// the account if it does not exist.
    Passwd(PasswdRequest),
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
        eprintln!(
            "Mot de passe de {} (une ligne sur l'entrée standard) / password:",
            p.user
        );
        println!("{}", socle_serve::passwd_from(&p, &mut std::io::stdin().lock())?);
        return Ok(0);
    }
    let bound = socle_serve::bind(&a.options).await?;
    let scheme = if a.options.tls_cert.is_some() { "https" } else { "http" };
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

pub fn audit(a: AuditArgs) -> Result<u8> {
    let wh = socle_warehouse::Warehouse::open_existing(&a.warehouse)?;
    let since = a.since.map(|d| d.to_string());
    let events = socle_serve::audit::Auditor::open(wh.root())?.read(since.as_deref(), a.user.as_deref())?;
    for e in &events {
        match a.json {
            true => println!("{}", serde_json::to_string(e)?),
            false => println!("{e}"),
        }
    }
    eprintln!("{} line(s)", events.len());
    Ok(0)
}
