"""The quickstart pipeline: generate the sample corpus, write one config per stage, and run each through the CLI."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import yaml

from dolma_py.errors import DolmaError
from dolma_py.sample_corpus import generate_corpus, write_blocklist


@dataclass(frozen=True)
class Stage:
    """One pipeline step: the `dolma` command and the config it runs with."""

    command: str
    config: dict[str, Any]
    outputs: str


def quickstart_stages(root: str, processes: int) -> list[Stage]:
    """The stages of the quickstart, as configs users can copy (paths are under `root`)."""
    documents = [f"{root}/corpus/documents/*/*.jsonl.gz"]
    tag = {
        "documents": documents,
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
    return [Stage("tag", tag, f"{root}/corpus/attributes/quickstart/")]


def run_quickstart(root: str, processes: int, seed: int) -> None:
    """Generate the corpus, then run every stage from its written config, stopping at the first failure."""
    from dolma_py.cli.main import main

    root = os.path.abspath(root)
    corpus = generate_corpus(f"{root}/corpus", num_files=6, docs_per_file=300, seed=seed)
    write_blocklist(f"{root}/blocklist.txt")
    print(f"sample corpus: {len(corpus)} files under {root}/corpus/documents/")
    os.makedirs(f"{root}/configs", exist_ok=True)
    for stage in quickstart_stages(root, processes):
        config_path = f"{root}/configs/{stage.command}.yaml"
        with open(config_path, "w", encoding="utf-8") as fh:
            yaml.safe_dump(stage.config, fh, sort_keys=False)
        print(f"\n$ dolma -c {config_path} {stage.command}")
        if main(["-c", config_path, stage.command]) != 0:
            raise DolmaError(f"quickstart stage '{stage.command}' failed; see the messages above")
        print(f"outputs: {stage.outputs}")
