"""`dolma report`: one self-contained HTML page over a pipeline's outputs."""

from __future__ import annotations

import sys

from dolma_py.config.report import ReportConfig

SUMMARY = "one self-contained HTML report over a pipeline's outputs (documents to training runs)"
CONFIG = ReportConfig


def run(config: ReportConfig) -> int:
    from dolma_py.config.loader import load_config
    from dolma_py.config.mix import MixConfig
    from dolma_py.io.atomic import write_bytes
    from dolma_py.stats.report import build_report
    from mixers.stream.examples import mix_examples

    streams = []
    for path in config.mix:
        mix = load_config(MixConfig, path, {})
        streams.extend(mix_examples(mix, config.examples, config.excerpt_chars, config.scan_documents))
    write_bytes(config.output, build_report(config, streams).encode("utf-8"), compress=False)
    print(f"report: {config.output}", file=sys.stderr)
    return 0
