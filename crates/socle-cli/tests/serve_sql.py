"""psycopg against `socle serve`'s SQL endpoint (run by tests/serve_sql.rs).

Usage: serve_sql.py HOST PORT USER PASSWORD

Checks, printing one line per check and exiting non-zero at the first failure:
- a plain query and a parameterised one (the extended protocol, as drivers send them);
- the start-up queries of DBeaver (from datafusion-postgres's own tests) and the type-loading
  queries of Npgsql, Power BI's driver (from Npgsql's PostgresDatabaseInfo.cs), then what a
  navigator asks (tables, columns, a preview);
- a forbidden statement is refused with a clear error and the connection stays usable.
"""

import sys

import psycopg

host, port, user, password = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]

DBEAVER = [
    "SET extra_float_digits = 3",
    "SET application_name = 'PostgreSQL JDBC Driver'",
    "SET application_name = 'DBeaver 25.1.5 - Main <postgres>'",
    "SELECT current_schema(),session_user",
    "SELECT n.oid,n.*,d.description FROM pg_catalog.pg_namespace n LEFT OUTER JOIN pg_catalog.pg_description d ON d.objoid=n.oid AND d.objsubid=0 AND d.classoid='pg_namespace'::regclass ORDER BY nspname",
    "SELECT n.nspname = ANY(current_schemas(true)), n.nspname, t.typname FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON t.typnamespace = n.oid WHERE t.oid = 1034",
    "SHOW search_path",
    "SELECT db.oid,db.* FROM pg_catalog.pg_database db WHERE datname='postgres'",
    "SELECT * FROM pg_catalog.pg_settings where name='standard_conforming_strings'",
    "SELECT version()",
    "SELECT * FROM pg_catalog.pg_enum WHERE 1<>1 LIMIT 1",
    "SELECT reltype FROM pg_catalog.pg_class WHERE 1<>1 LIMIT 1",
    "SELECT t.oid,t.*,c.relkind,format_type(nullif(t.typbasetype, 0), t.typtypmod) as base_type_name, d.description FROM pg_catalog.pg_type t LEFT OUTER JOIN pg_catalog.pg_type et ON et.oid=t.typelem LEFT OUTER JOIN pg_catalog.pg_class c ON c.oid=t.typrelid LEFT OUTER JOIN pg_catalog.pg_description d ON t.oid=d.objoid WHERE t.typname IS NOT NULL AND (c.relkind IS NULL OR c.relkind = 'c') AND (et.typcategory IS NULL OR et.typcategory <> 'C')",
]

# Npgsql (PostgresDatabaseInfo.GenerateLoadTypesQuery for a server of version 16: ranges and
# multiranges, no table composites, every schema, with typcategory), then its composite and
# enum queries.
NPGSQL = [
    "SELECT version();",
    """SELECT ns.nspname, t.oid, t.typname, t.typtype, t.typnotnull, t.elemtypoid
FROM (
    SELECT
        typ.oid, typ.typnamespace, typ.typname, typ.typtype, typ.typrelid, typ.typnotnull, typ.relkind,
        elemtyp.oid AS elemtypoid, elemtyp.typname AS elemtypname, elemcls.relkind AS elemrelkind,
        CASE WHEN elemproc.proname='array_recv' THEN 'a' ELSE elemtyp.typtype END AS elemtyptype
        , typ.typcategory
    FROM (
        SELECT typ.oid, typnamespace, typname, typrelid, typnotnull, relkind, typelem AS elemoid,
            CASE WHEN proc.proname='array_recv' THEN 'a' ELSE typ.typtype END AS typtype,
            CASE
                WHEN proc.proname='array_recv' THEN typ.typelem
                WHEN typ.typtype='r' THEN rngsubtype
                WHEN typ.typtype='m' THEN (SELECT rngtypid FROM pg_range WHERE rngmultitypid = typ.oid)
                WHEN typ.typtype='d' THEN typ.typbasetype
            END AS elemtypoid
            , typ.typcategory
        FROM pg_type AS typ
        LEFT JOIN pg_class AS cls ON (cls.oid = typ.typrelid)
        LEFT JOIN pg_proc AS proc ON proc.oid = typ.typreceive
        LEFT JOIN pg_range ON (pg_range.rngtypid = typ.oid)
    ) AS typ
    LEFT JOIN pg_type AS elemtyp ON elemtyp.oid = elemtypoid
    LEFT JOIN pg_class AS elemcls ON (elemcls.oid = elemtyp.typrelid)
    LEFT JOIN pg_proc AS elemproc ON elemproc.oid = elemtyp.typreceive
) AS t
JOIN pg_namespace AS ns ON (ns.oid = typnamespace)
WHERE
    (typtype IN ('b', 'r', 'm', 'e', 'd') OR
    (typtype = 'c' AND relkind='c') OR
    (typtype = 'p' AND typname IN ('record', 'void', 'unknown')) OR
    (typtype = 'a' AND (
        elemtyptype IN ('b', 'r', 'm', 'e', 'd') OR
        (elemtyptype = 'p' AND elemtypname IN ('record', 'void')) OR
        (elemtyptype = 'c' AND elemrelkind='c')
    )))
ORDER BY CASE
       WHEN typtype IN ('b', 'e', 'p') THEN 0
       WHEN typtype = 'c' THEN 1
       WHEN typtype = 'r' THEN 2
       WHEN typtype = 'm' THEN 3
       WHEN typtype = 'd' AND elemtyptype <> 'a' THEN 4
       WHEN typtype = 'a' THEN 5
       WHEN typtype = 'd' AND elemtyptype = 'a' THEN 6
END""",
    """SELECT typ.oid, att.attname, att.atttypid
FROM pg_type AS typ
JOIN pg_namespace AS ns ON (ns.oid = typ.typnamespace)
JOIN pg_class AS cls ON (cls.oid = typ.typrelid)
JOIN pg_attribute AS att ON (att.attrelid = typ.typrelid)
WHERE
  (typ.typtype = 'c' AND cls.relkind='c') AND
  attnum > 0 AND
  NOT attisdropped
ORDER BY typ.oid, att.attnum""",
    """SELECT typ.oid, enumlabel
FROM pg_enum
JOIN pg_type AS typ ON typ.oid = enumtypid
JOIN pg_namespace AS ns ON ns.oid = typ.typnamespace
ORDER BY oid, enumsortorder""",
]


def check(name, ok):
    print(("ok   " if ok else "FAIL ") + name, flush=True)
    if not ok:
        sys.exit(1)


with psycopg.connect(host=host, port=port, user=user, password=password, dbname="socle", autocommit=True) as conn:
    cur = conn.cursor()
    cur.execute("SELECT count(*) FROM taux_reussite")
    check("plain query", cur.fetchone()[0] > 0)
    # Parameterised: the extended protocol (Parse/Bind/Execute).
    cur.execute("SELECT count(*) FROM taux_reussite WHERE code_css = %s", ("866000",))
    check("parameterised query", cur.fetchone()[0] > 0)
    for q in DBEAVER:
        try:
            cur.execute(q)
        except Exception as e:  # noqa: BLE001 - report which start-up query failed
            check(f"DBeaver start-up query failed: {q[:60]}: {e}", False)
    check(f"DBeaver start-up ({len(DBEAVER)} queries)", True)
    # Every query Npgsql sends on connecting must run, the type-loading one (NPGSQL[1]) included:
    # it joins pg_proc.oid to pg_type.typreceive, which the endpoint rewrites (compat.rs). Its
    # rows must name the types a mart's columns use, or Npgsql could not read them.
    for i, q in enumerate(NPGSQL):
        try:
            cur.execute(q)
            rows = cur.fetchall()
        except Exception as e:  # noqa: BLE001
            check(f"Npgsql query {i} failed: {q[:60]}: {e}", False)
        if i == 1:
            names = {r[2] for r in rows}
            check(f"Npgsql type loading ({len(rows)} types)", {"int4", "int8", "text", "float8", "bool", "date"} <= names)
            arrays = [r for r in rows if r[2] == "_int4"]
            check("Npgsql sees int4[] as an array of int4", bool(arrays) and arrays[0][3] == "a")
    check(f"Npgsql ({len(NPGSQL)} queries)", True)
    # What a navigator (Power BI's, DBeaver's) asks next: the tables, a table's columns, a preview.
    cur.execute(
        "SELECT table_schema, table_name, table_type FROM information_schema.tables "
        "WHERE table_schema NOT IN ('information_schema', 'pg_catalog') ORDER BY table_schema, table_name"
    )
    tables = {r[1] for r in cur.fetchall()}
    check(f"navigator: {len(tables)} tables, taux_reussite among them", "taux_reussite" in tables)
    cur.execute(
        "SELECT column_name, data_type, ordinal_position FROM information_schema.columns "
        "WHERE table_name = 'taux_reussite' ORDER BY ordinal_position"
    )
    columns = [r[0] for r in cur.fetchall()]
    check(f"navigator: taux_reussite has {len(columns)} columns", len(columns) > 3 and len(set(columns)) == len(columns))
    cur.execute("SELECT * FROM public.taux_reussite LIMIT 1000")
    check("navigator: preview of public.taux_reussite", len(cur.fetchall()) > 0)
    try:
        cur.execute("COPY (SELECT 1) TO '/tmp/socle-psycopg-copy.csv'")
        check("COPY refused", False)
    except psycopg.Error as e:
        check("COPY refused: " + str(e).splitlines()[0], "refus" in str(e))
    cur.execute("SELECT 1")
    check("connection usable after a refusal", cur.fetchone()[0] == 1)
print("all psycopg checks passed")
