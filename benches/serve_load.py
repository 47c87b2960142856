#!/usr/bin/env python3
"""Bounded load test of `socle serve` (not part of CI).

20 concurrent users on loopback (one process each), each signing in once then requesting, in a
loop:
- the web page of a one-CSS dashboard (a `css` account: its own zone), and
- a mart over the SQL endpoint (psycopg, one connection per user),
for a fixed number of requests each. Prints the median, p95 and max of each, with the targets
(p95 under 100 ms for the page, under 50 ms for the SQL), and writes them as JSON with --json.

    python3 benches/serve_load.py --socle target/release/socle --warehouse warehouse \
        [--users 20] [--requests 50] [--css 866000] [--mart taux_reussite] [--json FILE]

The warehouse must hold the marts (`socle run` first). The script creates a throw-away
access file with one `css` account and starts the server on free ports itself.
"""

import argparse
import http.cookiejar
import json
import multiprocessing
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

PASSWORD = "mot de passe de charge 123"


def p95(xs):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(0.95 * (len(xs) - 1))))]


def start(socle, warehouse, access, root):
    proc = subprocess.Popen(
        [socle, "serve", "--warehouse", warehouse, "--access", str(access),
         "--listen", "127.0.0.1:0", "--pg-listen", "127.0.0.1:0"],
        cwd=root, stdout=subprocess.PIPE, text=True)
    web = pg = None
    while web is None or pg is None:
        line = proc.stdout.readline()
        if not line:
            sys.exit("socle serve stopped before listening")
        if line.startswith("web: http://"):
            web = line.split("//", 1)[1].strip()
        if line.startswith("sql: postgresql://"):
            pg = line.split("//", 1)[1].strip()
    threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()
    return proc, web, pg


def web_user(web, user, mart, css, n, out, errors):
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"http://{web}/connexion").read().decode()
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)
    body = urllib.parse.urlencode({"utilisateur": user, "mot_de_passe": PASSWORD, "csrf": csrf}).encode()
    opener.open(f"http://{web}/connexion", body).read()
    url = f"http://{web}/tableaux/{mart}?code_css={css}"
    for _ in range(n):
        t = time.perf_counter()
        try:
            r = opener.open(url)
            r.read()
            if r.status != 200:
                errors.append(r.status)
        except Exception as e:  # noqa: BLE001 - counted, reported
            errors.append(str(e))
        out.append((time.perf_counter() - t) * 1000)


def sql_user(pg, user, mart, css, n, out, errors):
    import psycopg
    host, port = pg.rsplit(":", 1)
    with psycopg.connect(host=host, port=int(port), user=user, password=PASSWORD, dbname="socle", autocommit=True) as c:
        cur = c.cursor()
        for _ in range(n):
            t = time.perf_counter()
            try:
                cur.execute(f"SELECT * FROM {mart} WHERE code_css = '{css}' LIMIT 200")
                cur.fetchall()
            except Exception as e:  # noqa: BLE001
                errors.append(str(e))
            out.append((time.perf_counter() - t) * 1000)


def _user(target, args, barrier, results):
    out, errors = [], []
    barrier.wait()
    target(*args, out, errors)
    results.put((out, errors))


def run(kind, target, users, *args):
    # One process per user, as real users are separate browsers and machines: threads of one
    # Python process would queue for its interpreter lock and add that wait to every figure.
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(users + 1)
    results = ctx.Queue()
    procs = [ctx.Process(target=_user, args=(target, args, barrier, results)) for _ in range(users)]
    for p in procs:
        p.start()
    barrier.wait()
    t = time.perf_counter()
    out, errors = [], []
    for _ in procs:
        o, e = results.get()
        out.extend(o)
        errors.extend(e)
    wall = time.perf_counter() - t
    for p in procs:
        p.join()
    return {"kind": kind, "requests": len(out), "errors": len(errors), "wall_s": round(wall, 2),
            "median_ms": round(statistics.median(out), 1), "p95_ms": round(p95(out), 1),
            "max_ms": round(max(out), 1), "per_s": round(len(out) / wall, 1)}


def main():
    a = argparse.ArgumentParser()
    a.add_argument("--socle", default="target/release/socle")
    a.add_argument("--warehouse", required=True)
    a.add_argument("--users", type=int, default=20)
    a.add_argument("--requests", type=int, default=50)
    a.add_argument("--css", default="866000")
    a.add_argument("--mart", default="taux_reussite")
    a.add_argument("--json")
    o = a.parse_args()
    root = Path(__file__).resolve().parent.parent
    with tempfile.TemporaryDirectory() as tmp:
        access = Path(tmp) / "access.yaml"
        subprocess.run([o.socle, "serve", "passwd", "charge", "--access", str(access), "--role", "css",
                        "--css", o.css], input=PASSWORD + "\n", text=True, check=True, cwd=root,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        proc, web, pg = start(o.socle, o.warehouse, access, root)
        try:
            results = [
                run("web page", web_user, o.users, web, "charge", o.mart, o.css, o.requests),
                run("sql", sql_user, o.users, pg, "charge", o.mart, o.css, o.requests),
            ]
        finally:
            proc.terminate()
            proc.wait()
    targets = {"web page": 100, "sql": 50}
    for r in results:
        t = targets[r["kind"]]
        verdict = "ok" if r["p95_ms"] < t else f"MISSED by {r['p95_ms'] - t:.0f} ms"
        print(f"{r['kind']:<9} {r['requests']} requests by {o.users} users, {r['errors']} errors: "
              f"median {r['median_ms']} ms, p95 {r['p95_ms']} ms (target < {t} ms: {verdict}), "
              f"max {r['max_ms']} ms, {r['per_s']}/s")
    if o.json:
        Path(o.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
