"""`dolma tokens`: tokenize documents into OLMo-readable token shards (`.npy` + `.csv.gz`)."""

from __future__ import annotations

import sys

from dolma_py.config.tokens import TokensConfig

SUMMARY = "tokenize documents into shuffled .npy token shards with .csv.gz indexes"
CONFIG = TokensConfig
WORKER_MODULES = ("dolma_py.tokens.pipeline",)


def run(config: TokensConfig) -> int:
    from dolma_py.exec.runner import summary_file
    from dolma_py.io.paths import expand
    from dolma_py.tokens.pipeline import RECORD_NAME, run_tokens

    if config.dryrun:
        for path in expand(config.documents):
            print(path)
        print(f"-> {config.destination}/part-00000-*.npy", file=sys.stderr)
        return 0
    result = run_tokens(config)
    print(
        f"tokens: {len(result.shards)} shards ({result.dtype}) in {result.destination}: "
        f"{result.documents:,} documents, "
        f"{result.tokens:,} tokens; {result.empty_documents:,} empty documents skipped, {result.bad_lines} bad lines",
        file=sys.stderr,
    )
    print(f"  run record: {result.destination}/{RECORD_NAME}", file=sys.stderr)
    print(f"  summary: {summary_file(result.destination, 'tokens')}", file=sys.stderr)
    return 0
