#!/usr/bin/env python3
"""Socle's benchmark, side by side with DuckDB (issue 5). Method and figures: benches/README.md.

    python3 benches/bench.py --scale small|css|province-250k|province-500k|province
        [--runs 5] [--query-runs 20] [--data /work/bench-data] [--socle target/release/socle]
        [--out benches/results] [--skip-duckdb] [--pipelines pipelines]

For a scale, on the same machine and in the same run:
1. the exports: fixtures/exports for `small`, else generated once by `socle generate` with a
   fixed seed into DATA/<scale>/exports (reused when present);
2. N nights of `socle run` on an emptied warehouse, interleaved with N runs of the DuckDB script
   benches/duckdb/nuit.sql over the same raw exports (GPI CSS only: the script reads no Mozaïk);
   each in a child process whose peak resident memory comes from os.wait4 (ru_maxrss);
3. the marts over Socle's own warehouse (the last night's): DataFusion through
   `socle-bench queries --json`, DuckDB with the same SQL (`socle-bench sql`: every mart in
   dependency order, parameters filled in, and the reference tables and seeds as Parquet) over
   the Parquet files the manifests list, rebuild and reads, cold and warm. Marts of
   `source: css` run in each CSS's own zone in Socle: n/a on the DuckDB side (with the reason);
4. JSON results in OUT/<scale>-<timestamp>.json and a Markdown table beside them (.md), also
   printed.

Python 3.11 standard library plus the `duckdb` module (pip install duckdb). No SQL is written
here besides the glue of the DuckDB side (views over the manifests' files, materialising a
query's result, counting rows): the marts' SQL comes from `socle-bench sql` (pipelines/marts),
the DuckDB night from benches/duckdb/nuit.sql and its `taux_reussite` from
benches/duckdb/taux_reussite.sql (the DuckDB side's SQL of the same definition: Socle's mart is
a view of `reussite`, which reads tables the DuckDB night does not build).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import math
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
NUIT_SQL = REPO / "benches" / "duckdb" / "nuit.sql"
# The DuckDB night's own SQL of the taux_reussite definition (header of that file).
TAUX_REUSSITE_SQL = REPO / "benches" / "duckdb" / "taux_reussite.sql"
# DuckDB figures of a mart Socle runs in each CSS's own zone.
NA_CSS = "n/a (runs per CSS zone)"
NA_CSS_REASON = (
    "source: css: Socle runs this mart's SQL in each CSS's own zone, one CSS at a time (columns that never "
    "reach the shared zone, such as birth dates or fiche, and the quarantine); the DuckDB side reads the "
    "shared zone only"
)
NIGHT = "2025-11-20"

# The generate command of each scale (SPEC: fixed seed, two school years, bad rate 0.1%).
# `province*`: the 69 CSS of the registry the generator uses (72 minus the 3 with special status).
SCALES = {
    "small": None,  # the committed fixtures
    "css": ["--css", "762000", "--students", "110000"],
    "province-250k": ["--css-count", "69", "--students", "250000"],
    "province-500k": ["--css-count", "69", "--students", "500000"],
    "province": ["--css-count", "69", "--students", "1000000"],
}
GENERATE_COMMON = ["--years", "2", "--seed", "1", "--night", NIGHT, "--bad-rate", "0.001"]

# The GPI tables the resultat path reads (nuit.sql step 2), the ones whose reading time is
# attributed to `resultat` on Socle's side.
RESULTAT_INPUTS = ["gpm_e_mat_ele", "gpm_t_mat_grp", "gpm_t_leg", "gpm_t_cotes", "gpm_t_eco", "gpm_e_ele"]
DELIMITERS = [";", ",", "|", "\t"]  # Socle's sniffing order of preference on a tie
GIB = 1024**3
MIB = 1024**2


class BenchError(Exception):
    pass


# --------------------------------------------------------------------------------------------
# Small helpers


def stats(values: list[float]) -> dict:
    """Median (mean of the two middle values for an even count), p95 (nearest rank: the smallest
    value with at least 95% of the values at or below it), min and max; as `socle-bench`."""
    if not values:
        return {"median": None, "p95": None, "min": None, "max": None, "n": 0}
    v = sorted(values)
    n = len(v)
    median = v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2
    rank = max(1, math.ceil(0.95 * n))
    return {"median": median, "p95": v[rank - 1], "min": v[0], "max": v[-1], "n": n}


def ms_stats(seconds: list[float]) -> dict:
    """`stats` in milliseconds with the key names of `socle-bench queries --json`."""
    s = stats([x * 1000.0 for x in seconds])
    return {"median_ms": s["median"], "p95_ms": s["p95"], "min_ms": s["min"], "max_ms": s["max"]}


def sql_str(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def sql_ident(s: str) -> str:
    return '"' + s.replace('"', '""') + '"'


def latest_night(css_dir: Path) -> str | None:
    """The latest night folder of a CSS (Socle's default when --night is not given)."""
    nights = [p.name for p in css_dir.iterdir() if p.is_dir() and re.fullmatch(r"\d{4}-\d{2}-\d{2}", p.name)]
    return max(nights) if nights else None


def gpi_css(exports: Path, night: str | None = None) -> dict[str, Path]:
    """CSS code -> its night's gpi folder, for every CSS that sends GPI that night."""
    out = {}
    for d in sorted(exports.iterdir()):
        if not (d.is_dir() and re.fullmatch(r"\d{6}", d.name)):
            continue
        n = night or latest_night(d)
        if n and (d / n / "gpi").is_dir():
            out[d.name] = d / n / "gpi"
    return out


def run_measured(cmd: list[str], cwd: Path, stdout_path: Path, stderr_path: Path, env=None) -> dict:
    """Runs a child process; returns its exit code, wall time and peak RSS (os.wait4's
    ru_maxrss, KiB on Linux)."""
    with open(stdout_path, "wb") as out, open(stderr_path, "wb") as err:
        started = time.perf_counter()
        p = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(p.pid, 0)
        wall = time.perf_counter() - started
    p.returncode = os.waitstatus_to_exitcode(status)  # wait4 reaped it; tell Popen
    return {"code": p.returncode, "wall_s": wall, "peak_rss_bytes": usage.ru_maxrss * 1024}


def free_port() -> int:
    """A free TCP port on loopback (for the servers a benchmark starts: moto, a Ballista cluster)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def night_arguments(description: str) -> argparse.ArgumentParser:
    """The options every night-against-night script shares (s3.py, cluster.py)."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--scale", required=True, choices=list(SCALES))
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--data", type=Path, default=Path("/work/bench-data"))
    p.add_argument("--socle", type=Path)
    p.add_argument("--pipelines", type=Path, default=REPO / "pipelines")
    p.add_argument("--out", type=Path, default=REPO / "benches" / "results")
    return p


def measured_night(socle: Path, exports: Path, warehouse: str, work: Path, tag: str, pipelines: Path, env: dict,
                   extra: list[str] | None = None) -> dict:
    """One `socle run` of EXPORTS into WAREHOUSE with the demo key (`extra`: more arguments, such
    as `--engine`), measured: wall time, peak memory and the run's own time per stage (its
    `--summary-json`). Used by s3.py and cluster.py."""
    summary = work / f"summary-{tag}.json"
    cmd = [str(socle), "run", "--exports", str(exports), "--warehouse", warehouse, "--demo-key",
           "--summary-json", str(summary), "--pipelines", str(pipelines), *(extra or [])]
    m = run_measured(cmd, REPO, work / f"{tag}.out", work / f"{tag}.err", env=env)
    if m["code"] not in (0, 2) or not summary.exists():
        raise BenchError(f"socle run failed (exit {m['code']}):\n{tail(work / f'{tag}.err')}")
    s = json.loads(summary.read_text())
    return {"wall_s": m["wall_s"], "peak_rss_bytes": m["peak_rss_bytes"], "stages_s": s.get("stages_s", {}),
            "code": m["code"]}


def tail(path: Path, n: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return ""


# --------------------------------------------------------------------------------------------
# The data dictionary's value maps, read without a YAML library (standard library only): the
# dictionary's files use plain `key: value` maps, which is all this needs.


def _yaml_scalar(s: str) -> str:
    s = s.strip()
    if len(s) >= 2 and s[0] == s[-1] and s[0] in "\"'":
        return s[1:-1]
    return s


def _strip_comment(line: str) -> str:
    quote = None
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1] in " \t"):
            return line[:i]
    return line


def _split_key(text: str) -> tuple[str, str] | None:
    """`key: value` (key possibly quoted) -> (key, value); None for anything else."""
    text = text.strip()
    if text.startswith("- "):
        return None
    if text[:1] in "\"'":
        end = text.find(text[0], 1)
        if end < 0 or text[end + 1 : end + 2] != ":":
            return None
        return text[1:end], text[end + 2 :]
    m = re.match(r"([^:\s][^:]*?):(\s|$)", text)
    if not m:
        return None
    return m.group(1), text[m.end() :]


def read_yaml_maps(path: Path) -> dict:
    """Top-level scalars and one-level maps of a YAML file (nested deeper levels, lists and flow
    collections are kept as raw text or skipped: the value maps never use them)."""
    top: dict = {}
    current: str | None = None
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = _strip_comment(raw).rstrip()
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip(" "))
        kv = _split_key(line)
        if indent == 0:
            current = None
            if kv is None:
                continue
            key, value = kv
            if value.strip():
                top[key] = _yaml_scalar(value)
            else:
                top[key] = {}
                current = key
        elif current is not None and kv is not None:
            child_indent = top.setdefault(f"__indent_{current}", indent)
            if indent == child_indent and isinstance(top[current], dict):
                top[current][kv[0]] = _yaml_scalar(kv[1])
    return {k: v for k, v in top.items() if not k.startswith("__indent_")}


def value_maps(schemas: Path, codes: list[str]) -> dict:
    """Each CSS's effective maps as Socle builds them (socle-dictionary `profile`): the defaults
    of valeurs.yaml, then the CSS's own file adding or replacing codes; its declared encoding."""
    defaults = read_yaml_maps(schemas / "valeurs.yaml")
    specials = defaults.get("valeurs_speciales_resultat") or {}
    pass_mark = float(defaults.get("seuil_reussite_defaut", 60))
    profiles = {}
    for f in sorted((schemas / "css").glob("*.yaml")):
        p = read_yaml_maps(f)
        profiles[str(p.get("code_css") or f.stem)] = p
    out = {}
    for code in codes:
        p = profiles.get(code, {})
        sv = dict(specials)
        sv.update(p.get("valeurs_speciales_resultat") or {})
        enc = str(p.get("encodage") or "auto").lower()
        out[code] = {
            "specials": {k.strip().upper(): v for k, v in sv.items()},
            "courses": {k.strip(): v for k, v in (p.get("cours") or {}).items()},
            # DuckDB reads Windows-1252 as Latin-1 (see nuit.sql's header).
            "encoding": {"utf-8": "utf-8", "utf8": "utf-8", "windows-1252": "latin-1", "cp1252": "latin-1"}.get(enc, "auto"),
        }
    return {"pass_mark": pass_mark, "css": out}


# --------------------------------------------------------------------------------------------
# The DuckDB night (runs in a child process: `bench.py --duckdb-child ...`)


def sniff_header(path: Path) -> tuple[str, list[str]]:
    """The delimiter and column names of a delimited file from its first line, as Socle's reader
    finds them: the most frequent of ; , | tab (that order on a tie), names trimmed and compared
    case-insensitively (lower-cased here)."""
    with open(path, "rb") as f:
        first = f.readline()
    if first.startswith(b"\xef\xbb\xbf"):
        first = first[3:]
    header = first.rstrip(b"\r\n").decode("latin-1")
    delim = max(DELIMITERS, key=lambda d: (header.count(d), -DELIMITERS.index(d)))
    names, seen = [], set()
    for raw in header.split(delim):
        name = raw.strip().strip('"').strip().lower() or f"_colonne_{len(names)}"
        while name in seen:  # a repeated header name would stop DuckDB; Socle takes the first
            name += "_"
        seen.add(name)
        names.append(name)
    return delim, names


def parse_script(text: str) -> tuple[list[tuple[str, str]], dict[str, str]]:
    """nuit.sql -> ([(step, sql)], {block: sql}), from its `-- @step` / `-- @block` markers."""
    steps: list[tuple[str, list[str]]] = []
    blocks: dict[str, list[str]] = {}
    target: list[str] | None = None
    for line in text.splitlines():
        m = re.match(r"--\s*@(step|block)\s+(\S+)", line)
        if m:
            target = []
            if m.group(1) == "step":
                steps.append((m.group(2), target))
            else:
                blocks[m.group(2)] = target
            continue
        if re.match(r"--\s*@end\b", line):
            target = None
            continue
        if target is not None:
            target.append(line)
    return [(n, "\n".join(b)) for n, b in steps], {n: "\n".join(b) for n, b in blocks.items()}


def fill(sql: str, values: dict[str, str]) -> str:
    def sub(m):
        key = m.group(1)
        if key not in values:
            raise BenchError(f"nuit.sql: no value for placeholder {{{{{key}}}}}")
        return values[key]

    return re.sub(r"\{\{([a-z_]+(?::[a-z_0-9]+)?)\}\}", sub, sql)


def duckdb_night(exports: Path, night: str | None, out: Path, threads: int, schemas: Path) -> dict:
    """Runs nuit.sql over the GPI CSS of `exports`; returns the time of each step and the rows."""
    import duckdb

    # Emptying the output folder is the harness's chore, not DuckDB's work: before the clock.
    if out.exists():
        shutil.rmtree(out)
    started = time.perf_counter()
    steps, blocks = parse_script(NUIT_SQL.read_text(encoding="utf-8"))
    css = gpi_css(exports, night)
    if not css:
        raise BenchError(f"no CSS with a gpi folder under {exports}")
    (out / "marts").mkdir(parents=True)
    maps_dir = out / "_maps"
    maps_dir.mkdir()
    maps = value_maps(schemas, list(css))
    with open(maps_dir / "valeurs_speciales.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["code_css", "code", "statut"])
        for code, m in maps["css"].items():
            for k, v in sorted(m["specials"].items()):
                w.writerow([code, k, v])
    with open(maps_dir / "cours.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["code_css", "code_source", "code_cours"])
        for code, m in maps["css"].items():
            for k, v in sorted(m["courses"].items()):
                w.writerow([code, k, v])
    values = {
        "threads": str(threads),
        "schemas": str(schemas.resolve()).replace("'", "''"),
        "maps": str(maps_dir).replace("'", "''"),
        "default_pass_mark": repr(maps["pass_mark"]),
        "pseudo_key": "socle-bench-duckdb-demo-key",
        "out": str(out).replace("'", "''"),
        "taux_reussite": TAUX_REUSSITE_SQL.read_text(encoding="utf-8").strip().rstrip(";"),
    }
    setup_s = time.perf_counter() - started

    con = duckdb.connect()
    timings = {"prepare": setup_s}
    for name, sql in steps:
        t0 = time.perf_counter()
        if name == "resultat":
            # Header sniffing and the read unions are part of DuckDB's reading time.
            auto_files, reads = [], {t: [] for t in RESULTAT_INPUTS}
            for code, folder in css.items():
                enc = maps["css"][code]["encoding"]
                for table in RESULTAT_INPUTS:
                    path = folder / f"{table}.csv"
                    delim, names = sniff_header(path)
                    if enc == "auto":
                        auto_files.append(str(path))
                    cols = "{" + ", ".join(f"{sql_str(n)}: 'VARCHAR'" for n in names) + "}"
                    reads[table].append(
                        fill(
                            blocks["read"],
                            {
                                "css": code,
                                "file": str(path).replace("'", "''"),
                                "columns": cols,
                                "delim": sql_str(delim),
                                "encoding": "utf-8" if enc == "auto" else enc,
                            },
                        )
                    )
            values["auto_files"] = "[" + ", ".join(sql_str(p) for p in auto_files) + "]::VARCHAR[]"
            for table, parts in reads.items():
                values[f"read:{table}"] = "\nUNION ALL BY NAME\n".join(parts)
        con.execute(fill(sql, values))
        timings[name] = time.perf_counter() - t0
    total = time.perf_counter() - started
    # Counted after the clock stops.
    rows = dict(
        con.execute(
            "SELECT code_css, count(*) FROM read_parquet(?, hive_partitioning = false) GROUP BY code_css ORDER BY code_css",
            [str(out / "resultat" / "*" / "*" / "*.parquet")],
        ).fetchall()
    )
    mart_rows = con.execute(
        "SELECT count(*) FROM read_parquet(?)", [str(out / "marts" / "taux_reussite.parquet")]
    ).fetchone()[0]
    con.close()
    return {
        "steps_s": timings,
        "total_s": total,
        "css": sorted(css),
        "resultat_rows": {str(k): int(v) for k, v in rows.items()},
        "taux_reussite_rows": int(mart_rows),
        "threads": threads,
    }


def duckdb_child(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="bench.py --duckdb-child")
    p.add_argument("--exports", type=Path, required=True)
    p.add_argument("--night")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    p.add_argument("--schemas", type=Path, default=REPO / "schemas")
    p.add_argument("--json", type=Path, required=True)
    a = p.parse_args(argv)
    result = duckdb_night(a.exports, a.night, a.out.resolve(), a.threads, a.schemas)
    a.json.write_text(json.dumps(result, indent=1))
    return 0


# --------------------------------------------------------------------------------------------
# Marts over Socle's warehouse, in DuckDB


def warehouse_files(warehouse: Path) -> tuple[dict[str, list[str]], dict[str, dict[str, list[str]]]]:
    """Shared-zone files of each canonical table (union over the CSS manifests), and of each mart
    (marts manifest) its shared-zone files (`shared`, small cells suppressed; none for a
    nominative mart) and its CSS zones' files (`css`, exact rows), absolute paths: what Socle's
    sessions register, never a folder listing."""
    mdir = warehouse / "_socle" / "manifests"
    tables: dict[str, list[str]] = {}
    for f in sorted(mdir.glob("*.json")):
        if f.name == "_marts.json":
            continue
        m = json.loads(f.read_text())
        for name, t in (m.get("tables") or {}).items():
            tables.setdefault(name, []).extend(str(warehouse / p) for p in t.get("shared_files") or [])
    marts: dict[str, dict[str, list[str]]] = {}
    mf = mdir / "_marts.json"
    if mf.exists():
        for name, t in (json.loads(mf.read_text()).get("marts") or {}).items():
            marts[name] = {
                "shared": [str(warehouse / p) for p in t.get("shared_files") or []],
                "css": [str(warehouse / p) for p in t.get("css_files") or []],
            }
    return {k: v for k, v in tables.items() if v}, marts


def css_zone_files(files: list[str], code: str) -> list[str]:
    """The files of one CSS's zone among a mart's `css_files` (`css/<code>/marts/...`)."""
    return [f for f in files if f"/css/{code}/" in f.replace(os.sep, "/")]


def socle_sql(bench: Path, out: Path, pipelines: Path, warehouse: Path) -> list[dict]:
    """`socle-bench sql --out OUT`: the marts in dependency order (marts.json) and the reference
    tables, seeds (and `nuits`, the warehouse's night of each CSS) and shared-zone schemas as
    Parquet, under OUT."""
    r = subprocess.run(
        [str(bench), "sql", "--out", str(out), "--pipelines", str(pipelines),
         "--schemas", str(REPO / "schemas"), "--warehouse", str(warehouse)],
        cwd=REPO, capture_output=True, text=True,
    )
    if r.returncode != 0 or not (out / "marts.json").exists():
        raise BenchError(f"socle-bench sql failed (exit {r.returncode}):\n{r.stderr[-3000:]}")
    return json.loads((out / "marts.json").read_text())


def duck_connect(threads: int):
    import duckdb

    con = duckdb.connect()
    con.execute(f"SET threads = {int(threads)}")
    return con


def duck_view(con, name: str, files: list[str]) -> None:
    # The partition values are inside the files: no hive partitioning (it would type code_css
    # as a number); union_by_name merges files written under different dictionary versions, as
    # Socle's session merges their schemas.
    listing = "[" + ", ".join(sql_str(f) for f in files) + "]"
    con.execute(
        f"CREATE OR REPLACE VIEW {sql_ident(name)} AS SELECT * FROM read_parquet({listing}, hive_partitioning = false, union_by_name = true)"
    )


def duck_materialise(con, sql: str) -> None:
    """Runs a query to the end, its result held in DuckDB's memory (DuckDB's `execute` streams
    lazily, and fetching into Python objects would time Python): the equivalent of DataFusion's
    collect()."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE __bench_result AS {sql}")


def mart_sql(m: dict) -> str:
    return m["sql"].strip().rstrip(";")


def with_dependencies(models: list[dict], name: str) -> list[dict]:
    """`name` and every model it reads (marts.json's `depends_on`), transitively, in the
    dependency order of `models`."""
    by_name = {m["name"]: m for m in models}
    wanted, stack = set(), [name]
    while stack:
        n = stack.pop()
        if n not in wanted:
            wanted.add(n)
            stack.extend((by_name.get(n) or {}).get("depends_on") or [])
    return [m for m in models if m["name"] in wanted]


def duckdb_marts(warehouse: Path, spec_dir: Path, marts: list[dict], runs: int, threads: int, css_for: dict[str, str]) -> dict:
    """Rebuild and read latency of each mart in DuckDB, in the shape of `socle-bench queries`.

    `marts`: `socle-bench sql`'s marts.json (dependency order), whose reference tables and seeds
    are the Parquet files under `spec_dir/reference`. A `source: shared` mart is rebuilt over the
    shared zone's canonical tables after the marts it reads (each created as a table, as Socle's
    build registers each result); a `source: css` mart is n/a (it runs in each CSS's own zone)."""
    tables, mart_files = warehouse_files(warehouse)
    reference = {p.stem: str(p) for p in sorted((spec_dir / "reference").glob("*.parquet"))}
    # Entities without any shared file: registered empty with their schema, as Socle's session does.
    empty = {p.stem: str(p) for p in sorted((spec_dir / "shared_schemas").glob("*.parquet")) if p.stem not in tables}

    functions = (spec_dir / "duckdb_functions.sql").read_text() if (spec_dir / "duckdb_functions.sql").exists() else ""

    def base_session():
        con = duck_connect(threads)
        # The pipelines' SQL functions (taux) as DuckDB macros, written by `socle-bench sql`.
        for statement in filter(str.strip, functions.split(";")):
            con.execute(statement)
        for name, files in tables.items():
            duck_view(con, name, files)
        for name, f in empty.items():
            duck_view(con, name, [f])
        for name, f in reference.items():
            duck_view(con, name, [f])
        return con

    def build(con, chain: list[dict]) -> None:
        # Each mart held in memory under its name, for the marts after it that read it.
        for m in chain:
            con.execute(f"CREATE OR REPLACE TEMP TABLE {sql_ident(m['name'])} AS {mart_sql(m)}")

    out = {"warehouse": str(warehouse), "runs": runs, "marts": []}
    # What opening a new in-memory DuckDB database costs by itself: part of every cold figure
    # (as a new SessionContext is part of DataFusion's), reported so it can be told apart.
    connects = []
    for _ in range(runs):
        t0 = time.perf_counter()
        duck_connect(threads).close()
        connects.append(time.perf_counter() - t0)
    out["connect_ms"] = ms_stats(connects)

    failed = []
    for m in marts:
        name = m["name"]
        if m.get("kind") == "intermediate":
            continue  # built in the chain of each mart that reads it, never reported alone
        entry = {"mart": name, "source": m["source"], "publication": m["publication"]}
        if m["source"] != "shared":
            entry.update({"status": NA_CSS, "reason": NA_CSS_REASON})
            out["marts"].append(entry)
            continue
        rebuilt = False
        try:
            samples = []
            chain = with_dependencies(marts, name)
            for _ in range(runs):
                t0 = time.perf_counter()
                con = base_session()
                build(con, chain)
                samples.append(time.perf_counter() - t0)
                con.close()
            entry["rebuild"] = ms_stats(samples)
            rebuilt = True
            if name not in mart_files:
                raise BenchError(f"mart {name} is not published in this warehouse (see the night's marts stage): reads skipped")
            files = (mart_files.get(name) or {}).get("shared") or []
            zone = "shared"
            skipped = []
            if not files:
                # No shared file (nominative): the CSS zone's file of the CSS DataFusion read.
                css_files = (mart_files.get(name) or {}).get("css") or []
                code = css_for.get(name)
                files = css_zone_files(css_files, code) if code else []
                if not files:
                    raise BenchError(f"mart {name} has no shared file and no CSS zone file to read in the marts manifest")
                zone = "css"
                skipped.append({"scope": "province", "reason": "no shared-zone file (publication: css, nominative): read in one CSS's own zone only"})
            probe = duck_connect(threads)
            duck_view(probe, name, files)
            columns = [r[0] for r in probe.execute(f"DESCRIBE {sql_ident(name)}").fetchall()]
            entry["rows"] = probe.execute(f"SELECT count(*) FROM {sql_ident(name)}").fetchone()[0]
            scopes = [("province", None, f"SELECT * FROM {sql_ident(name)}")] if zone == "shared" else []
            if "code_css" in columns:
                # The CSS DataFusion read (the same rows for both engines), else the largest.
                code = css_for.get(name)
                if code is None or not probe.execute(
                    f"SELECT count(*) FROM {sql_ident(name)} WHERE code_css = ?", [str(code)]
                ).fetchone()[0]:
                    code = probe.execute(
                        f"SELECT code_css FROM {sql_ident(name)} GROUP BY code_css ORDER BY count(*) DESC, code_css LIMIT 1"
                    ).fetchone()
                    code = code[0] if code else css_for.get(name)
                if code is not None:
                    scopes.insert(
                        0, ("css", code, f"SELECT * FROM {sql_ident(name)} WHERE code_css = {sql_str(str(code))}")
                    )
            probe.close()
            reads = []
            for scope, code, query in scopes:
                cold = []
                for _ in range(runs):
                    t0 = time.perf_counter()
                    con = duck_connect(threads)
                    duck_view(con, name, files)
                    duck_materialise(con, query)
                    cold.append(time.perf_counter() - t0)
                    con.close()
                con = duck_connect(threads)
                duck_view(con, name, files)
                duck_materialise(con, query)  # the first warm run is discarded
                warm = []
                for _ in range(runs):
                    t0 = time.perf_counter()
                    duck_materialise(con, query)
                    warm.append(time.perf_counter() - t0)
                n = con.execute("SELECT count(*) FROM __bench_result").fetchone()[0]
                con.close()
                r = {"scope": scope, "zone": zone, "rows": n, "cold": ms_stats(cold), "warm": ms_stats(warm)}
                if code is not None:
                    r["code_css"] = str(code)
                reads.append(r)
            entry["read"] = reads
            entry["read_skipped"] = skipped
            entry["status"] = "ok"
        except Exception as e:  # a mart DuckDB cannot run (SQL dialect): said, not fatal
            entry["status"] = "error"
            entry["error"] = f"{type(e).__name__}: {e}"
            if not rebuilt:
                failed.append(name)
        out["marts"].append(entry)

    # Every `source: shared` mart, in dependency order, as the night builds them (DataFusion's
    # counterpart: `rebuild_all_shared_ms`). Marts DuckDB could not rebuild, and those reading
    # them, are left out and listed.
    broken = set(failed)
    for m in marts:
        if any(d in broken for d in m.get("depends_on") or []):
            broken.add(m["name"])
    chain = [m for m in marts if m["source"] == "shared" and m["name"] not in broken]
    out["rebuild_all_marts"] = [m["name"] for m in chain if m.get("kind") != "intermediate"]
    out["rebuild_all_excluded"] = sorted(
        m["name"] for m in marts if m["source"] == "shared" and m["name"] in broken and m.get("kind") != "intermediate"
    )
    if chain:
        rebuild_all = []
        for _ in range(runs):
            t0 = time.perf_counter()
            con = base_session()
            build(con, chain)
            rebuild_all.append(time.perf_counter() - t0)
            con.close()
        out["rebuild_all_ms"] = ms_stats(rebuild_all)
    return out


# --------------------------------------------------------------------------------------------
# Cross-checks between the two engines


def socle_resultat_by_css(warehouse: Path) -> dict[str, dict]:
    """Rows of `resultat` per CSS and what Socle quarantined on its way, from the manifests."""
    out = {}
    for f in sorted((warehouse / "_socle" / "manifests").glob("*.json")):
        if f.name == "_marts.json":
            continue
        m = json.loads(f.read_text())
        rows = ((m.get("tables") or {}).get("resultat") or {}).get("rows", 0)
        q = m.get("quality") or {}
        ent = ((q.get("entites") or {}).get("resultat") or {}).get("quarantaine") or {}
        src = (q.get("sources") or {}).get("gpm_e_mat_ele") or {}
        rejected_at_read = int(src.get("lignes_lues", 0)) - int(src.get("lignes_chargees", 0))
        out[m["code_css"]] = {
            "rows": int(rows),
            "quarantined_resultat": int(sum(ent.values())),
            "gpm_e_mat_ele_rejected": rejected_at_read,
            "systems": sorted((m.get("sources") or {}).keys()),
        }
    return out


def compare_marts(socle_files: list[str], duck_file: Path, gpi: list[str]) -> dict:
    """Cells of taux_reussite that differ between Socle's exact rows (its CSS zones' files, GPI
    CSS only, without the `cellule_supprimee` flag) and DuckDB's. The shared zone's file is not
    the reference: its small cells are suppressed."""
    import duckdb

    con = duckdb.connect()
    duck_view(con, "a", socle_files)
    duck_view(con, "b", [str(duck_file)])
    listing = "[" + ", ".join(sql_str(c) for c in gpi) + "]"
    con.execute(f"CREATE VIEW a_gpi AS SELECT * FROM a WHERE list_contains({listing}, code_css)")
    cols_a = [r[0] for r in con.execute("DESCRIBE a").fetchall()]
    cols_b = [r[0] for r in con.execute("DESCRIBE b").fetchall()]
    # The rate follows from its counts (and floating division may differ in the last bit).
    ignored = {"taux_reussite", "cellule_supprimee"}
    common = [c for c in cols_a if c in cols_b and c not in ignored]
    keep = ", ".join(sql_ident(c) for c in common)
    n = con.execute(
        f"SELECT (SELECT count(*) FROM (SELECT {keep} FROM a_gpi EXCEPT ALL SELECT {keep} FROM b)), "
        f"(SELECT count(*) FROM (SELECT {keep} FROM b EXCEPT ALL SELECT {keep} FROM a_gpi)), "
        "(SELECT count(*) FROM a_gpi), (SELECT count(*) FROM b)"
    ).fetchone()
    con.close()
    return {
        "socle_rows": "exact (CSS zones' files, css_files), cellule_supprimee left out",
        "columns": common,
        "columns_only_socle": [c for c in cols_a if c not in cols_b and c not in ignored],
        "columns_only_duckdb": [c for c in cols_b if c not in cols_a and c not in ignored],
        "only_socle": n[0], "only_duckdb": n[1], "socle_cells": n[2], "duckdb_cells": n[3],
        "equal": n[0] == 0 and n[1] == 0,
    }


# --------------------------------------------------------------------------------------------
# Machine


def machine(socle: Path) -> dict:
    import duckdb

    mem = None
    model = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    model = model or platform.processor() or platform.machine()

    def git(*args):
        try:
            return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return None

    commit = git("rev-parse", "HEAD")
    dirty = git("status", "--porcelain", "--untracked-files=no")
    try:
        version = subprocess.run([str(socle), "--version"], capture_output=True, text=True).stdout.strip()
    except OSError:
        version = None
    return {
        "cores": os.cpu_count(),
        "memory_bytes": mem,
        "cpu": model,
        "os": platform.platform(),
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "socle_commit": (commit + ("+dirty" if dirty else "")) if commit else None,
        "socle_version": version or None,
        "socle_binary": str(socle),
    }


# --------------------------------------------------------------------------------------------
# The benchmark


def prepare_exports(scale: str, data: Path, socle: Path) -> Path:
    if scale == "small":
        return REPO / "fixtures" / "exports"
    exports = data / scale / "exports"
    if exports.is_dir() and any(exports.iterdir()):
        return exports
    cmd = [str(socle), "generate", "--out", str(exports), *SCALES[scale], *GENERATE_COMMON]
    print(f"generating the {scale} scale: {' '.join(cmd)}", file=sys.stderr)
    t0 = time.perf_counter()
    r = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    if r.returncode != 0:
        raise BenchError(f"socle generate failed:\n{r.stderr[-3000:]}")
    print(f"generated in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
    return exports


def socle_binaries(socle: Path | None, bench: Path | None) -> tuple[Path, Path]:
    """The `socle` binary and the benchmark helper `socle-bench` (benches/socle-bench): those
    given, else a release build of both (`socle-bench` beside a given `socle` when present)."""
    if socle and not bench and (socle.parent / "socle-bench").exists():
        bench = socle.parent / "socle-bench"
    if socle and bench:
        return socle.resolve(), bench.resolve()
    print("building socle: cargo build --release -p socle-cli -p socle-bench", file=sys.stderr)
    subprocess.run(["cargo", "build", "--release", "-p", "socle-cli", "-p", "socle-bench"], cwd=REPO, check=True)
    release = REPO / "target" / "release"
    return (socle or release / "socle").resolve(), (bench or release / "socle-bench").resolve()


def check_socle(socle: Path, bench: Path) -> None:
    help_run = subprocess.run([str(socle), "run", "--help"], capture_output=True, text=True, cwd=REPO)
    if "--summary-json" not in help_run.stdout:
        raise BenchError(f"{socle} has no `run --summary-json`: build the current tree (cargo build --release -p socle-cli)")
    help_bench = subprocess.run([str(bench), "--help"], capture_output=True, text=True, cwd=REPO)
    if not re.search(r"^\s+sql\b", help_bench.stdout, re.M):
        raise BenchError(f"{bench} has no `sql`: build the current tree (cargo build --release -p socle-bench)")


def socle_night(socle: Path, exports: Path, warehouse: Path, work: Path, i: int, pipelines: Path) -> dict:
    if warehouse.exists():
        shutil.rmtree(warehouse)
    summary = work / f"socle-summary-{i}.json"
    cmd = [str(socle), "run", "--exports", str(exports), "--warehouse", str(warehouse), "--demo-key", "--summary-json", str(summary),
           "--pipelines", str(pipelines)]
    env = {k: v for k, v in os.environ.items() if k not in ("SOCLE_PSEUDO_KEY", "SOCLE_PSEUDO_KEY_FILE", "SOCLE_FAILPOINT")}
    m = run_measured(cmd, REPO, work / f"socle-{i}.out", work / f"socle-{i}.err", env=env)
    if m["code"] not in (0, 2) or not summary.exists():
        raise BenchError(f"socle run failed (exit {m['code']}):\n{tail(work / f'socle-{i}.err')}")
    s = json.loads(summary.read_text())
    s["_process"] = m
    return s


def duckdb_run(exports: Path, out: Path, work: Path, i: int, threads: int) -> dict:
    timing = work / f"duckdb-{i}.json"
    cmd = [sys.executable, str(Path(__file__).resolve()), "--duckdb-child", "--exports", str(exports), "--out", str(out),
           "--threads", str(threads), "--json", str(timing)]
    m = run_measured(cmd, REPO, work / f"duckdb-{i}.out", work / f"duckdb-{i}.err")
    if m["code"] != 0 or not timing.exists():
        raise BenchError(f"the DuckDB night failed (exit {m['code']}):\n{tail(work / f'duckdb-{i}.err')}")
    d = json.loads(timing.read_text())
    d["_process"] = m
    return d


def resultat_path_s(summary: dict) -> float:
    """Socle's wall time attributable to the resultat path: the night's wall minus its marts
    stage, times the share of the path (reading its 6 GPI tables, normalising and writing
    `resultat`) in the summed stage times. CSS load in parallel (--jobs), so the summed stage
    times are not wall time; their shares are."""
    inputs = {i["table"]: i for i in summary.get("inputs", []) if i.get("system") == "gpi"}
    path = sum(inputs[t].get("read_s", 0.0) for t in RESULTAT_INPUTS if t in inputs)
    ent = {e["entity"]: e for e in summary.get("entities", [])}
    r = ent.get("resultat", {})
    path += r.get("normalise_s", 0.0) + r.get("write_s", 0.0)
    st = summary.get("stages_s", {})
    total = st.get("read", 0.0) + st.get("normalise", 0.0) + st.get("write", 0.0)
    if total <= 0:
        return 0.0
    return (summary["wall_s"] - st.get("marts", 0.0)) * min(1.0, path / total)


def changed_css_night(socle: Path, scale: str, exports: Path, warehouse: Path, work: Path, pipelines: Path, summary: dict) -> dict:
    """A second night where one CSS changed: the mid-size CSS (median of the input bytes) is
    regenerated with another seed (the same number of students: its share of the scale), the
    other CSS's exports are the same files, and `socle run` loads it over the last night's
    warehouse. Measures what an ordinary night costs: one CSS reloaded, the marts brought up to
    date (the `par_css` marts of that CSS, every `province` mart)."""
    sizes = {c["code_css"]: c.get("bytes") or 0 for c in summary.get("css", []) if c.get("code_css")}
    if not sizes:
        raise BenchError("the night's summary lists no input per CSS: cannot choose the CSS that changes")
    ranked = sorted(sizes, key=lambda c: (sizes[c], c))
    code = ranked[len(ranked) // 2]
    students = max(1000, int(SCALES[scale][SCALES[scale].index("--students") + 1]) // len(ranked))
    changed = work / "changed-exports"
    if changed.exists():
        shutil.rmtree(changed)
    changed.mkdir(parents=True)
    for d in exports.iterdir():
        if d.is_dir() and d.name != code:
            (changed / d.name).symlink_to(d.resolve())
    generate = [str(socle), "generate", "--out", str(changed), "--css", code, "--students", str(students),
                "--years", "2", "--seed", "2", "--night", NIGHT, "--bad-rate", "0.001"]
    r = subprocess.run(generate, cwd=REPO, capture_output=True, text=True)
    if r.returncode != 0:
        raise BenchError(f"socle generate (changed CSS) failed:\n{r.stderr[-3000:]}")
    out = work / "changed-summary.json"
    cmd = [str(socle), "run", "--exports", str(changed), "--warehouse", str(warehouse), "--demo-key", "--summary-json", str(out),
           "--pipelines", str(pipelines)]
    # Another population for that CSS: its drops are expected, accepted for every entity.
    entities = sorted(p.stem for p in (REPO / "schemas" / "entities").glob("*.yaml"))
    for entity in entities:
        cmd += ["--accept-drop", f"{code}:{entity}"]
    env = {k: v for k, v in os.environ.items() if k not in ("SOCLE_PSEUDO_KEY", "SOCLE_PSEUDO_KEY_FILE", "SOCLE_FAILPOINT")}
    m = run_measured(cmd, REPO, work / "changed.out", work / "changed.err", env=env)
    if m["code"] not in (0, 2) or not out.exists():
        raise BenchError(f"socle run (changed CSS) failed (exit {m['code']}):\n{tail(work / 'changed.err')}")
    s = json.loads(out.read_text())
    return {"code_css": code, "students": students, "wall_s": s.get("wall_s"), "stages_s": s.get("stages_s", {}),
            # Socle's own high-water mark (VmHWM): wait4's ru_maxrss of a child forked by this
            # process counts this process's memory at the fork (the DuckDB marts before it hold
            # gigabytes), so it is kept apart, never reported as Socle's.
            "peak_rss_bytes": s.get("peak_rss_bytes") or m["peak_rss_bytes"], "peak_rss_wait4_bytes": m["peak_rss_bytes"],
            "exit_code": m["code"], "marts": s.get("marts", []),
            "marts_stage": s.get("marts_stage")}


def ratio_stats(pairs: list[tuple[float, float]]) -> dict:
    rs = [a / b for a, b in pairs if a is not None and b]
    s = stats(rs)
    return {"median": s["median"], "min": s["min"], "max": s["max"]}


def run_bench(a) -> dict:
    data = a.data.resolve()
    socle, bench = socle_binaries(a.socle, a.socle_bench)
    check_socle(socle, bench)
    exports = prepare_exports(a.scale, data, socle).resolve()
    base = data / a.scale
    base.mkdir(parents=True, exist_ok=True)
    warehouse = base / "warehouse"
    duck_out = base / "duckdb"
    threads = os.cpu_count() or 1
    work = Path(tempfile.mkdtemp(prefix="socle-bench-", dir=base))
    gpi = sorted(gpi_css(exports))
    pipelines = a.pipelines.resolve()

    socle_runs, duck_runs = [], []
    for i in range(a.runs):
        # Interleaved, so a drift of the machine (heat, another job) touches both engines alike.
        print(f"run {i + 1}/{a.runs}: socle run", file=sys.stderr)
        socle_runs.append(socle_night(socle, exports, warehouse, work, i, pipelines))
        if not a.skip_duckdb and not a.skip_duckdb_night and gpi:
            print(f"run {i + 1}/{a.runs}: duckdb nuit.sql", file=sys.stderr)
            duck_runs.append(duckdb_run(exports, duck_out, work, i, threads))

    # Marts over the last night's warehouse.
    df_json = work / "datafusion-queries.json"
    if a.skip_queries:
        r = None
    else:
        print("marts: socle-bench queries", file=sys.stderr)
        r = subprocess.run(
            [str(bench), "queries", "--warehouse", str(warehouse), "--runs", str(a.query_runs), "--json", str(df_json),
             "--pipelines", str(pipelines)],
            cwd=REPO, capture_output=True, text=True,
        )
    if r is None:
        datafusion = {"error": "not measured (--skip-queries)"}
    elif r.returncode == 0 and df_json.exists():
        datafusion = json.loads(df_json.read_text())
    else:
        datafusion = {"error": f"socle-bench queries failed (exit {r.returncode}): {r.stderr[-2000:]}"}
    duck_marts = None
    if not a.skip_duckdb:
        print("marts: socle-bench sql, duckdb", file=sys.stderr)
        spec_dir = work / "sql"
        marts = socle_sql(bench, spec_dir, pipelines, warehouse)
        css_for = {}
        for m in datafusion.get("marts", []):
            for rd in m.get("read", []):
                if rd.get("scope") == "css" and rd.get("code_css"):
                    css_for[m["mart"]] = rd["code_css"]
        duck_marts = duckdb_marts(warehouse, spec_dir, marts, a.query_runs, threads, css_for)

    # Cross-check of resultat and of the mart on the GPI CSS.
    check = None
    if duck_runs:
        by_css = socle_resultat_by_css(warehouse)
        last = duck_runs[-1]
        rows = []
        for code in gpi:
            s = by_css.get(code, {})
            d = last["resultat_rows"].get(code, 0)
            tol = s.get("quarantined_resultat", 0) + 4 * s.get("gpm_e_mat_ele_rejected", 0)
            rows.append({"code_css": code, "socle": s.get("rows"), "duckdb": d, "diff": d - (s.get("rows") or 0),
                         "tolerance": tol, "equal": d == s.get("rows")})
        _, mart_files = warehouse_files(warehouse)
        exact = (mart_files.get("taux_reussite") or {}).get("css") or []
        if exact:
            mart_check = compare_marts(exact, duck_out / "marts" / "taux_reussite.parquet", gpi)
        else:
            mart_check = {"equal": False, "error": "taux_reussite has no CSS zone files (css_files) in the marts manifest"}
        excluded = sorted(c for c in by_css if c not in gpi)
        check = {"resultat": rows, "all_equal": all(r["equal"] for r in rows), "taux_reussite": mart_check,
                 "excluded_css": excluded,
                 "note": "DuckDB reads GPI only; CSS without a gpi folder are left out of the DuckDB side" if excluded else None}

    changed = None
    if a.scale != "small" and not a.skip_changed:
        print("a second night where one CSS changed", file=sys.stderr)
        try:
            changed = changed_css_night(socle, a.scale, exports, warehouse, work, pipelines, socle_runs[-1])
        except BenchError as e:
            changed = {"error": str(e)}
    result = assemble(a, socle, exports, socle_runs, duck_runs, datafusion, duck_marts, check)
    result["changed_css_night"] = changed
    shutil.rmtree(work, ignore_errors=True)
    return result


def assemble(a, socle, exports, socle_runs, duck_runs, datafusion, duck_marts, check) -> dict:
    last = socle_runs[-1]
    walls = [s["wall_s"] for s in socle_runs]
    peak_summary = [s.get("peak_rss_bytes", 0) for s in socle_runs]
    peak_wait4 = [s["_process"]["peak_rss_bytes"] for s in socle_runs]
    order = ["read", "normalise", "write", "marts"]
    seen = {k for s in socle_runs for k in s.get("stages_s", {})}
    stage_names = [k for k in order if k in seen] + sorted(seen - set(order))
    socle_part = {
        "runs": len(socle_runs),
        "wall_s": stats(walls),
        "process_wall_s": stats([s["_process"]["wall_s"] for s in socle_runs]),
        "rows_per_s": stats([s.get("rows_per_s", 0.0) for s in socle_runs]),
        "mb_per_s": stats([s.get("mb_per_s", 0.0) for s in socle_runs]),
        "peak_rss_bytes": stats(peak_summary),
        "peak_rss_wait4_bytes": stats(peak_wait4),
        "stages_s": {k: stats([s.get("stages_s", {}).get(k, 0.0) for s in socle_runs]) for k in stage_names},
        "resultat_path_s": stats([resultat_path_s(s) for s in socle_runs]),
        "exit_codes": [s["_process"]["code"] for s in socle_runs],  # 2: some CSS or source failed
        "jobs": last.get("jobs"),
        "css_count": last.get("css_count"),
        "published": last.get("published"),
        "failed": last.get("failed"),
        "rows_read": last.get("rows_read"),
        "rows_loaded": last.get("rows_loaded"),
        "rows_quarantined": last.get("rows_quarantined"),
        "input_bytes": last.get("input_bytes"),
        "entities": last.get("entities", []),
        "marts": last.get("marts", []),
        "css": last.get("css", []),
    }
    out = {
        "scale": a.scale,
        "started_at": a.started_at,
        "runs": a.runs,
        "query_runs": a.query_runs,
        "exports": str(exports),
        "machine": machine(socle),
        "inputs": last.get("inputs", []),
        "socle": socle_part,
        "datafusion_marts": datafusion,
    }
    if duck_runs:
        steps = sorted({k for d in duck_runs for k in d["steps_s"]}, key=list(duck_runs[0]["steps_s"]).index)
        out["duckdb"] = {
            "runs": len(duck_runs),
            "threads": duck_runs[0]["threads"],
            "css": duck_runs[0]["css"],
            "total_s": stats([d["total_s"] for d in duck_runs]),
            "process_wall_s": stats([d["_process"]["wall_s"] for d in duck_runs]),
            "peak_rss_wait4_bytes": stats([d["_process"]["peak_rss_bytes"] for d in duck_runs]),
            "steps_s": {k: stats([d["steps_s"].get(k, 0.0) for d in duck_runs]) for k in steps},
            "resultat_rows": duck_runs[-1]["resultat_rows"],
            "taux_reussite_rows": duck_runs[-1]["taux_reussite_rows"],
        }
        pairs = list(zip(socle_runs, duck_runs))
        out["ratios"] = {
            "night": ratio_stats([(s["wall_s"], d["total_s"]) for s, d in pairs]),
            "resultat": ratio_stats([(resultat_path_s(s), d["steps_s"].get("resultat")) for s, d in pairs]),
            "taux_reussite": ratio_stats([(s.get("stages_s", {}).get("marts"), d["steps_s"].get("taux_reussite")) for s, d in pairs]),
        }
        out["check"] = check
    if duck_marts is not None:
        out["duckdb_marts"] = duck_marts
        out["marts_ratios"] = marts_ratios(datafusion, duck_marts)
    out["targets"] = targets(out)
    return out


def marts_ratios(df: dict, duck: dict) -> list[dict]:
    """DataFusion / DuckDB per mart and measure, on the medians (and p95). None where DuckDB has
    no figure (a `source: css` mart, an error)."""
    rows = []
    dmarts = {m["mart"]: m for m in duck.get("marts", [])}

    def r(a, b):
        return a / b if a is not None and b else None

    for m in df.get("marts", []):
        d = dmarts.get(m["mart"], {})
        rows.append({"mart": m["mart"], "measure": "rebuild",
                     "median": r((m.get("rebuild") or {}).get("median_ms"), (d.get("rebuild") or {}).get("median_ms")),
                     "p95": r((m.get("rebuild") or {}).get("p95_ms"), (d.get("rebuild") or {}).get("p95_ms"))})
        dreads = {x["scope"]: x for x in d.get("read", [])}
        for rd in m.get("read", []):
            x = dreads.get(rd["scope"], {})
            for temp in ("cold", "warm"):
                rows.append({"mart": m["mart"], "measure": f"read {rd['scope']} {temp}",
                             "median": r(rd.get(temp, {}).get("median_ms"), x.get(temp, {}).get("median_ms")),
                             "p95": r(rd.get(temp, {}).get("p95_ms"), x.get(temp, {}).get("p95_ms"))})
    # DuckDB rebuilds the `source: shared` marts only: compared with DataFusion's same set, and
    # only when DuckDB ran all of them.
    dfa = df.get("rebuild_all_shared_ms") or {}
    dka = duck.get("rebuild_all_ms") or {}
    complete = not duck.get("rebuild_all_excluded")
    rows.append({"mart": "(all, source: shared)", "measure": "rebuild all",
                 "median": r(dfa.get("median_ms"), dka.get("median_ms")) if complete else None,
                 "p95": r(dfa.get("p95_ms"), dka.get("p95_ms")) if complete else None})
    return rows


def targets(res: dict) -> list[dict]:
    """The issue's targets, pass/fail where the scale allows (else n/a)."""
    scale = res["scale"]
    province = scale == "province"
    s = res["socle"]
    t = []

    def add(name, measured, ok, applies, unit=""):
        t.append({"target": name, "measured": measured, "unit": unit,
                  "status": ("pass" if ok else "fail") if applies and measured is not None else "n/a"})

    wall = s["wall_s"]["median"]
    add("province night < 120 s (median)", wall, wall is not None and wall < 120, province, "s")
    peak = max(s["peak_rss_bytes"]["max"] or 0, s["peak_rss_wait4_bytes"]["max"] or 0)
    add("province peak memory < 6 GiB (max over runs)", peak / GIB, peak < 6 * GIB, province, "GiB")
    night_ratio = (res.get("ratios") or {}).get("night", {}).get("median")
    add("province Socle / DuckDB night <= 1.0 (median)", night_ratio, night_ratio is not None and night_ratio <= 1.0, province)
    add("one CSS of 110,000 students < 10 s end to end (median)", wall, wall is not None and wall < 10, scale == "css", "s")
    marts = res.get("datafusion_marts", {}).get("marts", [])
    css_warm = [rd["warm"]["median_ms"] for m in marts for rd in m.get("read", []) if rd["scope"] == "css"]
    prov_read = [max(rd["warm"]["median_ms"], rd["cold"]["median_ms"]) for m in marts for rd in m.get("read", []) if rd["scope"] == "province"]
    worst_css = max(css_warm) if css_warm else None
    worst_prov = max(prov_read) if prov_read else None
    # The read targets are about the province's marts; smaller scales show them as indications.
    add("mart read, one CSS, warm < 50 ms (worst mart, median)", worst_css, worst_css is not None and worst_css < 50, province, "ms")
    add("mart read, whole province < 1 s (worst mart, cold or warm, median)", worst_prov, worst_prov is not None and worst_prov < 1000, province, "ms")
    rb = res.get("datafusion_marts", {}).get("rebuild_all_ms", {}).get("median_ms")
    add("rebuild all marts < 30 s (median)", rb, rb is not None and rb < 30000, province, "ms")
    return t


# --------------------------------------------------------------------------------------------
# Report


def fmt(x, digits=2, unit=""):
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:,.{digits}f}{unit}"
    return f"{x:,}{unit}"


def fmt_s(st: dict) -> str:
    return f"{fmt(st['median'])} ({fmt(st['min'])}-{fmt(st['max'])})" if st and st.get("median") is not None else "-"


def fmt_ms(st: dict) -> str:
    if not st or st.get("median_ms") is None:
        return "-"
    return f"{fmt(st['median_ms'], 1)} / {fmt(st['p95_ms'], 1)}"


def markdown(res: dict) -> str:
    m = res["machine"]
    s = res["socle"]
    L = []
    L.append(f"# Socle benchmark, scale `{res['scale']}` ({res['started_at']})")
    L.append("")
    L.append(f"Machine: {m['cores']} cores ({m['cpu']}), {fmt((m['memory_bytes'] or 0) / GIB, 1)} GiB; {m['os']}; "
             f"socle {m['socle_commit']}; DuckDB {m['duckdb']}; Python {m['python']}. "
             f"{res['runs']} nights per engine (median, min-max), {res['query_runs']} runs per query.")
    L.append("")
    L.append("## Input (CSV, all CSS)")
    L.append("")
    L.append("| system | table | files | rows | MB |")
    L.append("|---|---|---:|---:|---:|")
    tot_rows = tot_bytes = 0
    for i in res["inputs"]:
        tot_rows += i.get("rows", 0)
        tot_bytes += i.get("bytes", 0)
        L.append(f"| {i.get('system')} | {i.get('table')} | {i.get('files', '-')} | {fmt(i.get('rows'))} | {fmt(i.get('bytes', 0) / 1e6)} |")
    L.append(f"| **total** | | | **{fmt(tot_rows)}** | **{fmt(tot_bytes / 1e6)}** |")
    L.append("")
    L.append("## Socle night (`socle run`)")
    L.append("")
    L.append("| measure | median (min-max) |")
    L.append("|---|---|")
    L.append(f"| wall, s | {fmt_s(s['wall_s'])} |")
    L.append(f"| process wall (harness clock), s | {fmt_s(s['process_wall_s'])} |")
    L.append(f"| rows/s of input | {fmt_s(s['rows_per_s'])} |")
    L.append(f"| MB/s of input | {fmt_s(s['mb_per_s'])} |")
    pk = s["peak_rss_bytes"]
    pw = s["peak_rss_wait4_bytes"]
    L.append(f"| peak memory (VmHWM), MiB | {fmt(pk['median'] / MIB if pk['median'] else None, 0)} ({fmt(pk['min'] / MIB if pk['min'] else None, 0)}-{fmt(pk['max'] / MIB if pk['max'] else None, 0)}) |")
    L.append(f"| peak memory (wait4 ru_maxrss), MiB | {fmt(pw['median'] / MIB, 0)} ({fmt(pw['min'] / MIB, 0)}-{fmt(pw['max'] / MIB, 0)}) |")
    for k, v in s["stages_s"].items():
        summed = " (summed over CSS)" if k != "marts" else " (wall)"
        L.append(f"| stage {k}, s{summed} | {fmt_s(v)} |")
    L.append(f"| resultat path (attributed wall), s | {fmt_s(s['resultat_path_s'])} |")
    L.append("")
    if any(c != 0 for c in s["exit_codes"]):
        L.append(f"**Exit codes {s['exit_codes']}: some CSS or source failed in a night (see the summary's `css`).**")
        L.append("")
    L.append(f"{s['css_count']} CSS ({s['published']} published, {s['failed']} failed), --jobs {s['jobs']}; "
             f"rows read {fmt(s['rows_read'])}, loaded {fmt(s['rows_loaded'])}, quarantined {fmt(s['rows_quarantined'])}.")
    L.append("")
    if "duckdb" in res:
        d = res["duckdb"]
        L.append(f"## DuckDB night (`benches/duckdb/nuit.sql`, {d['threads']} threads, GPI CSS: {', '.join(d['css'])})")
        L.append("")
        L.append("| step | median (min-max), s |")
        L.append("|---|---|")
        for k, v in d["steps_s"].items():
            L.append(f"| {k} | {fmt_s(v)} |")
        L.append(f"| **total** | {fmt_s(d['total_s'])} |")
        pw = d["peak_rss_wait4_bytes"]
        L.append(f"| peak memory (wait4, includes Python), MiB | {fmt(pw['median'] / MIB, 0)} ({fmt(pw['min'] / MIB, 0)}-{fmt(pw['max'] / MIB, 0)}) |")
        L.append("")
        L.append("## Socle / DuckDB per step (median of per-run ratios, min-max; below 1 Socle is faster)")
        L.append("")
        L.append("| step | Socle | DuckDB | ratio |")
        L.append("|---|---|---|---|")
        r = res["ratios"]
        L.append(f"| night (Socle: all sources, all entities, marts; DuckDB: resultat + taux_reussite) | {fmt_s(s['wall_s'])} | {fmt_s(d['total_s'])} | {fmt_s(r['night'])} |")
        L.append(f"| resultat (Socle: attributed wall of its 6 inputs + normalise + write) | {fmt_s(s['resultat_path_s'])} | {fmt_s(d['steps_s'].get('resultat'))} | {fmt_s(r['resultat'])} |")
        L.append(f"| taux_reussite (Socle: marts stage) | {fmt_s(s['stages_s'].get('marts'))} | {fmt_s(d['steps_s'].get('taux_reussite'))} | {fmt_s(r['taux_reussite'])} |")
        L.append("")
        c = res.get("check") or {}
        L.append("Cross-check, canonical `resultat` rows per GPI CSS:")
        L.append("")
        L.append("| CSS | Socle | DuckDB | diff | tolerance (Socle's quarantined cells) |")
        L.append("|---|---:|---:|---:|---:|")
        for row in c.get("resultat", []):
            L.append(f"| {row['code_css']} | {fmt(row['socle'])} | {fmt(row['duckdb'])} | {row['diff']} | {row['tolerance']} |")
        mc = c.get("taux_reussite")
        if mc and mc.get("error"):
            L.append("")
            L.append(f"`taux_reussite` on the GPI CSS: not compared: {mc['error']}.")
        elif mc:
            L.append("")
            verdict = "identical" if mc["equal"] else f"{mc['only_socle']} only in Socle, {mc['only_duckdb']} only in DuckDB"
            L.append(f"`taux_reussite` on the GPI CSS (Socle's exact cells from the CSS zones, DuckDB's "
                     f"`benches/duckdb/taux_reussite.sql`): {mc['socle_cells']} cells in Socle, {mc['duckdb_cells']} in "
                     f"DuckDB: {verdict}.")
        if c.get("note"):
            L.append("")
            L.append(f"{c['note']}: {', '.join(c['excluded_css'])}.")
        L.append("")
    L.append("## Marts over Socle's warehouse: DataFusion (`socle-bench queries`) and DuckDB")
    L.append("")
    df = res.get("datafusion_marts", {})
    if "error" in df:
        L.append(f"DataFusion: {df['error']}")
        L.append("")
    dk = {m["mart"]: m for m in (res.get("duckdb_marts") or {}).get("marts", [])}
    ratios = {(x["mart"], x["measure"]): x for x in res.get("marts_ratios", [])}
    L.append("| mart | measure | rows (DataFusion / DuckDB if not the same) | DataFusion median / p95, ms | DuckDB median / p95, ms | ratio (median) |")
    L.append("|---|---|---:|---|---|---|")
    for mt in df.get("marts", []):
        d = dk.get(mt["mart"], {})
        rr = ratios.get((mt["mart"], "rebuild"), {})
        duck_rebuild = d["status"] if d.get("status") == NA_CSS else fmt_ms(d.get("rebuild"))
        source = f" (source: {mt['source']})" if mt.get("source") == "css" else ""
        L.append(f"| {mt['mart']}{source} | rebuild | {fmt(mt.get('rows'))} | {fmt_ms(mt.get('rebuild'))} | {duck_rebuild} | {fmt(rr.get('median'))} |")
        dreads = {x["scope"]: x for x in d.get("read", [])}
        for rd in mt.get("read", []):
            x = dreads.get(rd["scope"], {})
            label = f"read {rd['scope']}" + (f" {rd['code_css']}" if rd.get("code_css") else "")
            if rd.get("zone") == "css":
                label += " (its CSS zone)"
            for temp in ("cold", "warm"):
                rr = ratios.get((mt["mart"], f"read {rd['scope']} {temp}"), {})
                rows = fmt(rd.get("rows")) if x.get("rows") in (None, rd.get("rows")) else f"{fmt(rd.get('rows'))} / {fmt(x.get('rows'))}"
                L.append(f"| {mt['mart']} | {label} {temp} | {rows} | {fmt_ms(rd.get(temp))} | {fmt_ms(x.get(temp))} | {fmt(rr.get('median'))} |")
        for sk in mt.get("read_skipped") or []:
            L.append(f"| {mt['mart']} | read {sk['scope']}: skipped | | {sk['reason']} | | |")
        if d.get("error"):
            message = " ".join(d["error"].split()).replace("|", "\\|")[:160]  # one table row
            L.append(f"| {mt['mart']} | DuckDB error | | | {message} | |")
    dm = res.get("duckdb_marts") or {}
    has_css_source = any(m.get("source") == "css" for m in df.get("marts", []))
    if df.get("rebuild_all_ms"):
        duck_all = "-" if has_css_source else fmt_ms(dm.get("rebuild_all_ms"))
        rr = {} if has_css_source else ratios.get(("(all, source: shared)", "rebuild all"), {})
        L.append(f"| all marts | rebuild all | | {fmt_ms(df.get('rebuild_all_ms'))} | {duck_all} | {fmt(rr.get('median'))} |")
    if has_css_source and (df.get("rebuild_all_shared_ms") or dm.get("rebuild_all_ms")):
        rr = ratios.get(("(all, source: shared)", "rebuild all"), {})
        L.append(f"| all `source: shared` marts | rebuild all | | {fmt_ms(df.get('rebuild_all_shared_ms'))} | {fmt_ms(dm.get('rebuild_all_ms'))} | {fmt(rr.get('median'))} |")
    if dm.get("rebuild_all_excluded"):
        L.append(f"| (DuckDB rebuild all) | left out (DuckDB errors) | | | {', '.join(dm['rebuild_all_excluded'])} | |")
    L.append("")
    na = [m["mart"] for m in dm.get("marts", []) if m.get("status") == NA_CSS]
    if na:
        L.append(f"DuckDB {NA_CSS}: {', '.join(na)}. {NA_CSS_REASON}.")
        L.append("")
    connect = (res.get("duckdb_marts") or {}).get("connect_ms") or {}
    L.append("Cold: a new session (marts registered from the manifest) plus the query, timed together; warm: the "
             "same session, the query repeated (first run discarded). DuckDB materialises each result in memory "
             "(CREATE TEMP TABLE AS), as DataFusion collects it"
             + (f"; its cold figures include opening a new in-memory database ({fmt(connect.get('median_ms'), 1)} ms "
                "median by itself)." if connect else "."))
    L.append("")
    ch = res.get("changed_css_night")
    if ch:
        L.append("## A second night where one CSS changed")
        L.append("")
        if ch.get("error"):
            L.append(f"Failed: {ch['error']}")
        else:
            st = ch.get("stages_s", {})
            L.append(f"CSS {ch['code_css']} regenerated with another seed ({ch['students']} students), the other CSS's "
                     f"exports unchanged, loaded over the last night's warehouse: wall {fmt(ch.get('wall_s'))} s, "
                     f"marts stage {fmt(st.get('marts'))} s, peak {fmt((ch.get('peak_rss_bytes') or 0) / GIB, 2)} GiB, "
                     f"exit {ch.get('exit_code')}.")
            if ch.get("marts_stage"):
                L.append("")
                L.append("```json")
                L.append(json.dumps(ch["marts_stage"], indent=1)[:4000])
                L.append("```")
        L.append("")
    L.append("## Targets (issue 5)")
    L.append("")
    L.append("| target | measured | status |")
    L.append("|---|---|---|")
    for t in res["targets"]:
        L.append(f"| {t['target']} | {fmt(t['measured'])} {t['unit']} | {t['status']} |")
    L.append("")
    L.append("Read the DuckDB ratios with the list of what Socle does and the DuckDB script does not "
             "(quarantine with file/line/column, lineage, both zones, 14 entities from 4 sources, manifests and "
             "atomic commits, HMAC keys): benches/duckdb/nuit.sql, header, and benches/README.md.")
    return "\n".join(L) + "\n"


def main(argv: list[str]) -> int:
    if argv[:1] == ["--duckdb-child"]:
        return duckdb_child(argv[1:])
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--scale", choices=list(SCALES), required=True)
    p.add_argument("--runs", type=int, default=5, help="nights per engine (default 5)")
    p.add_argument("--query-runs", type=int, default=20, help="timed runs of each mart query (default 20)")
    p.add_argument("--data", type=Path, default=Path("/work/bench-data"), help="exports, warehouses and DuckDB outputs (outside the repository)")
    p.add_argument("--socle", type=Path, help="the socle binary (default: cargo build --release -p socle-cli -p socle-bench, target/release/socle)")
    p.add_argument("--socle-bench", type=Path, help="the benchmark helper (default: socle-bench beside --socle, else built as above)")
    p.add_argument("--out", type=Path, default=REPO / "benches" / "results", help="where the JSON and Markdown results go")
    p.add_argument("--skip-duckdb", action="store_true", help="Socle only (no DuckDB night, no DuckDB marts)")
    p.add_argument("--pipelines", type=Path, default=REPO / "pipelines", help="the marts and seeds (default: pipelines/)")
    p.add_argument("--skip-duckdb-night", action="store_true", help="no DuckDB night (the DuckDB marts still run)")
    p.add_argument("--skip-queries", action="store_true", help="no mart queries (the nights only)")
    p.add_argument("--skip-changed", action="store_true", help="no second night where one CSS changed")
    a = p.parse_args(argv)
    if a.runs < 1 or a.query_runs < 1:
        p.error("--runs and --query-runs must be at least 1")
    if not a.skip_duckdb:
        try:
            import duckdb  # noqa: F401
        except ImportError:
            print("the DuckDB side needs the duckdb module: python3 -m pip install duckdb (or --skip-duckdb)", file=sys.stderr)
            return 1
    now = dt.datetime.now()
    a.started_at = now.isoformat(timespec="seconds")
    try:
        res = run_bench(a)
    except BenchError as e:
        print(f"bench: {e}", file=sys.stderr)
        return 1
    a.out.mkdir(parents=True, exist_ok=True)
    stem = a.out / f"{a.scale}-{now.strftime('%Y%m%dT%H%M%S')}"
    md = markdown(res)
    Path(f"{stem}.json").write_text(json.dumps(res, indent=1) + "\n")
    Path(f"{stem}.md").write_text(md)
    print(md)
    print(f"results: {stem}.json, {stem}.md", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
