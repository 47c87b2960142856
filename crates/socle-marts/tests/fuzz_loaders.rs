//! The fuzz campaign of the loaders of the project's own files: the data dictionary
//! (`socle_dictionary::Dictionary::load`, then `validate`) fed mutated copies of `schemas/`, and
//! the pipelines (`socle_marts::load`) fed mutated copies of `pipelines/`. Properties: no panic;
//! a loader returns what it loaded, or an error, and every error or problem names a file of the
//! folder it was given. The mutations are the readers' (`socle_connect::testing::fuzz`); the
//! campaign lives here, above both loaders, since the dictionary's crate sits below the shared
//! strategies. 64 cases per property; `PROPTEST_CASES` for more (`benches/fuzz.sh`).

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use proptest::test_runner::{TestCaseError, TestRunner};
use socle_connect::testing::fuzz;
use socle_dictionary::Dictionary;
use socle_dictionary::LoadError;
use socle_marts::MartError;

/// Copies the folder `from` into `to`, recursively.
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir") {
        let path = entry.expect("entry").path();
        let target = to.join(path.file_name().expect("name"));
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            std::fs::copy(&path, &target).expect("copy");
        }
    }
}

/// A copy of the repository's folder `name` in a temporary folder, and its files ending with one
/// of `suffixes`.
fn copy_of(name: &str, suffixes: &[&str]) -> (tempfile::TempDir, PathBuf, Vec<PathBuf>) {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(name);
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join(name);
    copy_dir(&repo, &root);
    let files = fuzz::files_under(&root, suffixes);
    assert!(!files.is_empty(), "no {suffixes:?} under {}", root.display());
    (dir, root, files)
}

/// Runs `check` on a copy of `name` where one file, of `files`, is mutated (and put back after).
fn campaign(target: &str, name: &str, suffixes: &[&str], check: impl Fn(&Path) -> Result<(), TestCaseError>) {
    let (_dir, root, files) = copy_of(name, suffixes);
    let originals: Vec<Vec<u8>> = files.iter().map(|f| std::fs::read(f).expect("read")).collect();
    let inputs = std::cell::Cell::new(0u64);
    let mut runner = TestRunner::new(fuzz::config(file!()));
    let result = runner.run(&(fuzz::at(), fuzz::mutations()), |(pick, muts)| {
        let i = pick.index(files.len());
        std::fs::write(&files[i], fuzz::mutate(&originals[i], &muts)).expect("write");
        inputs.set(inputs.get() + 1);
        let outcome = check(&root);
        std::fs::write(&files[i], &originals[i]).expect("restore");
        outcome
    });
    eprintln!(
        "fuzz {target}: {} inputs tried, {} failures",
        inputs.get(),
        u64::from(result.is_err())
    );
    if let Err(e) = result {
        panic!("{target}: {e}");
    }
}

#[test]
fn the_dictionary_loader_survives_mutated_schemas() {
    campaign("dictionary loader", "schemas", &[".yaml", ".yml"], |root| {
        match Dictionary::load(root) {
            Ok(dict) => {
                for p in dict.validate() {
                    prop_assert!(
                        p.file.starts_with(root),
                        "a problem names no file of the dictionary: {p}"
                    );
                    prop_assert!(!p.message.is_empty(), "{p}");
                }
            }
            Err(e) => {
                let (LoadError::Io { path, .. } | LoadError::Yaml { path, .. } | LoadError::Invalid { path, .. }) = &e;
                prop_assert!(path.starts_with(root), "the error names no file of the dictionary: {e}");
            }
        }
        Ok(())
    });
}

#[test]
fn the_pipelines_loader_survives_mutated_pipelines() {
    campaign("pipelines loader", "pipelines", &[".yaml", ".yml", ".sql"], |root| {
        match socle_marts::load(root) {
            Ok((project, problems)) => {
                for p in &problems {
                    prop_assert!(
                        p.file.starts_with(root),
                        "a problem names no file of the pipelines: {p}"
                    );
                    prop_assert!(!p.message.is_empty(), "{p}");
                }
                prop_assert!(
                    !project.marts.is_empty() || !problems.is_empty(),
                    "no mart and no problem"
                );
            }
            Err(e) => match &e {
                MartError::Io { path, .. } | MartError::Invalid { path, .. } => {
                    prop_assert!(path.starts_with(root), "the error names no file of the pipelines: {e}");
                }
                other => return Err(TestCaseError::fail(format!("loading gave {other}"))),
            },
        }
        Ok(())
    });
}
