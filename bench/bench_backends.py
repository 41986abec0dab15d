"""Gemini and vLLM backends against their wire-level fakes over real loopback HTTP (issue 4 targets).

    python bench/bench_backends.py throughput [--backend gemini vllm] [--fake in out] [--latency 2]
                                   [--concurrency 64] [--items 1280] [--side 512] [--repeat 2] [--rate-429 0.1]
    python bench/bench_backends.py memory [--backend gemini vllm] [--attempts 10000] [--every 1000] [--side 64]
    python bench/bench_backends.py serve --backend vllm     # a fake in the foreground: prints its URL, stops at
                                                            # end of input (Ctrl-D); also --latency, --rate-429

Every attempt is 4 calls in sequence (writer → rewriter → editor → judge), each answered by the fake after
`--latency` s; every role runs at `--concurrency` (the job's per-role setting, so up to 4 × concurrency requests
are in flight). Ideal makespan for N attempts = latency × (ceil(N / concurrency) + 3): the writer needs
ceil(N / c) rounds and the last round still needs 3 more calls. "% of ideal" = ideal makespan / measured one;
"steady" = the completion rate between the 25th and 75th percentile of completions ÷ (concurrency / latency).
`--fake out` runs the fake in its own process (its CPU is not the client's); `in` shares the client's process.
Sources are JPEG crops of scikit-image photos, `--side` px (Flickr sources are JPEG); the fakes edit for real.
Every run uses a fresh workspace under bench/out/backends/ and checks the database afterwards: no attempt may
stay 'running' or 'pending'. CPU ms per attempt (this process; the fake's process with `out`) are printed too:
unlike wall-clock throughput they do not depend on how busy the machine is, and `concurrency / latency × CPU per
attempt` is the CPU the ideal rate needs. `--rate-429 0.1` adds runs where 10% of each role's calls answer 429
with a retry hint of `--retry-after` s. `memory` runs at zero latency and samples RSS, Python heap blocks
(`sys.getallocatedblocks`) and the database size every `--every` attempts.
"""

from __future__ import annotations

import argparse
import io
import math
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out" / "backends"
TYPES = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
ROLES = ("writer", "rewriter", "editor", "judge")
MODELS = {"gemini": dict.fromkeys(ROLES), "vllm": {"writer": "judge", "rewriter": "rewriter", "editor": "editor",
                                                   "judge": "judge"}}
RATE_LIMITED = {"gemini": "rate_limited", "vllm": "429"}


def cpu_s(pid: int | str = "self") -> float:
    """User + system CPU seconds of a process (load-independent, unlike wall-clock throughput on a busy machine)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def sqlite_mb() -> float:
    """Memory SQLite itself holds in this process (page caches of every connection), from sqlite3_memory_used."""
    import _sqlite3
    import ctypes

    used = ctypes.CDLL(_sqlite3.__file__).sqlite3_memory_used
    used.restype = ctypes.c_int64
    return used() / 2**20


def rss_mb(pid: int | str = "self") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


# -- the fake, in this process or in another one ---------------------------------------------------------------


def make_fake(backend: str, latency: float, retry_after: float):
    if backend == "gemini":
        from picobanana.backends.gemini.fake_server import FakeGemini

        return FakeGemini(latency_s=latency, retry_delay=f"{retry_after:g}s")
    from picobanana.backends.vllm.fake_server import FakeVllmServer

    return FakeVllmServer(latency_s=latency, retry_after=f"{retry_after:g}", max_concurrency=1024)


def script_429(fake, backend: str, rate: float, calls_per_role: int) -> None:
    """`rate` of each role's calls answer 429 (seeded), then every call succeeds."""
    if rate <= 0:
        return
    rng = random.Random(7)
    for role in ROLES:
        entries = [RATE_LIMITED[backend] if rng.random() < rate else "ok" for _ in range(calls_per_role)]
        if backend == "gemini":
            fake.script(role, *entries)
        else:
            fake.script(role, entries)


class Fake:
    """The fake server for one run: `where` = "in" (a thread of this process) or "out" (a child process)."""

    def __init__(self, backend: str, where: str, latency: float, rate_429: float, calls: int, retry_after: float):
        self.backend, self.where, self.proc, self.fake = backend, where, None, None
        if where == "in":
            self.fake = make_fake(backend, latency, retry_after)
            script_429(self.fake, backend, rate_429, calls)
            self.fake.start()
            self.url, self.pid = self.fake.url, os.getpid()
        else:
            self.proc = subprocess.Popen(
                [sys.executable, __file__, "serve", "--backend", backend, "--latency", str(latency),
                 "--rate-429", str(rate_429), "--calls", str(calls), "--retry-after", str(retry_after)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            self.url, self.pid = self.proc.stdout.readline().strip(), self.proc.pid
        if backend == "vllm" and not self.url.endswith("/v1"):
            raise RuntimeError(f"the fake did not start: {self.url!r}")

    def close(self) -> None:
        if self.proc:
            self.proc.stdin.close()  # EOF tells `serve` to stop
            self.proc.wait(timeout=30)
        else:
            (self.fake.close if self.backend == "gemini" else self.fake.stop)()


def serve(args: argparse.Namespace) -> None:
    fake = make_fake(args.backend, args.latency, args.retry_after)
    script_429(fake, args.backend, args.rate_429, args.calls)
    fake.start()
    print(fake.url, flush=True)
    sys.stdin.read()
    (fake.close if args.backend == "gemini" else fake.stop)()


# -- the workspace and one job -----------------------------------------------------------------------------------


def photos(n: int, side: int) -> list[bytes]:
    """n distinct JPEG crops (side × 3/4·side) of scikit-image photos."""
    import skimage.data
    from PIL import Image

    bases = [Image.fromarray(getattr(skimage.data, name)()).convert("RGB") for name in ("astronaut", "coffee", "chelsea")]
    out = []
    for i in range(n):
        base = bases[i % len(bases)]
        crop = base.crop((i % 17, i // 17 % 13, base.width - i % 11, base.height - i // 11 % 7))
        buf = io.BytesIO()
        img = crop.resize((side, side * 3 // 4))
        img.paste((i * 37 % 256, i * 91 % 256, i // 256 * 16 % 256), (0, 0, 8, 8))  # distinct bytes per source
        img.save(buf, format="JPEG", quality=90)
        out.append(buf.getvalue())
    return out


def prepare(ws: Path, items: int, side: int) -> tuple[object, float]:
    from picobanana.store import Store
    from picobanana.store.writes import NewSource, ensure_sources

    shutil.rmtree(ws, ignore_errors=True)
    store = Store.open(ws)
    images = photos(math.ceil(items / len(TYPES)), side)
    with store.transaction() as rev:
        ensure_sources(store, [NewSource(uri=f"file:///bench/{i}.jpg", origin="ingest", image_sha256=store.images.put_bytes(
            data, thumbnail=False).sha256) for i, data in enumerate(images)], rev)
    return store, statistics.mean(len(d) for d in images) / 1024


def run_job(backend: str, url: str, ws: Path, items: int, side: int, concurrency: int, timeout: float,
            every: int = 0, fake_pid: int | None = None) -> dict:
    from picobanana.pipeline import JobSpec, create_job
    from picobanana.pipeline import run_job as run
    from picobanana.pipeline.spec import EditMix, RoleSettings

    store, kib = prepare(ws, items, side)
    roles = {r: RoleSettings(backend=backend, concurrency=concurrency, timeout_s=timeout, options=(
        {"base_url": url, "timeout_s": timeout} if backend == "gemini" else {"base_url": url, "model": MODELS["vllm"][r],
                                                                             "timeout_s": timeout})) for r in ROLES}
    job = create_job(store, JobSpec(mix=EditMix(type_ids=TYPES), roles=roles, seed=1, attempts=1))
    finished: list[float] = []
    db = ws / "picobanana.sqlite"

    def sample(done: int) -> tuple[int, float, int, float, float]:
        # RSS; Python heap blocks (a leak of Python objects grows these); database MB (SQLite's page cache,
        # PRAGMA cache_size = 64 MiB, grows with the database until that bound)
        return done, rss_mb(), sys.getallocatedblocks(), db.stat().st_size / 2**20, sqlite_mb()

    samples = [sample(0)]

    def progress(phase: str, done: int, total: int) -> None:
        if done:
            finished.append(time.perf_counter())
            if every and done % every == 0:
                samples.append(sample(done))

    cpu0, fake_cpu0 = cpu_s(), cpu_s(fake_pid) if fake_pid else 0.0
    started = time.perf_counter()
    summary = run(store, job, progress=progress)
    seconds = time.perf_counter() - started
    cpu, fake_cpu = cpu_s() - cpu0, (cpu_s(fake_pid) - fake_cpu0) if fake_pid else 0.0
    statuses = Counter(dict(store.conn.execute(
        "SELECT a.status, COUNT(*) FROM attempts a JOIN edits e ON e.id = a.edit_id WHERE e.job_id = ? "
        "GROUP BY a.status", (job,)).fetchall()))
    store.close()
    return {"seconds": seconds, "attempts": sum(statuses.values()), "statuses": dict(statuses), "kib": kib,
            "finished": [t - started for t in finished], "rss": samples, "rate_limited": summary.rate_limited, "job": summary.status,
            "items": items,
            "cpu_ms": cpu * 1000 / max(1, len(finished)), "fake_cpu_ms": fake_cpu * 1000 / max(1, len(finished)),
            "load": os.getloadavg()[0]}


# -- the reports ---------------------------------------------------------------------------------------------


def steady_rate(finished: list[float]) -> float:
    q1, q3 = len(finished) // 4, 3 * len(finished) // 4
    return (q3 - q1) / (finished[q3] - finished[q1]) if finished[q3] > finished[q1] else float("nan")


def spread(values: list[float], fmt: str = "{:.1%}") -> str:
    shown = " / ".join(fmt.format(v) for v in values)
    return f"{fmt.format(statistics.median(values))} (runs: {shown})" if len(values) > 1 else fmt.format(values[0])


def throughput(args: argparse.Namespace) -> None:
    os.environ.setdefault("GEMINI_API_KEY", "bench-dummy-key")
    lat, c = args.latency, args.concurrency
    n = math.ceil(args.items / len(TYPES)) * len(TYPES)  # whole sources × the 10 types
    ideal_s = lat * (math.ceil(n / c) + len(ROLES) - 1)
    print(f"{n:,} attempts x 4 calls, every call {lat:g} s at the fake, concurrency {c} per role, sources "
          f"{args.side}x{args.side * 3 // 4} JPEG; ideal makespan {lat:g} s x (ceil({n}/{c}) + 3) = {ideal_s:g} s "
          f"= {n / ideal_s:.1f} attempts/s; ideal steady rate {c}/{lat:g} s = {c / lat:.1f} attempts/s")
    for backend in args.backend:
        for where in args.fake:
            for rate in sorted({0.0, args.rate_429}):
                pct, steady, rates, runs = [], [], [], []
                for i in range(args.repeat):
                    fake = Fake(backend, where, lat, rate, n * 2, args.retry_after)
                    try:
                        r = run_job(backend, fake.url, OUT / f"{backend}-{where}", n, args.side, c, args.timeout,
                                    fake_pid=fake.proc.pid if fake.proc else None)
                        assert r["attempts"] == n, r["statuses"]
                    finally:
                        fake.close()
                    runs.append(r)
                    pct.append(ideal_s / r["seconds"])
                    rates.append(r["attempts"] / r["seconds"])
                    steady.append(steady_rate(r["finished"]) / (c / lat))
                    left = {s: k for s, k in r["statuses"].items() if s in ("running", "pending")}
                    print(f"  {backend:6} fake {where:3} 429s {rate:4.0%} run {i + 1}: {r['attempts']:,} attempts in "
                          f"{r['seconds']:.1f} s = {rates[-1]:.1f}/s; job {r['job']}; statuses {r['statuses']}; rate-limit signals "
                          f"{r['rate_limited']}; left running/pending: {sum(left.values())}; "
                          f"source {r['kib']:.0f} KiB; CPU per attempt: this process {r['cpu_ms']:.0f} ms"
                          + (f", fake {r['fake_cpu_ms']:.0f} ms" if where == "out" else " (client + fake)")
                          + f"; load average {r['load']:.1f}", flush=True)
                print(f"{backend} (fake {'in-process' if where == 'in' else 'out-of-process'}), {rate:.0%} 429s: "
                      f"{spread(rates, '{:.1f}')} attempts/s = {spread(pct)} of ideal makespan; steady "
                      f"{spread(steady)} of {c / lat:.0f}/s", flush=True)


def slope(rows: list[tuple], col: int) -> float:
    """Least-squares slope of column `col` per 1,000 attempts."""
    return statistics.linear_regression([row[0] for row in rows], [row[col] for row in rows]).slope * 1000


def memory(args: argparse.Namespace) -> None:
    os.environ.setdefault("GEMINI_API_KEY", "bench-dummy-key")
    for backend in args.backend:
        for where in args.fake:
            fake = Fake(backend, where, args.latency, 0.0, 0, 1.0)
            try:
                r = run_job(backend, fake.url, OUT / f"mem-{backend}-{where}", args.attempts, args.side,
                            args.concurrency, args.timeout, every=args.every)
                fake_rss = rss_mb(fake.pid) if where == "out" else None
            finally:
                fake.close()
            rows = r["rss"][1:] if len(r["rss"]) > 2 else [(0, 0.0, 0, 0.0, 0.0), (1, 0.0, 0, 0.0, 0.0)]
            rows = [(*row, row[1] - row[4]) for row in rows]  # + RSS without SQLite's own memory

            series = ", ".join(f"{row[0]:,}: {row[1]:.0f}" for row in r["rss"])
            blocks = ", ".join(f"{row[2] / 1000:.0f}k" for row in r["rss"])
            dbs = ", ".join(f"{row[3]:.1f}" for row in r["rss"])
            cached = ", ".join(f"{row[4]:.1f}" for row in r["rss"])
            print(f"{backend} fake {where}: {r['attempts']:,} attempts in {r['seconds']:.0f} s, sources "
                  f"{args.side}x{args.side * 3 // 4} JPEG, concurrency {args.concurrency}; statuses {r['statuses']}")
            print(f"  RSS MB after N attempts: {series}")
            print(f"  Python heap blocks: {blocks}\n  database file MB: {dbs}\n  SQLite memory MB: {cached}")
            print(f"  slopes per 1,000 attempts after the first {args.every:,}: RSS {slope(rows, 1):+.2f} MB, Python heap "
                  f"{slope(rows, 2) / 1000:+.1f}k blocks, database {slope(rows, 3):+.2f} MB, SQLite memory "
                  f"{slope(rows, 4):+.2f} MB, RSS without SQLite's memory {slope(rows, 5):+.2f} MB"
                  + (f"; the fake's own RSS at the end {fake_rss:.0f} MB" if fake_rss else ""), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, defaults in (("throughput", {"latency": 2.0, "items": 1280}), ("memory", {"latency": 0.0, "items": 0})):
        p = sub.add_parser(name)
        p.add_argument("--backend", nargs="+", choices=("gemini", "vllm"), default=["gemini", "vllm"])
        p.add_argument("--fake", nargs="+", choices=("in", "out"), default=["in", "out"])
        p.add_argument("--latency", type=float, default=defaults["latency"])
        p.add_argument("--concurrency", type=int, default=64)
        p.add_argument("--side", type=int, default=512 if name == "throughput" else 64)
        p.add_argument("--timeout", type=float, default=60.0)
        p.add_argument("--retry-after", type=float, default=1.0)
        if name == "throughput":
            p.add_argument("--items", type=int, default=1280)
            p.add_argument("--repeat", type=int, default=2)
            p.add_argument("--rate-429", type=float, default=0.0)
        else:
            p.add_argument("--attempts", type=int, default=10_000)
            p.add_argument("--every", type=int, default=1000)
    p = sub.add_parser("serve")
    p.add_argument("--backend", choices=("gemini", "vllm"), required=True)
    p.add_argument("--latency", type=float, default=0.0)
    p.add_argument("--rate-429", type=float, default=0.0)
    p.add_argument("--calls", type=int, default=100_000, help="calls per role that --rate-429 applies to")
    p.add_argument("--retry-after", type=float, default=1.0)
    args = parser.parse_args()
    {"throughput": throughput, "memory": memory, "serve": serve}[args.command](args)


if __name__ == "__main__":
    main()
