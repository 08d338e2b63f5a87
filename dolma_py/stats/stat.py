"""`dolma stat` as a stage: one unit per attribute file writes its partial statistics, the driver merges them.

Each unit scans one file (`scan_file`) and writes its exact buckets and sketches to the work directory; units are
resumable like every stage's (markers, run summary). The driver then folds the partials in plan order (sorted
paths), so the report is identical for any process count and on Ray, and writes dolma's report,
`<report>/summaries.jsonl.gz` (one `{name, counts, bins, total, sum}` line per `<key>/score` and
`<key>/length`), plus `quantiles.json` (our sketches' percentiles, span- and document-level) and one SVG
histogram per key under `histograms/`.
"""

from __future__ import annotations

import hashlib
import sys
import tempfile
from contextlib import ExitStack
from dataclasses import dataclass
from functools import partial
from typing import Any, TextIO

import orjson

from dolma_py.config.stat import StatConfig
from dolma_py.exec.runner import ExecOptions, RunSummary, run_stage, summary_file
from dolma_py.exec.units import Unit, UnitResult
from dolma_py.io import paths
from dolma_py.io.atomic import write_bytes
from dolma_py.io.documents import open_read
from dolma_py.io.lock import run_lock
from dolma_py.stats.attributes import DOCUMENT_SERIES, SERIES, FileStats, scan_file

QUANTILES = (0.0, 0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 1.0)
SUMMARIES_FILE = "summaries.jsonl.gz"
QUANTILES_FILE = "quantiles.json"
HISTOGRAMS_DIR = "histograms"


@dataclass(frozen=True)
class StatJob:
    """What every unit needs: the key filter and the bins of its file summaries."""

    regex: str | None
    bins: int


def stat_file(job: StatJob, unit: Unit) -> UnitResult:
    """Scan one attribute file and write its partial statistics (the unit's one output)."""
    (path,) = unit.inputs
    stats = scan_file(path, job.regex)
    write_bytes(unit.outputs[0], stats.to_json(job.bins), compress=False)
    return UnitResult(key=unit.key, documents=stats.documents, counters={"keys": len(stats.keys)})


def plan(attributes: list[str], work: str) -> list[Unit]:
    """One unit per attribute file in sorted order; its partial is named by a hash of its path."""
    files = paths.expand(attributes)  # raises when a pattern matches nothing
    return [
        Unit(key=path, inputs=(path,), outputs=(paths.join(work, f"{_digest(path)}.json"),)) for path in files
    ]


def _digest(path: str) -> str:
    return hashlib.sha256(path.encode()).hexdigest()[:20]


def merge_partials(units: list[Unit]) -> FileStats:
    """Fold the units' partials in plan order."""
    merged = FileStats()
    for unit in units:
        with open_read(unit.outputs[0]) as stream:
            merged.merge(FileStats.from_json(stream.read()))
    return merged


def summaries(stats: FileStats, bins: int) -> list[dict[str, Any]]:
    """dolma's report lines: `<key>/score` then `<key>/length`, keys in order of first appearance."""
    return [
        {"name": f"{key}/{name}", **key_stats.series[name].buckets.summarize(bins)}
        for key, key_stats in stats.keys.items()
        for name in SERIES
    ]


def quantiles(stats: FileStats) -> dict[str, Any]:
    """Per key: documents carrying it, and the sketch percentiles of each span- and document-level series."""
    levels = {"span": SERIES, "document": DOCUMENT_SERIES}
    out: dict[str, Any] = {"quantiles": list(QUANTILES), "documents": stats.documents, "keys": {}}
    for key, key_stats in stats.keys.items():
        entry: dict[str, Any] = {"documents": key_stats.documents}
        for level, names in levels.items():
            entry[level] = {}
            for name in names:
                series = key_stats.series[name]
                series.flush()
                total = series.buckets.total
                entry[level][name] = {
                    "count": total,
                    "mean": series.buckets.sum / total if total else None,
                    "values": series.sketch.quantiles(list(QUANTILES)),
                }
        out["keys"][key] = entry
    return out


def encode_summary(summary: dict[str, Any]) -> bytes:
    """One report line, keys in dolma's order (`name, counts, bins, total, sum`), compact as msgspec writes it."""
    return orjson.dumps({k: summary[k] for k in ("name", "counts", "bins", "total", "sum")})


def write_report(report: str, stats: FileStats, lines: list[dict[str, Any]], histograms: bool = True) -> list[str]:
    """Write summaries.jsonl.gz, quantiles.json and (with `histograms`) one SVG per key; returns the files written."""
    from dolma_py.stats.plots import histogram_svg

    written = [paths.join(report, SUMMARIES_FILE), paths.join(report, QUANTILES_FILE)]
    write_bytes(written[0], b"".join(encode_summary(line) + b"\n" for line in lines))
    write_bytes(written[1], orjson.dumps(quantiles(stats), option=orjson.OPT_INDENT_2) + b"\n", compress=False)
    by_name = {line["name"]: line for line in lines}
    for key in stats.keys if histograms else ():
        panels = [(name, by_name[f"{key}/{name}"], ()) for name in SERIES]
        path = paths.join(report, HISTOGRAMS_DIR, f"{paths.sanitize_name(key)}.svg")
        write_bytes(path, histogram_svg(panels, title=key).encode(), compress=False)
        written.append(path)
    return written


def print_summaries(lines: list[dict[str, Any]], show_total: bool, out: TextIO | None = None) -> None:
    """A short table per series: ten equal-width bins of its histogram (and its total and sum with `total`)."""
    from dolma_py.stats.plots import rebin

    out = out or sys.stdout
    for line in lines:
        print(f"\n{line['name']}", file=out)
        edges, counts = rebin(line["bins"], line["counts"], 10)
        whole = sum(counts) or 1
        for lo, hi, count in zip(edges, edges[1:], counts, strict=False):
            print(f"  [{lo:.4g}, {hi:.4g})  {count / whole:7.2%}  {count:,.0f}", file=out)
        if show_total:
            print(f"  sum {line['sum']:,.6g}   total {line['total']:,}", file=out)


def partials_dir(config: StatConfig) -> str | None:
    """Where units keep their partials: `work_dir.output`, else `<report>/_work`, else None (a temp dir)."""
    return config.work_dir.output or (paths.join(config.report, "_work") if config.report else None)


def run_stat(config: StatConfig, *, progress: bool = True) -> tuple[RunSummary, str | None, list[dict[str, Any]]]:
    """Plan, run the units, merge and write the report; returns the run summary, its path and the report lines."""
    with ExitStack() as stack:
        work = partials_dir(config) or stack.enter_context(tempfile.TemporaryDirectory())
        units = plan(config.attributes, work)
        options = ExecOptions(config.processes, config.ray_address, config.overwrite, progress)
        where = summary_file(config.report or work, "stat")
        if config.report:  # the report's files are written after the stage: hold the report directory's lock for both
            stack.enter_context(run_lock([where], "stat"))
        summary = run_stage("stat", units, partial(stat_file, StatJob(config.regex, config.bins)), options, where)
        if not summary.ok:
            return summary, where, []
        stats = merge_partials(units)
        lines = summaries(stats, config.bins)
        if config.report:
            write_report(config.report, stats, lines, config.histograms)
        return summary, where, lines
