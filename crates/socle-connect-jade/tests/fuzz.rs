//! The fuzz campaign of the JADE reader (`socle_connect::testing::fuzz`): mutated committed
//! fixtures never panic the reader, every rejected record is located, records read = records
//! typed + records rejected per table, and a fixture cut short fails the source exactly when
//! its last record is cut. 64 cases per property; `PROPTEST_CASES` for more
//! (`benches/fuzz.sh`).

use socle_connect::testing::fuzz;
use socle_connect_jade::read_jade;

#[test]
fn the_reader_survives_mutated_fixtures() {
    fuzz::fuzz_reader("jade", file!(), |dir, source, opts| async move {
        read_jade(&dir, &source, &opts).await
    });
}

#[test]
fn fixtures_cut_short_fail_the_source() {
    fuzz::fuzz_cut_files(
        "jade",
        file!(),
        true,
        fuzz::csv_cut_rule,
        |dir, source, opts| async move { read_jade(&dir, &source, &opts).await },
    );
}
