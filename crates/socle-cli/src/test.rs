//! `socle test [NAME]`: the mart cases of `pipelines/tests/*.yaml` (`socle_marts::cases`), one
//! line per case; exit 1 if any fails.

use anyhow::{Result, anyhow};
use socle_marts::cases::{CasesReport, Runner};

#[derive(clap::Args)]
pub struct TestArgs {
    /// A file of pipelines/tests/ (without .yaml), a mart, or one case `mart::case`; every case
    /// if omitted.
    name: Option<String>,
    #[command(flatten)]
    project: crate::ProjectArgs,
}

pub async fn test(a: TestArgs) -> Result<u8> {
    let runner = Runner::new(&a.project.schemas, &a.project.pipelines).map_err(|e| anyhow!(e))?;
    let outcomes = runner.run(a.name.as_deref()).await.map_err(|e| anyhow!(e))?;
    let report = CasesReport {
        outcomes: &outcomes,
        dir: runner.dir(),
    };
    print!("{report}");
    Ok(u8::from(report.failed() > 0))
}
