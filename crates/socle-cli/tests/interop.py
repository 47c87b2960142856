"""Reads a Socle warehouse with DuckDB and polars, independently of Socle, and prints JSON.

Usage: python3 interop.py WAREHOUSE MART_SQL_FILE
For each engine: row count of the shared `resultat`, the taux_reussite mart recomputed by that
engine from the shared `resultat` files with the pipeline's own SQL (DuckDB) or polars
expressions, and the mart file written by Socle as that engine reads it.
"""
import json
import sys

import duckdb
import polars as pl

wh, mart_sql_file = sys.argv[1], sys.argv[2]
resultat_glob = f"{wh}/shared/resultat/**/*.parquet"
# The exact cells: the CSS zones' files (the shared zone's file hides small cells).
mart_glob = f"{wh}/css/*/marts/taux_reussite/*.parquet"
KEY = ["annee_scolaire", "code_css", "code_etablissement", "code_cours", "etape"]


def rows(records):
    return sorted(
        [[r[k] for k in KEY] + [int(r["nb_evalues"]), int(r["nb_reussites"]),
          None if r["taux_reussite"] is None else round(float(r["taux_reussite"]), 9)]
         for r in records],
        key=lambda x: [str(v) for v in x[:5]],
    )


def records(cur):
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


out = {}

con = duckdb.connect()
con.execute(f"CREATE VIEW resultat AS SELECT * FROM read_parquet('{resultat_glob}', hive_partitioning = false)")
sql = open(mart_sql_file, encoding="utf-8").read()
recomputed = records(con.execute(sql))
socle_mart = records(con.execute(f"SELECT * FROM read_parquet('{mart_glob}')"))
out["duckdb"] = {
    "resultat_rows": con.execute("SELECT count(*) FROM resultat").fetchone()[0],
    "recomputed": rows(recomputed),
    "socle_mart": rows(socle_mart),
}

res = pl.scan_parquet(resultat_glob, hive_partitioning=False)
kept = res.filter(~pl.col("reprise") & (pl.col("etat") != 0) & ~pl.col("ecole_bidon"))
agg = (
    kept.group_by(KEY)
    .agg(
        pl.col("evalue").cast(pl.Int64).sum().alias("nb_evalues"),
        pl.col("reussi").fill_null(False).cast(pl.Int64).sum().alias("nb_reussites"),
    )
    .with_columns(
        pl.when(pl.col("nb_evalues") == 0).then(None)
        .otherwise(pl.col("nb_reussites") / pl.col("nb_evalues")).alias("taux_reussite")
    )
    .collect()
)
out["polars"] = {
    "resultat_rows": res.select(pl.len()).collect().item(),
    "recomputed": rows(agg.to_dicts()),
    "socle_mart": rows(pl.read_parquet(mart_glob).to_dicts()),
}
print(json.dumps(out))
