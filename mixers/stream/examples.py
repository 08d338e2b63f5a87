"""Examples for `dolma report`: a few documents each mix rule dropped and a few it kept, with marked spans.

Each stream's documents are read with their attributes, in plan order, and judged by the stream's own compiled
filter (`DocFilter.drop_reason`), until every rule has its examples or `scan_documents` were read. The spans
shown are those of the attributes a rule's expression names, so a reader sees why the rule fired.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from dolma_py.config.mix import MixConfig, StreamConfig
from dolma_py.io.storage import exists
from dolma_py.stats.gather import MixStream, excerpt, read_json, rule_thresholds
from mixers.stream.filters import DocFilter
from mixers.stream.pipeline import plan_stream
from mixers.stream.process import merge_attributes, read_stream_documents
from mixers.stream.reader import AttributeFile

_KEY = re.compile(r"[A-Za-z0-9_]+")


def _rules(stream: StreamConfig) -> dict[str, str]:
    rules: dict[str, str] = {}
    if stream.filter is not None:
        rules.update({f"include[{i}]": e for i, e in enumerate(stream.filter.include)})
        rules.update({f"exclude[{i}]": e for i, e in enumerate(stream.filter.exclude)})
    rules.update({f"span_replacement[{i}]": r.span for i, r in enumerate(stream.span_replacement)})
    return rules


def _marked(doc: dict[str, Any], expression: str) -> list[tuple[int, int, float, str]]:
    """The spans (start, end, score, key) of every attribute whose key appears in `expression`."""
    attributes = doc.get("attributes") or {}
    words = set(_KEY.findall(expression))
    return [(int(s), int(e), float(v), key) for key, spans in attributes.items() if key in words
            for s, e, v in spans or ()]


def stream_examples(stream: StreamConfig, config: MixConfig, per_rule: int, chars: int, limit: int) -> MixStream:
    """Read one stream's documents until each rule has `per_rule` dropped examples (and `per_rule` kept)."""
    plan = plan_stream(stream, config)
    rules = _rules(stream)
    thresholds = rule_thresholds(rules)
    for index, replacement in enumerate(stream.span_replacement):
        if replacement.min_score is not None and (key := replacement.span.rsplit(".", 1)[-1]):
            thresholds.setdefault(key, []).append((f"span_replacement[{index}] min_score", replacement.min_score))
    report = read_json(plan.report_path) if exists(plan.report_path) else None
    result = MixStream(stream.name, report, rules, thresholds)
    doc_filter = DocFilter(plan.job.filter, Counter(), fail_on_jq_error=False)
    filter_keys = [key for key in rules if not key.startswith("span_replacement")]
    span_rules = " ".join(r.span for r in stream.span_replacement)
    codec = "infer" if plan.job.infer_input_codec else plan.job.input_codec
    for task in plan.tasks:
        readers = [AttributeFile(path, task.doc_path, codec) for path in task.attribute_paths]
        for line_no, _, doc in read_stream_documents(task.doc_path, codec):
            if result.scanned >= limit or _full(result, filter_keys, per_rule):
                return result
            result.scanned += 1
            if readers:
                merge_attributes(doc, readers, line_no)
            reason = doc_filter.drop_reason(doc) if doc_filter.active else None
            doc_id, text = str(doc.get("id")), doc["text"]
            if reason is None and len(result.kept) < per_rule:
                result.kept.append(excerpt(doc_id, text, _marked(doc, span_rules), chars))
            elif reason is not None and len(result.dropped.setdefault(reason, [])) < per_rule:
                spans = _marked(doc, rules.get(reason, ""))
                result.dropped[reason].append(excerpt(doc_id, text, spans, chars))
    return result


def _full(result: MixStream, rules: list[str], per_rule: int) -> bool:
    return len(result.kept) >= per_rule and all(len(result.dropped.get(rule, [])) >= per_rule for rule in rules)


def mix_examples(config: MixConfig, per_rule: int, chars: int, limit: int) -> list[MixStream]:
    """`stream_examples` for each stream of a mix config, in config order."""
    return [stream_examples(stream, config, per_rule, chars, limit) for stream in config.streams]
