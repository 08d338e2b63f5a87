"""Benchmark harness: a cached sample corpus, repeated timed runs with process-tree memory, medians, ratios.

Each run gets a fresh directory whose `documents` is a symlink to the cached corpus, so tools that write
next to their inputs (dolma's `attributes/<experiment>/`) write into that run's directory only. The scripts
share their flags (`bench_parser`), the reference-then-ours runs (`measure_sides`) and the results line.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path

import orjson

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))  # run as `python benchmarks/x.py` even where dolma_py is not installed

from dolma_py import sample_corpus  # noqa: E402
from dolma_py.io.atomic import atomic_dir  # noqa: E402
from dolma_py.io.documents import iter_lines  # noqa: E402
from dolma_py.io.paths import expand  # noqa: E402

BENCH_DIR = REPO_ROOT / ".bench"
REFERENCE_DOLMA = BENCH_DIR / "venvs" / "dolma-1.2.1" / "bin" / "dolma"
_MAX_SAMPLE_INTERVAL_S = 0.5  # one sample costs ~10 ms of CPU: keep it under 2% of a core


@dataclass(frozen=True)
class Corpus:
    """A generated corpus and the totals throughputs are computed from."""

    root: Path
    files: list[str]
    docs: int
    text_bytes: int

    def documents_glob(self, base: Path | None = None) -> str:
        """`<base>/documents/*/*.jsonl.gz`, with `base` defaulting to the corpus root."""
        return str((base or self.root) / "documents" / "*" / "*.jsonl.gz")


def ensure_corpus(size_mb: float, *, seed: int = 0, docs_per_file: int = 1000, processes: int = 2) -> Corpus:
    """Generate the corpus under `.bench/corpus/<size>` once; later calls reuse it.

    The cache is keyed by size and seed and regenerated when `docs_per_file` or the generator's source changes.
    """
    name = f"{size_mb:g}mb" + (f"-seed{seed}" if seed else "")
    root = BENCH_DIR / "corpus" / name
    stats_path = root / "corpus.json"
    generator = hashlib.sha256(Path(sample_corpus.__file__).read_bytes()).hexdigest()[:16]
    if stats_path.exists():
        stats = json.loads(stats_path.read_text())
        if (stats["docs_per_file"] == docs_per_file and stats.get("generator") == generator
                and all(Path(p).exists() for p in stats["files"])):
            return Corpus(root, stats["files"], stats["docs"], stats["text_bytes"])
    print(f"generating a {size_mb:g} MB corpus under {root} ...", flush=True)
    started = time.perf_counter()
    with atomic_dir(root) as tmp:
        sample_corpus.generate_corpus_of_size(
            str(tmp), size_mb=size_mb, docs_per_file=docs_per_file, seed=seed, processes=processes
        )
    files = expand(str(root / "documents" / "*" / "*.jsonl.gz"))
    docs = text_bytes = 0
    for path in files:
        for _, line in iter_lines(path):
            docs += 1
            text_bytes += len(orjson.loads(line)["text"].encode())
    stats = {"size_mb": size_mb, "seed": seed, "docs_per_file": docs_per_file, "generator": generator,
             "files": files, "docs": docs, "text_bytes": text_bytes}
    stats_path.write_text(json.dumps(stats, indent=1))
    print(f"  {len(files)} files, {docs} docs, {text_bytes / 1e6:.1f} MB of text in "
          f"{time.perf_counter() - started:.0f} s", flush=True)
    return Corpus(root, files, docs, text_bytes)


# ---- process-tree memory ------------------------------------------------------------------------------------
def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(b")") + 2:].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    return children


def _tree_memory_kb(root_pid: int) -> tuple[int, int]:
    """(RSS, PSS) in KiB summed over `root_pid` and its descendants; PSS splits pages shared after fork."""
    children = _children_map()
    stack, rss, pss = [root_pid], 0, 0
    while stack:
        pid = stack.pop()
        stack.extend(children.get(pid, ()))
        try:
            with open(f"/proc/{pid}/smaps_rollup", "rb") as fh:
                for line in fh:
                    if line.startswith(b"Rss:"):
                        rss += int(line.split()[1])
                    elif line.startswith(b"Pss:"):
                        pss += int(line.split()[1])
        except OSError:
            continue
    return rss, pss


@dataclass
class Run:
    """One timed execution of a command."""

    wall_s: float
    peak_rss_mb: float
    peak_pss_mb: float
    returncode: int


def run_once(cmd: Sequence[str], *, cwd: Path, log_path: Path) -> Run:
    """Run `cmd`, sampling the process tree's memory (every 0.05 s at first, backing off to 0.5 s).

    stdout and stderr go to `log_path`.
    """
    peak = [0, 0]
    with open(log_path, "wb") as log:
        started = time.perf_counter()
        proc = subprocess.Popen(list(cmd), cwd=cwd, stdout=log, stderr=subprocess.STDOUT)
        done = threading.Event()

        def sample() -> None:
            interval = 0.05
            while not done.wait(interval):
                interval = min(2 * interval, _MAX_SAMPLE_INTERVAL_S)
                rss, pss = _tree_memory_kb(proc.pid)
                peak[0], peak[1] = max(peak[0], rss), max(peak[1], pss)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        returncode = proc.wait()
        wall = time.perf_counter() - started
        done.set()
        sampler.join()
    return Run(wall, peak[0] / 1024, peak[1] / 1024, returncode)


@dataclass
class Measurement:
    """Repeated runs of one command on one corpus, with medians and throughputs."""

    name: str
    runs: list[Run] = field(default_factory=list)
    docs: int = 0
    text_bytes: int = 0
    last_run_dir: Path | None = None
    """The last run's directory, kept for checks of its outputs."""

    @property
    def median_wall_s(self) -> float:
        return statistics.median(r.wall_s for r in self.runs)

    @property
    def median_peak_rss_mb(self) -> float:
        return statistics.median(r.peak_rss_mb for r in self.runs)

    @property
    def median_peak_pss_mb(self) -> float:
        return statistics.median(r.peak_pss_mb for r in self.runs)

    @property
    def docs_per_s(self) -> float:
        return self.docs / self.median_wall_s

    @property
    def mb_per_s(self) -> float:
        return self.text_bytes / 1e6 / self.median_wall_s

    def summary(self) -> dict:
        return {"name": self.name, "runs": [asdict(r) for r in self.runs], "docs": self.docs,
                "text_mb": round(self.text_bytes / 1e6, 3), "median_wall_s": round(self.median_wall_s, 3),
                "median_peak_rss_mb": round(self.median_peak_rss_mb, 1),
                "median_peak_pss_mb": round(self.median_peak_pss_mb, 1),
                "docs_per_s": round(self.docs_per_s, 1), "mb_per_s": round(self.mb_per_s, 3)}


def _run_fresh(name: str, i: int, make_cmd: Callable[[Path], Sequence[str]], corpus: Corpus,
               check: Callable[[Path], None] | None) -> tuple[Run, Path]:
    """Run `make_cmd(run_dir)` once in a fresh `.bench/runs/<name>/r<i>` holding a `documents` link.

    A failing command or `check(run_dir)` raises with the log's tail.
    """
    run_dir = BENCH_DIR / "runs" / name.replace(" ", "_") / f"r{i}"
    shutil.rmtree(run_dir.parent if i == 0 else run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    (run_dir / "documents").symlink_to(corpus.root / "documents", target_is_directory=True)
    log_path = run_dir / "run.log"
    os.sync()  # the previous run's unsynced writes go to disk now, not during (and on the clock of) this one
    run = run_once(make_cmd(run_dir), cwd=run_dir, log_path=log_path)
    if run.returncode != 0:
        tail = log_path.read_text(errors="replace")[-3000:]
        raise RuntimeError(f"{name}: run {i} exited with {run.returncode}; log {log_path}:\n{tail}")
    if check is not None:
        check(run_dir)
    print(f"  {name} run {i}: {run.wall_s:8.2f} s  peak RSS {run.peak_rss_mb:8.1f} MB  "
          f"peak PSS {run.peak_pss_mb:8.1f} MB", flush=True)
    return run, run_dir


def measure_interleaved(
    commands: dict[str, Callable[[Path], Sequence[str]]],
    corpus: Corpus,
    *,
    repeats: int = 3,
    check: Callable[[Path], None] | None = None,
) -> dict[str, Measurement]:
    """Run each named command `repeats` times, taking turns and alternating which goes first (A B, B A, A B ...) so
    that drifting load on a shared machine and a warm page cache fall on every command alike; only the last run's
    directory of each is kept, for inspection."""
    results = {name: Measurement(name, docs=corpus.docs, text_bytes=corpus.text_bytes) for name in commands}
    for i in range(repeats):
        order = list(commands.items())
        for name, make_cmd in order if i % 2 == 0 else reversed(order):
            run, run_dir = _run_fresh(name, i, make_cmd, corpus, check)
            results[name].runs.append(run)
            if results[name].last_run_dir is not None:
                shutil.rmtree(results[name].last_run_dir)
            results[name].last_run_dir = run_dir
    return results


def measure(
    name: str,
    make_cmd: Callable[[Path], Sequence[str]],
    corpus: Corpus,
    *,
    repeats: int = 3,
    check: Callable[[Path], None] | None = None,
) -> Measurement:
    """`repeats` runs of one command (see `measure_interleaved`)."""
    return measure_interleaved({name: make_cmd}, corpus, repeats=repeats, check=check)[name]


def dolma_command(ours: bool) -> list[str]:
    """Our `dolma` (`ours_command`, importing this checkout's packages first) or the reference one
    (`require_reference`, without PYTHONPATH: this checkout's `dolma/` package would shadow dolma 1.2.1's)."""
    if ours:
        return ["env", f"PYTHONPATH={REPO_ROOT}", *ours_command()]
    return ["env", "-u", "PYTHONPATH", str(require_reference())]


def measure_sides(
    name: str,
    make_cmd: Callable[[bool, Path], Sequence[str]],
    corpus: Corpus,
    args: argparse.Namespace,
    *,
    check: Callable[[Path], None] | None = None,
) -> dict[str, Measurement]:
    """Measure the reference and ours, `args.repeats` runs each, taking turns; a side its `--skip-*` flag names is
    left out.

    `make_cmd(ours, run_dir)` gives the command line; the result maps "reference"/"ours" to the side's measurement.
    """
    sides = {side: ours for side, ours in (("reference", False), ("ours", True)) if not getattr(args, f"skip_{side}")}
    commands = {f"{side} {name}": partial(make_cmd, ours) for side, ours in sides.items()}
    measured = measure_interleaved(commands, corpus, repeats=args.repeats, check=check)
    return {side: measured[f"{side} {name}"] for side in sides}


def attributes_check(corpus: Corpus, experiment: str, *also: str) -> Callable[[Path], None]:
    """A `check` for `measure`: one attribute file per documents file under `attributes/<experiment>/`, and the
    files `also` (relative to the run directory) exist."""

    def check(run_dir: Path) -> None:
        written = list((run_dir / "attributes" / experiment).glob("*/*.jsonl.gz"))
        if len(written) != len(corpus.files):
            raise RuntimeError(f"{run_dir}: {len(written)} attribute files for {len(corpus.files)} documents files")
        missing = [name for name in also if not (run_dir / name).exists()]
        if missing:
            raise RuntimeError(f"{run_dir}: {missing[0]} was not written")

    return check


def print_table(measurements: Sequence[Measurement]) -> None:
    """Medians and throughputs, one row per measurement."""
    print(f"\n{'command':<28}{'median s':>10}{'docs/s':>12}{'MB/s':>9}{'peak RSS MB':>13}{'peak PSS MB':>13}")
    for m in measurements:
        print(f"{m.name:<28}{m.median_wall_s:>10.2f}{m.docs_per_s:>12.0f}{m.mb_per_s:>9.2f}"
              f"{m.median_peak_rss_mb:>13.0f}{m.median_peak_pss_mb:>13.0f}")


def print_ratio(sides: dict[str, Measurement]) -> float | None:
    """Print and return ours/reference throughput (> 1 means ours is faster); None unless both sides ran."""
    if len(sides) < 2:
        return None
    ours, reference = sides["ours"], sides["reference"]
    ratio = ours.docs_per_s / reference.docs_per_s
    print(f"\nthroughput ours/reference: {ratio:.2f}x  "
          f"(wall {ours.median_wall_s:.2f} s vs {reference.median_wall_s:.2f} s; "
          f"peak PSS {ours.median_peak_pss_mb:.0f} MB vs {reference.median_peak_pss_mb:.0f} MB)")
    return ratio


def bench_parser(doc: str | None, *, size_mb: float = 200.0) -> argparse.ArgumentParser:
    """The flags of every side-by-side benchmark (corpus size, processes, repeats, sides, results file)."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mb", type=float, default=size_mb, help="uncompressed text in the corpus")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-reference", action="store_true", help="only run ours")
    parser.add_argument("--skip-ours", action="store_true", help="only run the reference")
    parser.add_argument("--results", help="append a JSON line with all numbers to this file")
    return parser


def print_setup(corpus: Corpus, args: argparse.Namespace, what: str) -> None:
    """One line saying what is about to be measured."""
    print(f"corpus: {len(corpus.files)} files, {corpus.docs} docs, {corpus.text_bytes / 1e6:.1f} MB of text; "
          f"{what}; {args.processes} processes; {args.repeats} repeats", flush=True)


def append_results(args: argparse.Namespace, benchmark: str, measurements: Sequence[Measurement],
                   ratio: float | None, **params: object) -> None:
    """Append one JSON line describing this benchmark invocation to `args.results` (when given)."""
    if not args.results:
        return
    params = {"size_mb": args.size_mb, "processes": args.processes, "repeats": args.repeats, **params}
    row = {"benchmark": benchmark, "params": params, "ratio_ours_over_reference": ratio,
           "host": {"machine": platform.machine(), "cpus": os.cpu_count(), "python": platform.python_version()},
           "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "measurements": [m.summary() for m in measurements]}
    with open(args.results, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(row) + "\n")


def ours_command() -> list[str]:
    """Our `dolma` entry point: the console script beside this interpreter, else the module's `main`."""
    script = Path(sys.executable).parent / "dolma"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from dolma_py.cli.main import main; sys.exit(main())"]


def require_reference() -> Path:
    """The reference `dolma` 1.2.1 executable, or exit with how to install it."""
    if not REFERENCE_DOLMA.exists():
        sys.exit(f"reference dolma not found at {REFERENCE_DOLMA}; run benchmarks/setup_reference.sh first")
    return REFERENCE_DOLMA


def append_row(results: Path, benchmark: str, params: dict, outcome: dict) -> None:
    """Append one JSON line for a benchmark whose result is not a timed measurement (a demonstration's figures)."""
    row = {"benchmark": benchmark, "params": params, "results": outcome,
           "host": {"machine": platform.machine(), "cpus": os.cpu_count(), "python": platform.python_version()},
           "time": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    with open(results, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(row) + "\n")
