"""Runs the pipeline's own SQL of every shared mart in DuckDB over a Socle warehouse, independently
of Socle's engine, and compares every column of every row with Socle's exact cells; reads the
warehouse with polars too. Prints a JSON report.

Then reads every table of the warehouse as a Delta table, through its transaction log only:
Python `deltalake` counts each table's rows with its own SQL engine (delta-rs's DataFusion), and
polars reads `taux_reussite` of every CSS zone through Delta (`pl.read_delta`), compared cell for
cell with Socle's exact rows.

Usage: python3 interop.py WAREHOUSE SPEC_DIR EXACT_DIR

- SPEC_DIR: what `socle bench sql --warehouse WAREHOUSE --out SPEC_DIR` wrote: marts.json (every
  intermediate model and mart in dependency order, SQL with parameters filled in), the DuckDB
  macros of the pipelines' SQL functions (duckdb_functions.sql), the reference tables and seeds.
- EXACT_DIR: `<mart>.csv`, Socle's exact rows of each `source: shared` mart (every CSS zone's
  rows put together, as `socle query --css CODE --format csv` gives them).

DuckDB registers the shared zone's canonical files as listed by the warehouse's manifests (the
same helpers as `benches/bench.py`), builds each mart after the models it reads, and the rows
are compared on the mart's unique key: every column, integers and text exactly, floats within
1e-9.
"""
import csv
import datetime
import decimal
import json
import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "benches"))
import bench  # noqa: E402  (the DuckDB session helpers of the benchmark: one owner)

import polars as pl  # noqa: E402

wh, spec_dir, exact_dir = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
models = json.loads((spec_dir / "marts.json").read_text())
tables, mart_files = bench.warehouse_files(wh)


def text(v):
    """A DuckDB value as Socle's CSV writes it."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (datetime.date, datetime.datetime)):
        return v.isoformat()
    if isinstance(v, decimal.Decimal):
        return str(float(v))
    return str(v)


def same(a: str, b: str) -> bool:
    if a == b:
        return True
    try:
        x, y = float(a), float(b)
    except ValueError:
        return False
    return math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-9)


def session():
    con = bench.duck_connect(2)
    functions = spec_dir / "duckdb_functions.sql"
    for statement in filter(str.strip, functions.read_text().split(";")):
        con.execute(statement)
    for name, files in tables.items():
        bench.duck_view(con, name, files)
    for p in sorted((spec_dir / "shared_schemas").glob("*.parquet")):
        if p.stem not in tables:
            bench.duck_view(con, p.stem, [str(p)])
    for p in sorted((spec_dir / "reference").glob("*.parquet")):
        bench.duck_view(con, p.stem, [str(p)])
    return con


report = {"duckdb": {"marts": {}}, "polars": {}}
for m in models:
    if m.get("kind") == "intermediate" or m["source"] != "shared":
        continue
    name, columns, key = m["name"], m["columns"], m["unique_key"]
    entry = {"columns": columns}
    try:
        con = session()
        for dep in bench.with_dependencies(models, name):
            con.execute(f"CREATE OR REPLACE TEMP TABLE {bench.sql_ident(dep['name'])} AS {bench.mart_sql(dep)}")
        cur = con.execute(f"SELECT * FROM {bench.sql_ident(name)}")
        got_cols = [d[0] for d in cur.description]
        duck = [{c: text(v) for c, v in zip(got_cols, row)} for row in cur.fetchall()]
        con.close()
    except Exception as e:  # reported, the test fails on it
        entry["error"] = f"{type(e).__name__}: {e}"
        report["duckdb"]["marts"][name] = entry
        continue
    with open(exact_dir / f"{name}.csv", newline="", encoding="utf-8") as f:
        socle = list(csv.DictReader(f))
    entry["socle_rows"], entry["duckdb_rows"] = len(socle), len(duck)
    entry["columns_missing_in_duckdb"] = [c for c in columns if c not in got_cols]
    differences = []
    socle_by_key = {tuple(r[c] for c in key): r for r in socle}
    duck_by_key = {tuple(r[c] for c in key): r for r in duck}
    for k in sorted(set(socle_by_key) | set(duck_by_key)):
        a, b = socle_by_key.get(k), duck_by_key.get(k)
        if a is None or b is None:
            differences.append(f"key {k}: only in {'duckdb' if a is None else 'socle'}")
            continue
        for c in columns:
            if c in b and not same(a.get(c, ""), b[c]):
                differences.append(f"key {k}: {c} socle={a.get(c)!r} duckdb={b[c]!r}")
    entry["differences"] = len(differences)
    entry["sample"] = differences[:10]
    report["duckdb"]["marts"][name] = entry

# polars reads the same files: the shared `resultat` and each shared mart's exact (CSS zone) files.
report["polars"]["resultat_rows"] = (
    pl.scan_parquet(tables.get("resultat", []), hive_partitioning=False).select(pl.len()).collect().item()
    if tables.get("resultat") else 0
)
report["polars"]["mart_rows"] = {
    name: (pl.scan_parquet(files["css"], hive_partitioning=False).select(pl.len()).collect().item() if files["css"] else 0)
    for name, files in mart_files.items()
    if name in report["duckdb"]["marts"]
}


def delta_tables(root: Path):
    """Every folder under the data zones holding a `_delta_log`, relative to the warehouse."""
    for zone in ["css", "shared", "marts", "_socle/intermediate"]:
        for log in sorted((root / zone).rglob("_delta_log")):
            yield log.parent.relative_to(root).as_posix()


from deltalake import DeltaTable, QueryBuilder  # noqa: E402

report["delta"] = {"tables": {}, "taux_reussite": {}}
for table in delta_tables(wh):
    try:
        dt = DeltaTable(str(wh / table))
        result = QueryBuilder().register("t", dt).execute("SELECT count(*) AS n FROM t").read_all()
        report["delta"]["tables"][table] = int(pl.DataFrame(result)["n"][0])
    except Exception as e:  # reported, the test fails on it
        report["delta"]["tables"][table] = f"{type(e).__name__}: {e}"

# taux_reussite of every CSS zone, read through Delta by polars, against Socle's exact cells.
taux = [m for m in models if m["name"] == "taux_reussite"]
if taux:
    columns, key = taux[0]["columns"], taux[0]["unique_key"]
    frames = [pl.read_delta(str(wh / t)) for t in delta_tables(wh) if t.startswith("css/") and t.endswith("/marts/taux_reussite")]
    rows = [{c: text(v) for c, v in r.items()} for f in frames for r in f.iter_rows(named=True)]
    with open(exact_dir / "taux_reussite.csv", newline="", encoding="utf-8") as f:
        socle = list(csv.DictReader(f))
    got = {tuple(r[c] for c in key): r for r in rows}
    want = {tuple(r[c] for c in key): r for r in socle}
    differences = [f"key {k}: only in {'delta' if k not in want else 'socle'}" for k in set(got) ^ set(want)]
    for k in set(got) & set(want):
        differences += [f"key {k}: {c} socle={want[k][c]!r} delta={got[k].get(c)!r}" for c in columns if not same(want[k][c], got[k].get(c, ""))]
    report["delta"]["taux_reussite"] = {"rows": len(rows), "socle_rows": len(socle), "differences": len(differences), "sample": differences[:10]}
print(json.dumps(report))
