"""The full fault-injection run: every stage SIGKILLed at >= 20 seeded random moments, bad input, disk full,
concurrent runs, S3 outages and training crash points; prints a table per fault and appends one row per stage to
the results file (figures for docs/reliability.md).

The code is the CI suite's (tests/faults/); this script runs it with more kills, a larger corpus and the 200 MB line.
Run: .venv/bin/python benchmarks/faults.py --results benchmarks/results.jsonl
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(REPO_ROOT / "tests" / "faults"))

from fault_concurrency import concurrent_runs  # noqa: E402
from fault_disk import disk_full  # noqa: E402
from fault_inputs import cases, outcomes_as_dicts, reader_stages, try_case  # noqa: E402
from fault_kills import kill_stage  # noqa: E402
from fault_pipeline import STAGES, build_base, stage_specs, trial_root  # noqa: E402
from fault_s3 import RestartableS3, s3_outage  # noqa: E402
from fault_train import crash_and_resume  # noqa: E402

from benchmarks.common import BENCH_DIR, append_results  # noqa: E402

READER_STAGE = {"tag": "tag", "dedupe-documents": "dedupe-documents", "dedupe-paragraphs": "dedupe-paragraphs",
                "dedupe-ngrams": "dedupe-ngrams", "mix": "mix", "tokens-web": "tokens"}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--kills", type=int, default=20, help="SIGKILLs per stage")
    parser.add_argument("--files", type=int, default=6, help="files of the generated corpus")
    parser.add_argument("--docs-per-file", type=int, default=100)
    parser.add_argument("--huge-mb", type=int, default=200, help="text in the bad-input corpus's one huge line")
    parser.add_argument("--s3-outages", type=int, default=3, help="short S3 outages (plus one longer than retries)")
    parser.add_argument("--work", type=Path, default=BENCH_DIR / "faults")
    parser.add_argument("--results", help="append one JSON line per stage to this file")
    return parser


def _say(text: str) -> None:
    print(text, flush=True)


def run_kills(base: Path, work: Path, args: argparse.Namespace) -> dict[str, dict]:
    specs = stage_specs(str(trial_root(work)))
    reports = {}
    for name in STAGES:
        report = kill_stage(base, work, specs[name], kills=args.kills, seed=args.seed).as_dict()
        reports[name] = report
        moments = ", ".join(f"{k['delay_s']:.3f}" for k in report["kills"])
        _say(f"kill {name:18} {report['kills_survived']}/{report['kills_tried']} survived "
             f"({report['kills_hit_live_run']} hit a live run; run takes {report['duration_s']:.2f} s), "
             f"bytes differing {report['bytes_lost']}; moments (s): {moments}")
        for kill in report["kills"]:
            if kill["rerun_rc"] != 0 or kill["bytes_lost"]:
                _say(f"  not survived: kill at {kill['delay_s']} s -> rerun rc {kill['rerun_rc']}, "
                     f"differing {kill['differing'][:4]}")
    return reports


def run_inputs(base: Path, work: Path, args: argparse.Namespace) -> dict[str, list[dict]]:
    outcomes: dict[str, list[dict]] = {}
    for stage in reader_stages(base / "tokenizer.json"):
        results = [try_case(stage, case, work / "bad") for case in cases(args.huge_mb)]
        outcomes[stage.name] = outcomes_as_dicts(results)
        for o in results:
            _say(f"bad input {stage.name:18} {o.case:30} {'ok' if o.ok else 'NOT OK'} strict rc {o.strict_rc}"
                 f"{'' if o.ok else ': ' + '; '.join(o.problems)}")
    return outcomes


def run_train_crashes(base: Path, work: Path) -> list[dict]:
    stage = stage_specs(str(trial_root(work)))["train"]
    points = [("checkpoint", n) for n in (2, 4, 8)] + [("metrics", n) for n in (3, 7, 20)]
    results = []
    for point, nth in points:
        result = crash_and_resume(base, work, stage, point, nth).as_dict()
        results.append(result)
        _say(f"train crash {point:10} #{nth:<3} survived {result['survived']} (same loss curve "
             f"{result['same_loss_curve']}, differing {result['differing'][:3]})")
    return results


def run_s3(base: Path, args: argparse.Namespace) -> list[dict]:
    rng = random.Random(f"{args.seed}:s3")
    plan = [(round(rng.uniform(0.0, 0.3), 3), round(rng.uniform(0.5, 3.0), 2)) for _ in range(args.s3_outages)]
    plan.insert(0, (0.0, 1.0))  # the CI case: the run frozen while the server stops, right after its first lock
    plan.append((0.05, None))  # longer than smart_open's retries: restarted once the run has given up
    s3 = RestartableS3()
    results = []
    try:
        for index, (stop_after, outage) in enumerate(plan):
            result = s3_outage(s3, base / "corpus", f"outage-{index}", stop_after, outage).as_dict()
            results.append(result)
            _say(f"s3 outage after {stop_after}s for {outage or 'the whole run'}: rc {result['rc']}, survived "
                 f"{result['survived']} {result['problems']}")
    finally:
        s3.close()
    return results


def _host() -> dict:
    return {"uname": " ".join(platform.uname()), "nproc": os.cpu_count(),
            "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "commit": subprocess.run(["git", "-C", str(REPO_ROOT), "rev-parse", "--short", "HEAD"],
                                     capture_output=True, text=True).stdout.strip()}


def _rows(kills: dict, inputs: dict, concurrency: dict, disk: dict, train: list, s3: list) -> dict[str, dict]:
    rows = {}
    for name in STAGES:
        faults = [concurrency[name]["survived"], disk[name]["survived"]]
        if name == "train":
            faults += [r["survived"] for r in train]
        if name == "tag":
            faults += [r["survived"] for r in s3]
        bad = inputs.get(READER_STAGE.get(name, ""), [])
        rows[name] = {"kills_tried": kills[name]["kills_tried"], "kills_survived": kills[name]["kills_survived"],
                      "kills_hit_live_run": kills[name]["kills_hit_live_run"],
                      "faults_tried": len(faults), "faults_survived": sum(faults),
                      "bad_input_cases": len(bad), "bad_input_ok": sum(o["ok"] for o in bad),
                      "bytes_lost": kills[name]["bytes_lost"] + disk[name]["bytes_lost"]}
    return rows


def main() -> None:
    args = _parser().parse_args()
    started = time.perf_counter()
    work = args.work
    base = build_base(work, num_files=args.files, docs_per_file=args.docs_per_file, seed=args.seed)
    _say(f"base pipeline under {base} ({args.files} files x {args.docs_per_file} documents)")
    kills = run_kills(base, work, args)
    specs = stage_specs(str(trial_root(work)))
    concurrency = {name: concurrent_runs(base, work, specs[name]).as_dict() for name in STAGES}
    for name, result in concurrency.items():
        _say(f"concurrent {name:18} second run refused {result['second_refused']}, survived {result['survived']}")
    disk = {name: disk_full(base, work, specs[name]).as_dict() for name in STAGES}
    for name, result in disk.items():
        _say(f"disk full ({result['mode']}) {name:18} survived {result['survived']} {result['problems']} "
             f"| {result['message'][:160]}")
    train = run_train_crashes(base, work)
    s3 = run_s3(base, args)
    inputs = run_inputs(base, work, args)
    rows = _rows(kills, inputs, concurrency, disk, train, s3)
    host = _host()
    _say(f"\n{'stage':<18}{'kills':>10}{'faults':>9}{'bad input':>11}{'bytes lost':>12}")
    for name, row in rows.items():
        _say(f"{name:<18}{row['kills_survived']:>5}/{row['kills_tried']:<4}{row['faults_survived']:>5}/"
             f"{row['faults_tried']:<3}{row['bad_input_ok']:>6}/{row['bad_input_cases']:<4}{row['bytes_lost']:>12}")
    _say(f"machine: {host['uname']}; nproc {host['nproc']}; {host['date']}; {time.perf_counter() - started:.0f} s")
    details = {"host": host, "seed": args.seed, "rows": rows, "kills": kills, "concurrency": concurrency,
               "disk": disk, "train_crashes": train, "s3": s3, "bad_input": inputs}
    (work / "faults-report.json").write_text(json.dumps(details, indent=1))
    _say(f"details: {work / 'faults-report.json'}")
    results = argparse.Namespace(results=args.results, size_mb=0.0, processes=1, repeats=1)
    for name, row in rows.items():
        append_results(results, f"faults-{name}", [], None, stage=name, seed=args.seed, files=args.files,
                       docs_per_file=args.docs_per_file, huge_line_mb=args.huge_mb, uname=host["uname"],
                       nproc=host["nproc"], **row)


if __name__ == "__main__":
    main()
