use datafusion::prelude::*;
use datafusion::arrow::util::pretty::pretty_format_batches;

#[tokio::test]
async fn probe() {
    let ctx = SessionContext::new();
    let q = r#"SELECT try_cast('2024-02-30' AS DATE) a, try_cast('20240229' AS DATE) b,
      regexp_replace('31/12/2024', '^([0-9]{2})/([0-9]{2})/([0-9]{4})$', '\3-\2-\1') c,
      regexp_replace('20241231', '^([0-9]{4})([0-9]{2})([0-9]{2})$', '${1}-${2}-${3}') d,
      regexp_like('12a', '^\d+$') e, regexp_like('12', '^\d+$') f,
      try_cast('007' AS BIGINT) g, try_cast('1.5' AS BIGINT) h, try_cast(' 12' AS BIGINT) i,
      try_cast('inf' AS DOUBLE) j, concat_ws(';', 'a', '', 'b') k, trim('  x  ') l, length('\t') m,
      try_cast('+12' AS BIGINT) n, try_cast('2024-1-5' AS DATE) o, 'it''s' p"#;
    let df = ctx.sql(q).await.unwrap();
    let b = df.collect().await.unwrap();
    println!("{}", pretty_format_batches(&b).unwrap());
}
