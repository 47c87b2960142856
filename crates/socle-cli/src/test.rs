//! `socle test [NAME]`: runs the mart cases of `pipelines/tests/*.yaml` (hand-built canonical
//! tables through a mart, compared with rows computed by hand), one line per case.

use anyhow::{Result, anyhow};
use socle_marts::cases::Runner;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct TestArgs {
    /// A file of pipelines/tests/ (without .yaml), a mart, or one case `mart::case`; every case
    /// if omitted.
    name: Option<String>,
    #[arg(long, default_value = "pipelines")]
    pipelines: PathBuf,
    #[arg(long, default_value = "schemas")]
    schemas: PathBuf,
}

/// 0 if every case passes, 1 otherwise.
pub async fn test(a: TestArgs) -> Result<u8> {
    let runner = Runner::new(&a.schemas, &a.pipelines).map_err(|e| anyhow!(e))?;
    let outcomes = runner.run(a.name.as_deref()).await.map_err(|e| anyhow!(e))?;
    let mut failed = 0;
    for o in &outcomes {
        match &o.failure {
            None => println!("ok     {}", o.id),
            Some(why) => {
                failed += 1;
                println!("ÉCHEC  {}", o.id);
                for line in why.lines() {
                    println!("       {line}");
                }
            }
        }
    }
    println!(
        "{} cas: {} réussi(s), {} en échec ({})",
        outcomes.len(),
        outcomes.len() - failed,
        failed,
        runner.dir().display()
    );
    Ok(if failed == 0 { 0 } else { 1 })
}
