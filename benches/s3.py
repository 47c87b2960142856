#!/usr/bin/env python3
"""The night on an object store against the same night on the local disk (issue 16's target:
within 2x), same binary, same exports, same machine, interleaved.

    python3 benches/s3.py --scale province [--runs 3] [--data /work/bench-data]
        [--socle target/release/socle] [--out benches/results]

The object store is a local S3 server, Python `moto` in server mode (pip install "moto[server]"),
started here on a free loopback port and reset before each night: a figure of Socle's S3 path
(uploads, conditional Delta commits, listings, the lease) on this machine, bounded by moto's own
speed (a Python server, single process), not of AWS. Each night runs on an emptied warehouse
(`socle run ... --summary-json`), in a child process whose peak resident memory comes from
os.wait4. Results: OUT/s3-<scale>-<timestamp>.json and .md, also printed.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402  (the benchmark's helpers: exports, binaries, measured runs)

BUCKET = "socle-bench"


class Moto:
    def __init__(self, log: Path):
        self.port = bench.free_port()
        self.log = open(log, "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 30
        while True:
            try:
                urllib.request.urlopen(self.endpoint + "/", timeout=2)
                break
            except Exception:
                if self.proc.poll() is not None or time.time() > deadline:
                    raise bench.BenchError('moto did not start: pip install "moto[server]"')
                time.sleep(0.2)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def fresh_bucket(self) -> None:
        urllib.request.urlopen(urllib.request.Request(self.endpoint + "/moto-api/reset", method="POST"), timeout=60)
        urllib.request.urlopen(urllib.request.Request(f"{self.endpoint}/{BUCKET}", method="PUT"), timeout=60)

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()
        self.log.close()


def main() -> int:
    p = bench.night_arguments(__doc__.splitlines()[0])
    a = p.parse_args()
    socle, _ = bench.socle_binaries(a.socle, None)
    exports = bench.prepare_exports(a.scale, a.data, socle)
    work = Path(tempfile.mkdtemp(prefix="socle-s3-bench-"))
    local = a.data / a.scale / "warehouse-local-vs-s3"
    moto = Moto(work / "moto.log")
    base_env = {k: v for k, v in os.environ.items()
                if k not in ("SOCLE_PSEUDO_KEY", "SOCLE_PSEUDO_KEY_FILE", "SOCLE_FAILPOINT")
                and not k.startswith("AWS_")}
    s3_env = dict(base_env, AWS_ENDPOINT_URL=moto.endpoint, AWS_ALLOW_HTTP="true", AWS_ACCESS_KEY_ID="bench",
                  AWS_SECRET_ACCESS_KEY="bench", AWS_REGION="us-east-1", SOCLE_WORK_DIR=str(work / "s3-work"))
    runs = {"disk": [], "s3": []}
    try:
        for i in range(a.runs):
            if local.exists():
                shutil.rmtree(local)
            r = bench.measured_night(socle, exports, str(local), work, f"disk-{i}", a.pipelines, base_env)
            runs["disk"].append(r)
            print(f"disk night {i + 1}: {r['wall_s']:.1f} s, peak {r['peak_rss_bytes'] / bench.MIB:.0f} MiB", file=sys.stderr)
            moto.fresh_bucket()
            shutil.rmtree(work / "s3-work", ignore_errors=True)
            r = bench.measured_night(socle, exports, f"s3://{BUCKET}/entrepot", work, f"s3-{i}", a.pipelines, s3_env)
            runs["s3"].append(r)
            print(f"s3 night {i + 1}: {r['wall_s']:.1f} s, peak {r['peak_rss_bytes'] / bench.MIB:.0f} MiB", file=sys.stderr)
    finally:
        moto.stop()
        if local.exists():
            shutil.rmtree(local)
    med = {k: statistics.median(r["wall_s"] for r in v) for k, v in runs.items()}
    result = {
        "scale": a.scale,
        "runs": a.runs,
        "machine": bench.machine(socle),
        "store": "moto server mode " + subprocess.run([sys.executable, "-c", "import moto; print(moto.__version__)"],
                                                     capture_output=True, text=True).stdout.strip(),
        "nights": runs,
        "median_s": med,
        "ratio_s3_over_disk": med["s3"] / med["disk"],
    }
    a.out.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S")
    out = a.out / f"s3-{a.scale}-{stamp}"
    out.with_suffix(".json").write_text(json.dumps(result, indent=2))
    lines = [
        f"# The night on S3 (moto) against the local disk, scale {a.scale}, {a.runs} runs each",
        "",
        f"Machine: {result['machine']['cores']} cores, {result['machine']['cpu']}, "
        f"{(result['machine']['memory_bytes'] or 0) / bench.GIB:.1f} GiB; commit {result['machine']['socle_commit']}; {result['store']}.",
        "",
        "| store | nights (s) | median (s) | peak memory (MiB, max) |",
        "|---|---|---|---|",
    ]
    for k in ("disk", "s3"):
        walls = ", ".join(f"{r['wall_s']:.1f}" for r in runs[k])
        peak = max(r["peak_rss_bytes"] for r in runs[k]) / bench.MIB
        lines.append(f"| {k} | {walls} | {med[k]:.1f} | {peak:.0f} |")
    stage_names = sorted({k for v in runs.values() for r in v for k in r["stages_s"]})
    lines += ["", "| stage (median s) | disk | s3 |", "|---|---|---|"]
    for name in stage_names:
        cells = [f"{statistics.median(r['stages_s'].get(name, 0.0) for r in runs[k]):.1f}" for k in ("disk", "s3")]
        lines.append(f"| {name} | {cells[0]} | {cells[1]} |")
    lines += ["", f"S3 / disk: **{result['ratio_s3_over_disk']:.2f}x** (target: within 2x)."]
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
