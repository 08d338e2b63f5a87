"""The quickstart pipeline: generate the sample corpus, write one config per stage, and run each through the CLI.

Every stage's config is written to `<root>/configs/` first, so users can read, copy and rerun exactly what ran.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import yaml

from dolma_py.errors import DolmaError
from dolma_py.sample_corpus import generate_corpus, write_blocklist

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


def _train_tokenizer(root: str) -> None:
    """Train the quickstart's BPE tokenizer on the mixed documents (no download)."""
    from dolma_py.io.documents import read_documents
    from dolma_py.io.paths import expand
    from dolma_py.tokens.train_tokenizer import train_byte_level_bpe

    files = expand([f"{root}/mixed/*/*.gz"])
    texts = (doc.text for path in files for doc in read_documents(path))
    train_byte_level_bpe(texts, TOKENIZER_VOCAB).save(f"{root}/tokenizer.json")
    print(f"tokenizer: {root}/tokenizer.json ({TOKENIZER_VOCAB} ids, trained on the mixed documents)")


def quickstart_stages(root: str, processes: int) -> list[Stage]:
    """The stages of the quickstart, in order, as configs users can copy (paths are under `root`)."""
    configs = f"{root}/configs"
    stages = [
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


def run_quickstart(root: str, processes: int, seed: int) -> None:
    """Generate the corpus, then run every stage from its written config, stopping at the first failure."""
    from dolma_py.cli.main import main

    root = os.path.abspath(root)
    corpus = generate_corpus(f"{root}/corpus", num_files=10, docs_per_file=200, seed=seed)
    write_blocklist(f"{root}/blocklist.txt")
    print(f"sample corpus: {len(corpus)} files under {root}/corpus/documents/")
    os.makedirs(f"{root}/configs", exist_ok=True)
    for stage in quickstart_stages(root, processes):
        with open(f"{root}/configs/{stage.name}.yaml", "w", encoding="utf-8") as fh:
            yaml.safe_dump(stage.config, fh, sort_keys=False)
        if stage.before is not None:
            stage.before(root)
        print(f"\n$ dolma {' '.join(stage.argv)}", flush=True)
        if main(stage.argv) != 0:
            raise DolmaError(f"quickstart stage '{stage.name}' failed; see the messages above")
        print(f"outputs: {stage.outputs}", flush=True)
    _print_losses(f"{root}/runs/tiny")
