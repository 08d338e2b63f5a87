"""The quickstart pipeline: generate the sample corpus, write one config per stage, and run each through the CLI.

Every stage's config is written to `<root>/configs/` first, so users can read, copy and rerun exactly what ran.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import yaml

from dolma_py.errors import DolmaError
from dolma_py.sample_corpus import DEFAULT_SOURCES, generate_corpus, write_blocklist

SOURCES = ("web", "wiki", "math")
TOKENIZER_VOCAB = 2048
SEQUENCE_LENGTH = 128


@dataclass(frozen=True)
class Stage:
    """One pipeline step: the config written to `configs/<name>.yaml`, the `dolma` arguments that run it, and its
    outputs."""

    name: str
    config: dict[str, Any]
    argv: list[str]
    outputs: str
    before: Any = field(default=None, compare=False)


WARC_FILES = 6
WARC_RESPONSES = 60


def _warc(root: str, processes: int) -> dict[str, Any]:
    """`--from-warc`: the web source's documents come from a generated WARC sample, licenses tagged on the way."""
    return {
        "documents": [f"{root}/warc/*.warc.gz"],
        "destination": [f"{root}/corpus/documents/web"],
        "source_name": "web",
        "pre": {"taggers": ["cc_re"], "skip": False},
        "processes": processes,
    }


def _write_warc_sample(root: str, seed: int) -> None:
    """The WARC files `--from-warc` starts from, and the wiki and math sources beside them."""
    from dolma_py.warc.sample import write_warc_corpus

    kinds = write_warc_corpus(f"{root}/warc", seed, WARC_FILES, WARC_RESPONSES)
    print(f"sample WARC: {WARC_FILES} files under {root}/warc/ ({', '.join(f'{n} {k}' for k, n in kinds.items())})")


def _tag(root: str, processes: int) -> dict[str, Any]:
    return {
        "documents": [f"{root}/corpus/documents/*/*.jsonl.gz"],
        "experiment": "quickstart",
        "taggers": [
            "char_length_v1",
            "whitespace_tokenizer_v1",
            "c4_v2",
            "gopher_v1",
            "pii_regex_v2",
            "random_number_v1",
            "paragraph_repetitions_v1",
            "code_redpajama_taggers_v1",
            {"name": "url_blocklist_v1", "blocklist_path": f"{root}/blocklist.txt"},
        ],
        "processes": processes,
    }


def _dedupe(root: str, processes: int) -> dict[str, Any]:
    return {
        "documents": [f"{root}/corpus/documents/*/*.jsonl.gz"],
        "dedupe": {
            "name": "dedupe_paragraphs",
            "paragraphs": {"attribute_name": "bff_duplicate_paragraph_spans"},
            "skip_empty": True,
        },
        "bloom_filter": {
            "file": f"{root}/filters/paragraphs.bin",
            "estimated_doc_count": 1_000_000,
            "desired_false_positive_rate": 1e-6,
        },
        "processes": processes,
    }


def _fuzzy_dedupe(root: str, processes: int) -> dict[str, Any]:
    """MinHash-LSH near-duplicate documents (datatrove's parameters), dropped by the mix."""
    return {
        "documents": [f"{root}/corpus/documents/*/*.jsonl.gz"],
        "dedupe": {
            "name": "fuzzy_dedupe",
            "minhash": {"attribute_name": "minhash_duplicate", "ngram_length": 5, "num_bands": 14, "band_size": 8,
                        "seed": 1},
        },
        "processes": processes,
    }


def _mix(root: str, processes: int) -> dict[str, Any]:
    prefix = "quickstart__"
    exclude = [
        f"$.attributes[?(@.{prefix}url_blocklist_v1__url)]",
        f"$.attributes[?(@.{prefix}c4_v2__has_naughty_word)]",
        f"$.attributes[?(@.{prefix}c4_v2__has_lorem_ipsum)]",
        f"$.attributes[?(@.{prefix}gopher_v1__word_count && @.{prefix}gopher_v1__word_count[0][2] < 50)]",
        "$.attributes[?(@.minhash_duplicate && @.minhash_duplicate[0] && @.minhash_duplicate[0][2] >= 1.0)]",
    ]
    streams = []
    for source in SOURCES:
        streams.append(
            {
                "name": source,
                "documents": [f"{root}/corpus/documents/{source}/*.jsonl.gz"],
                "attributes": ["quickstart", "dedupe_paragraphs", "fuzzy_dedupe"],
                "filter": {"exclude": exclude},
                "span_replacement": [
                    {
                        "span": f"$.attributes.{prefix}pii_regex_v2__EMAIL_ADDRESS",
                        "min_score": 0.5,
                        "replacement": " |||EMAIL_ADDRESS||| ",
                    },
                    {"span": "$.attributes.bff_duplicate_paragraph_spans", "min_score": 0.5, "replacement": ""},
                ],
                "output": {
                    "path": f"{root}/mixed/{source}",
                    "max_size_in_bytes": 10_000_000,
                    "discard_fields": ["attributes"],
                    "min_text_length": 50,
                },
            }
        )
    return {"streams": streams, "processes": processes}


def _tokens(root: str, processes: int, source: str) -> dict[str, Any]:
    return {
        "documents": [f"{root}/mixed/{source}/*.gz"],
        "destination": f"{root}/tokens/{source}",
        "tokenizer": {"name_or_path": f"{root}/tokenizer.json", "eos_token_id": 0, "pad_token_id": 1},
        "processes": processes,
        "seed": 0,
        "work_dir": {"output": f"{root}/work/tokens-{source}"},
    }


def _curriculum(root: str) -> dict[str, Any]:
    return {
        "name": "quickstart",
        "sequence_length": SEQUENCE_LENGTH,
        "seed": 42,
        "destination": f"{root}/manifest",
        "sources": {source: {"paths": [f"{root}/tokens/{source}/*.npy"]} for source in SOURCES},
        "validation": {"fraction": 0.05},
        "phases": [
            {"name": "pretrain", "tokens": 160_000, "mix": {"web": 0.8, "wiki": 0.2}},
            {
                "name": "anneal",
                "tokens": 40_000,
                "mix": {"web": 0.4, "wiki": 0.3, "math": 0.3},
                "max_repetition": {"math": 4},
            },
        ],
    }


def _train(root: str) -> dict[str, Any]:
    return {
        "manifest": f"{root}/manifest",
        "out_dir": f"{root}/runs/tiny",
        "seed": 0,
        "log_interval": 20,
        "resume": True,  # a rerun of the quickstart continues from (or stops at) the newest checkpoint
        "model": {"preset": "tiny", "vocab_size": TOKENIZER_VOCAB, "max_seq_len": SEQUENCE_LENGTH},
        "data": {"global_batch_size": 16, "micro_batch_size": 16},
        "optim": {"lr": 3.0e-3},
        "schedule": {"warmup_steps": 10, "decay": "cosine", "anneal_phase": "anneal"},
        "eval": {"interval": 40, "max_instances": 32},
        "checkpoint": {"interval": 1000},
        "system": {"device": "cpu"},
    }


def _report(root: str) -> dict[str, Any]:
    """`dolma report` over every stage's outputs: one HTML page."""
    return {
        "output": f"{root}/report.html",
        "title": "dolma quickstart",
        "documents": [f"{root}/corpus/documents/*/*.jsonl.gz"],
        "attributes": [f"{root}/corpus/attributes/quickstart/*/*.jsonl.gz"],
        "dedupe": [f"{root}/corpus/attributes/dedupe_paragraphs/*/*.jsonl.gz"],
        "mix": [f"{root}/configs/mix.yaml"],
        "tokens": [f"{root}/tokens/{source}" for source in SOURCES],
        "manifest": [f"{root}/manifest"],
        "train": [f"{root}/runs/tiny"],
    }


def _train_tokenizer(root: str) -> None:
    """Train the quickstart's BPE tokenizer on the mixed documents (no download)."""
    from dolma_py.io.documents import read_documents
    from dolma_py.io.paths import expand
    from dolma_py.tokens.train_tokenizer import train_byte_level_bpe

    files = expand([f"{root}/mixed/*/*.gz"])
    texts = (doc.text for path in files for doc in read_documents(path))
    train_byte_level_bpe(texts, TOKENIZER_VOCAB).save(f"{root}/tokenizer.json")
    print(f"tokenizer: {root}/tokenizer.json ({TOKENIZER_VOCAB} ids, trained on the mixed documents)")


def quickstart_stages(root: str, processes: int, *, from_warc: bool = False) -> list[Stage]:
    """The stages of the quickstart, in order, as configs users can copy (paths are under `root`); `from_warc`
    starts with `dolma warc`, extracting the web source from a WARC sample."""
    configs = f"{root}/configs"
    stages = [] if not from_warc else [
        Stage("warc", _warc(root, processes), ["-c", f"{configs}/warc.yaml", "warc"], f"{root}/corpus/documents/web/")
    ]
    stages += [
        Stage(
            "tag", _tag(root, processes), ["-c", f"{configs}/tag.yaml", "tag"], f"{root}/corpus/attributes/quickstart/"
        ),
        Stage(
            "dedupe",
            _dedupe(root, processes),
            ["-c", f"{configs}/dedupe.yaml", "dedupe"],
            f"{root}/corpus/attributes/dedupe_paragraphs/",
        ),
        Stage(
            "dedupe-fuzzy",
            _fuzzy_dedupe(root, processes),
            ["-c", f"{configs}/dedupe-fuzzy.yaml", "dedupe"],
            f"{root}/corpus/attributes/fuzzy_dedupe/",
        ),
        Stage("mix", _mix(root, processes), ["-c", f"{configs}/mix.yaml", "mix"], f"{root}/mixed/"),
    ]
    for index, source in enumerate(SOURCES):
        stages.append(
            Stage(
                f"tokens-{source}",
                _tokens(root, processes, source),
                ["-c", f"{configs}/tokens-{source}.yaml", "tokens"],
                f"{root}/tokens/{source}/",
                before=_train_tokenizer if index == 0 else None,
            )
        )
    stages.append(
        Stage(
            "curriculum", _curriculum(root), ["curriculum", "build", f"{configs}/curriculum.yaml"], f"{root}/manifest/"
        )
    )
    stages.append(Stage("train", _train(root), ["-c", f"{configs}/train.yaml", "train"], f"{root}/runs/tiny/"))
    stages.append(Stage("report", _report(root), ["-c", f"{configs}/report.yaml", "report"], f"{root}/report.html"))
    return stages


def _print_losses(run_dir: str) -> None:
    """The tiny model's logged training and held-out losses."""
    from pathlib import Path

    from dolma_py.train.metrics import read_metrics

    print("\nlosses of the tiny model:")
    for record in read_metrics(Path(run_dir) / "metrics.jsonl"):
        if "loss" in record:
            print(f"  step {record['step']:>4} [{record['phase']}] train loss {record['loss']:.3f}")
        elif "eval" in record:
            per_source = ", ".join(f"{k} {v:.3f}" for k, v in record["eval"].items())
            print(f"  step {record['step']:>4} held-out loss {record['eval_loss']:.3f} ({per_source})")


def run_quickstart(root: str, processes: int, seed: int, *, from_warc: bool = False) -> None:
    """Generate the corpus (with `from_warc`, WARC files for the web source), then run every stage from its
    written config, stopping at the first failure."""
    from dolma_py.cli.main import main

    root = os.path.abspath(root)
    if from_warc:
        _write_warc_sample(root, seed)
        sources = {name: weight for name, weight in DEFAULT_SOURCES.items() if name != "web"}
        corpus = generate_corpus(f"{root}/corpus", num_files=10 - WARC_FILES, docs_per_file=200, seed=seed,
                                 sources=sources)
    else:
        corpus = generate_corpus(f"{root}/corpus", num_files=10, docs_per_file=200, seed=seed)
    write_blocklist(f"{root}/blocklist.txt")
    print(f"sample corpus: {len(corpus)} files under {root}/corpus/documents/")
    os.makedirs(f"{root}/configs", exist_ok=True)
    for stage in quickstart_stages(root, processes, from_warc=from_warc):
        with open(f"{root}/configs/{stage.name}.yaml", "w", encoding="utf-8") as fh:
            yaml.safe_dump(stage.config, fh, sort_keys=False)
        if stage.before is not None:
            stage.before(root)
        print(f"\n$ dolma {' '.join(stage.argv)}", flush=True)
        if main(stage.argv) != 0:
            raise DolmaError(f"quickstart stage '{stage.name}' failed; see the messages above")
        print(f"outputs: {stage.outputs}", flush=True)
    _print_losses(f"{root}/runs/tiny")
    print(f"\nreport: {root}/report.html (open it in a browser)")
