//! Profiles the reading of one export file: the split, then the typing query under
//! `EXPLAIN ANALYZE`. `cargo run --release -p socle-connect --example typing_profile -- SCHEMAS SYSTEM TABLE FILE`
use std::time::Instant;

use datafusion::datasource::MemTable;
use socle_connect::{ReadOptions, split, typing};
use socle_dictionary::Dictionary;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let dict = Dictionary::load(&args[1])?;
    let source = dict.source(&args[2]).ok_or("no such system")?;
    let table = source
        .tables
        .iter()
        .find(|t| t.name == args[3])
        .ok_or("no such table")?;
    let path = std::path::Path::new(&args[4]);
    let t = Instant::now();
    let s = split::split_file(path, table, &ReadOptions::default())?;
    println!("split: {:?} ({} rows)", t.elapsed(), s.info.rows_read);
    let ctx = typing::typing_session(8192);
    let t = Instant::now();
    let typed = typing::type_table(&ctx, table, &s, "f.csv").await?;
    println!("typing: {:?} ({} rows loaded)", t.elapsed(), typed.rows_loaded);
    let mem = MemTable::try_new(s.raw_schema.clone(), vec![s.batches.clone()])?;
    ctx.register_table("raw", std::sync::Arc::new(mem))?;
    let sql = typing::build_sql(table, "raw", "checked", "f.csv", s.info.delimiter, &s.present)?;
    let out = ctx
        .sql(&format!("EXPLAIN ANALYZE {}", sql.check))
        .await?
        .collect()
        .await?;
    println!("{}", datafusion::arrow::util::pretty::pretty_format_batches(&out)?);
    let checked = ctx.sql(&sql.check).await?;
    let schema = checked.schema().inner().clone();
    let parts = checked.collect_partitioned().await?;
    ctx.register_table("checked", std::sync::Arc::new(MemTable::try_new(schema, parts)?))?;
    let out = ctx
        .sql(&format!("EXPLAIN ANALYZE {}", sql.finish))
        .await?
        .collect()
        .await?;
    println!("{}", datafusion::arrow::util::pretty::pretty_format_batches(&out)?);
    let out = ctx
        .sql(&format!("EXPLAIN ANALYZE {}", sql.dups.unwrap_or_default()))
        .await?
        .collect()
        .await?;
    println!("{}", datafusion::arrow::util::pretty::pretty_format_batches(&out)?);
    Ok(())
}
