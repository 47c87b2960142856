//! Every mart case of `pipelines/tests/*.yaml` (see `pipelines/tests/README.md`): one test that
//! runs them all and fails listing every failing case with what differs. `socle test [NAME]`
//! runs the same cases from the command line.

use socle_marts::cases::Runner;
use socle_marts::testing::repo_root;

#[tokio::test]
async fn every_mart_case_of_pipelines_tests_passes() -> Result<(), String> {
    let root = repo_root();
    let runner = Runner::new(&root.join("schemas"), &root.join("pipelines"))?;
    let outcomes = runner.run(None).await?;
    let failures: Vec<String> = outcomes.iter().filter_map(|o| o.failure.clone()).collect();
    assert!(!outcomes.is_empty(), "no case under {}", runner.dir().display());
    assert!(
        failures.is_empty(),
        "{} of {} mart cases fail:\n\n{}",
        failures.len(),
        outcomes.len(),
        failures.join("\n\n")
    );
    println!("{} mart cases pass", outcomes.len());
    Ok(())
}
