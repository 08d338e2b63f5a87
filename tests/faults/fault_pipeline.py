"""The pipeline the fault suite breaks: a generated corpus taken through every stage once (the base), and per stage
the `dolma` command line, the outputs it writes and a fresh copy of the base without those outputs (a trial).

Every path is absolute and every trial lives at one fixed path, so outputs that record paths (markers, manifests)
are comparable byte for byte between an uninterrupted run and a killed-then-rerun one.
"""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from dolma_py.quickstart import (
    SEQUENCE_LENGTH,
    TOKENIZER_VOCAB,
    _dedupe,
    _fuzzy_dedupe,
    _mix,
    _tag,
    _tokens,
    _train_tokenizer,
)
from dolma_py.sample_corpus import generate_corpus, write_blocklist

REPO_ROOT = Path(__file__).resolve().parents[2]
DOLMA = str(Path(sys.executable).parent / "dolma")
TINY_TRAIN = REPO_ROOT / "configs" / "train" / "tiny.yaml"


@dataclass(frozen=True)
class StageSpec:
    """One stage: its name, its `dolma` arguments (paths under `root`), and the paths (relative to `root`) it writes."""

    name: str
    argv: tuple[str, ...]
    outputs: tuple[str, ...]

    def command(self) -> list[str]:
        """The full command line."""
        return [DOLMA, *self.argv]


def _dedupe_config(root: str, mode: str) -> dict:
    config = _dedupe(root, 1)
    if mode == "documents":
        config["dedupe"] = {"name": "dedupe_docs", "documents": {"attribute_name": "duplicate_url",
                                                                 "key": "$.metadata.url"}, "skip_empty": True}
    elif mode == "ngrams":
        config["dedupe"] = {"name": "dedupe_ngrams", "paragraphs": {
            "attribute_name": "bff_duplicate_paragraph_spans",
            "by_ngram": {"ngram_length": 13, "stride": 1, "overlap_threshold": 0.8}}, "skip_empty": True}
    config["bloom_filter"] = {"file": f"{root}/filters/{mode}.bin", "estimated_doc_count": 100_000,
                              "desired_false_positive_rate": 1e-4}
    return config


def _curriculum_config(root: str) -> dict:
    return {
        "name": "faults", "sequence_length": SEQUENCE_LENGTH, "seed": 42, "destination": f"{root}/manifest",
        "sources": {s: {"paths": [f"{root}/tokens/{s}/*.npy"]} for s in ("web", "wiki", "math")},
        "validation": {"fraction": 0.05},
        "phases": [
            {"name": "pretrain", "tokens": 20_000, "mix": {"web": 0.8, "wiki": 0.2}},
            {"name": "anneal", "tokens": 6_000, "mix": {"web": 0.4, "wiki": 0.3, "math": 0.3},
             "max_repetition": {"math": 4}},
        ],
    }


def _train_argv(root: str) -> tuple[str, ...]:
    return ("-c", str(TINY_TRAIN), "train", "--manifest", f"{root}/manifest", "--out_dir", f"{root}/run",
            "--resume", "true", "--log_interval", "1", "--model.vocab_size", str(TOKENIZER_VOCAB),
            "--model.max_seq_len", str(SEQUENCE_LENGTH), "--checkpoint.interval", "5", "--eval.interval", "10",
            "--eval.max_instances", "16")


def _configs(root: str, processes: int) -> dict[str, dict]:
    return {
        "tag": _tag(root, processes),
        "dedupe-documents": {**_dedupe_config(root, "documents"), "processes": processes},
        "dedupe-paragraphs": {**_dedupe_config(root, "paragraphs"), "processes": processes},
        "dedupe-ngrams": {**_dedupe_config(root, "ngrams"), "processes": processes},
        "dedupe-fuzzy": _fuzzy_dedupe(root, processes),
        "mix": _mix(root, processes),
        **{f"tokens-{s}": _tokens(root, processes, s) for s in ("web", "wiki", "math")},
        "curriculum": _curriculum_config(root),
    }


_OUTPUTS = {
    "tag": ("corpus/attributes/quickstart",),
    "dedupe-documents": ("corpus/attributes/dedupe_docs", "filters/documents.bin", "filters/documents.bin.meta.json",
                         "filters/documents.bin.state"),
    "dedupe-paragraphs": ("corpus/attributes/dedupe_paragraphs", "filters/paragraphs.bin",
                          "filters/paragraphs.bin.meta.json", "filters/paragraphs.bin.state"),
    "dedupe-ngrams": ("corpus/attributes/dedupe_ngrams", "filters/ngrams.bin", "filters/ngrams.bin.meta.json",
                      "filters/ngrams.bin.state"),
    "dedupe-fuzzy": ("corpus/attributes/fuzzy_dedupe",),  # its work files are in there, under _minhash/
    "mix": ("mixed",),
    "tokens-web": ("tokens/web", "work/tokens-web"),
    "curriculum": ("manifest",),
    "train": ("run",),
}
STAGES = tuple(_OUTPUTS)
"""The stages every fault is tried on, in pipeline order (tokens: the web source, the largest)."""


def stage_specs(root: str) -> dict[str, StageSpec]:
    """Every stage of the pipeline rooted at `root`, by name."""
    specs = {}
    for name, outputs in _OUTPUTS.items():
        if name == "train":
            argv = _train_argv(root)
        elif name == "curriculum":
            argv = ("curriculum", "build", f"{root}/configs/curriculum.yaml")
        else:
            argv = ("-c", f"{root}/configs/{name}.yaml", name.split("-")[0])
        specs[name] = StageSpec(name, argv, outputs)
    return specs


def run_checked(cmd: list[str], *, env: dict[str, str] | None = None) -> float:
    """Run `cmd` to completion (raising with its stderr when it fails); its wall time in seconds."""
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited with {proc.returncode}:\n{proc.stderr[-3000:]}")
    return time.perf_counter() - started


def build_base(work: Path, *, num_files: int, docs_per_file: int, seed: int = 0) -> Path:
    """Generate a corpus and run every stage on it once, at `trial_root(work)`, then park it at `work/base` (kept
    when `work/base/.complete` exists). Its outputs are every stage's uninterrupted reference."""
    base = work / "base"
    if (base / ".complete").exists():
        return base
    root = trial_root(work)
    shutil.rmtree(base, ignore_errors=True)
    shutil.rmtree(root, ignore_errors=True)
    generate_corpus(f"{root}/corpus", num_files=num_files, docs_per_file=docs_per_file, seed=seed)
    write_blocklist(f"{root}/blocklist.txt")
    (root / "configs").mkdir(parents=True)
    for name, config in _configs(str(root), 1).items():
        (root / "configs" / f"{name}.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    specs = stage_specs(str(root))
    for name in ("tag", "dedupe-documents", "dedupe-paragraphs", "dedupe-ngrams", "dedupe-fuzzy", "mix"):
        run_checked(specs[name].command())
    _train_tokenizer(str(root))
    for source in ("web", "wiki", "math"):
        run_checked([DOLMA, "-c", f"{root}/configs/tokens-{source}.yaml", "tokens"])
    run_checked(specs["curriculum"].command())
    run_checked(specs["train"].command())
    root.rename(base)
    (base / ".complete").write_text("")
    return base


def trial_root(work: Path) -> Path:
    """The one path every trial (and the base, while it is built) lives at."""
    return work / "trial"


def make_trial(base: Path, trial: Path, stage: StageSpec) -> None:
    """`trial` becomes a copy of `base` without `stage`'s outputs (mtimes kept, so markers of inputs match)."""
    shutil.rmtree(trial, ignore_errors=True)
    skip = {os.path.normpath(base / out) for out in stage.outputs}
    shutil.copytree(base, trial, ignore=lambda d, names: [n for n in names if os.path.join(d, n) in skip],
                    symlinks=True)


def count_lines(path: Path) -> int:
    """Lines of a (gzip) JSON-lines file."""
    data = path.read_bytes()
    return (gzip.decompress(data) if path.suffix == ".gz" else data).count(b"\n")


def ci_base(basetemp: Path) -> tuple[Path, Path]:
    """The CI suite's work directory and base (4 files of 100 documents), built once per test session."""
    work = basetemp / "faults"
    return work, build_base(work, num_files=4, docs_per_file=100)
