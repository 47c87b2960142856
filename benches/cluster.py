#!/usr/bin/env python3
"""The marts stage on a Ballista cluster (1 scheduler, 2 executors) against the same stage in one
process: same binary, same exports, same machine, nights interleaved (issue 16, part 3).

    python3 benches/cluster.py --scale province [--runs 3] [--executors 2] [--data /work/bench-data]
        [--socle target/release/socle] [--out benches/results]

The cluster is Socle's own roles (`socle scheduler`, `socle executor`) started here on loopback,
each executor given `cores / executors` task slots so the cluster and the single process have
the same cores. Each night runs on an emptied warehouse (`socle run ... --summary-json`); with
`--engine ballista://...` the normalisation stays in the batch process and only the marts stage
runs on the cluster, so the figure to read is the marts stage. On one machine the cluster can
only add work (plans sent as protobuf, shuffles written to disk and read back over Arrow Flight,
results streamed back to the batch process): the figure says what the distributed path costs,
not what a real cluster of several machines gives. Results: OUT/cluster-<scale>-<timestamp>.json
and .md, also printed.
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
import bench  # noqa: E402  (the benchmark's helpers: exports, binaries, measured nights)


class Cluster:
    """`socle scheduler` and N `socle executor`s on loopback, stopped by `stop()`."""

    def __init__(self, socle: Path, work: Path, executors: int, vcores: int):
        self.port = bench.free_port()
        self.procs: list[subprocess.Popen] = []
        self.logs = []
        self.procs.append(self._spawn(work / "scheduler.log", [
            str(socle), "scheduler", "--port", str(self.port), "--min-executors", str(executors)]))
        for i in range(executors):
            self.procs.append(self._spawn(work / f"executor-{i}.log", [
                str(socle), "executor", "--scheduler", f"127.0.0.1:{self.port}",
                "--flight-port", str(bench.free_port()), "--grpc-port", str(bench.free_port()),
                "--vcores", str(vcores), "--work-dir", str(work / f"executor-{i}")]))
        deadline = time.time() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/readyz", timeout=2) as r:
                    if r.status == 200:
                        break
            except Exception:
                pass
            if any(p.poll() is not None for p in self.procs) or time.time() > deadline:
                self.stop()
                raise bench.BenchError(f"the cluster did not start: see {work}/scheduler.log, executor-*.log")
            time.sleep(0.2)

    def _spawn(self, log: Path, cmd: list[str]) -> subprocess.Popen:
        f = open(log, "wb")
        self.logs.append(f)
        return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=f)

    @property
    def engine(self) -> str:
        return f"ballista://127.0.0.1:{self.port}"

    def peak_rss_bytes(self) -> list[int]:
        """Each process's peak resident memory so far (VmHWM), scheduler first."""
        peaks = []
        for p in self.procs:
            try:
                status = Path(f"/proc/{p.pid}/status").read_text()
                kib = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:"))
                peaks.append(kib * 1024)
            except (OSError, StopIteration, ValueError):
                peaks.append(0)
        return peaks

    def stop(self) -> None:
        for p in self.procs:
            p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        for f in self.logs:
            f.close()


def main() -> int:
    p = bench.night_arguments(__doc__.splitlines()[0])
    p.add_argument("--executors", type=int, default=2)
    a = p.parse_args()
    socle, _ = bench.socle_binaries(a.socle, None)
    exports = bench.prepare_exports(a.scale, a.data, socle)
    work = Path(tempfile.mkdtemp(prefix="socle-cluster-bench-"))
    warehouse = a.data / a.scale / "warehouse-cluster"
    cores = os.cpu_count() or 1
    vcores = max(1, cores // a.executors)
    env = {k: v for k, v in os.environ.items()
           if k not in ("SOCLE_PSEUDO_KEY", "SOCLE_PSEUDO_KEY_FILE", "SOCLE_FAILPOINT")}
    cluster = Cluster(socle, work, a.executors, vcores)
    runs = {"local": [], "cluster": []}
    try:
        for i in range(a.runs):
            for mode in ("local", "cluster"):
                if warehouse.exists():
                    shutil.rmtree(warehouse)
                extra = ["--engine", cluster.engine] if mode == "cluster" else []
                r = bench.measured_night(socle, exports, str(warehouse), work, f"{mode}-{i}", a.pipelines, env, extra)
                runs[mode].append(r)
                print(f"{mode} night {i + 1}: {r['wall_s']:.1f} s, marts {r['stages_s'].get('marts', 0):.1f} s, "
                      f"exit {r['code']}", file=sys.stderr)
        cluster_peaks = cluster.peak_rss_bytes()
    finally:
        cluster.stop()
        if warehouse.exists():
            shutil.rmtree(warehouse)
    med = {k: statistics.median(r["stages_s"].get("marts", 0.0) for r in v) for k, v in runs.items()}
    result = {
        "scale": a.scale,
        "runs": a.runs,
        "executors": a.executors,
        "vcores_per_executor": vcores,
        "machine": bench.machine(socle),
        "nights": runs,
        "marts_median_s": med,
        "ratio_cluster_over_local": med["cluster"] / med["local"] if med["local"] else None,
        "cluster_peak_rss_bytes": {"scheduler": cluster_peaks[0], "executors": cluster_peaks[1:]},
    }
    a.out.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S")
    out = a.out / f"cluster-{a.scale}-{stamp}"
    out.with_suffix(".json").write_text(json.dumps(result, indent=2))
    m = result["machine"]
    lines = [
        f"# The marts stage on Ballista (1 scheduler, {a.executors} executors x {vcores} slots) against one "
        f"process, scale {a.scale}, {a.runs} nights each",
        "",
        f"Machine: {m['cores']} cores, {m['cpu']}, {(m['memory_bytes'] or 0) / bench.GIB:.1f} GiB; "
        f"commit {m['socle_commit']}. Cluster and batch process on the same machine.",
        "",
        "| marts built | marts stage, each night (s) | median (s) | night median (s) | batch peak memory (MiB, max) |",
        "|---|---|---|---|---|",
    ]
    for k in ("local", "cluster"):
        marts = ", ".join(f"{r['stages_s'].get('marts', 0.0):.1f}" for r in runs[k])
        night = statistics.median(r["wall_s"] for r in runs[k])
        peak = max(r["peak_rss_bytes"] for r in runs[k]) / bench.MIB
        label = "in one process" if k == "local" else "on the cluster"
        lines.append(f"| {label} | {marts} | {med[k]:.1f} | {night:.1f} | {peak:.0f} |")
    lines += [
        "",
        f"Cluster / one process, marts stage: **{result['ratio_cluster_over_local']:.2f}x**. "
        f"Peak memory of the scheduler {cluster_peaks[0] / bench.MIB:.0f} MiB, of the executors "
        + ", ".join(f"{b / bench.MIB:.0f}" for b in cluster_peaks[1:]) + " MiB.",
    ]
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
