"""`dolma report`: one self-contained HTML page over any subset of a pipeline's outputs.

The page holds no script, no external font, image or style sheet: plots are matplotlib SVG inlined at build time
(`plots.py`), styles are one inline sheet with a print variant. The same outputs give the same bytes (sorted
inputs, fixed SVG ids, no timestamps). Sections appear for the inputs given: documents per source through the
stages, mix drops per rule with examples, attribute histograms with the mix thresholds on them, dedupe rates and the
filter's false-positive rate, tokens per source, the curriculum's requested against realized mix, loss curves.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from dolma_py.config.report import ReportConfig
from dolma_py.stats import gather
from dolma_py.stats.plots import bars_svg, histogram_svg, lines_svg
from dolma_py.stats.stat import QUANTILES, quantiles, summaries

CSS = """
:root { --ink: #222; --muted: #666; --rule: #ddd; --mark: #ffe08a; --drop: #b3261e; --keep: #1b6e35; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink);
       max-width: 1100px; margin: 0 auto; padding: 1rem 1.5rem 3rem; }
h3, p, .example .id { overflow-wrap: anywhere; }
h1 { font-size: 1.6rem; margin: .5rem 0 0; } h2 { border-bottom: 2px solid var(--rule); padding-bottom: .2rem;
       margin-top: 2.2rem; } h3 { margin: 1.4rem 0 .4rem; font-size: 1.05rem; }
nav ol { columns: 2; padding-left: 1.2rem; } .muted { color: var(--muted); }
table { border-collapse: collapse; margin: .5rem 0 1rem; font-variant-numeric: tabular-nums; display: block;
        max-width: 100%; overflow-x: auto; }
th, td { border-bottom: 1px solid var(--rule); padding: .25rem .6rem; text-align: right; vertical-align: top;
         white-space: nowrap; }
td.text { white-space: normal; min-width: 16em; }
th:first-child, td:first-child, td.text { text-align: left; }
code { font-size: .85em; background: #f4f4f4; padding: 0 .2em; word-break: break-all; }
figure { margin: .4rem 0 1rem; overflow-x: auto; } figure svg { max-width: 100%; height: auto; }
.examples { display: grid; grid-template-columns: 1fr; gap: .4rem; }
.example { border-left: 4px solid var(--rule); padding: .3rem .6rem; background: #fafafa; white-space: pre-wrap;
           overflow-wrap: anywhere; font-size: .9rem; }
.example.dropped { border-color: var(--drop); } .example.kept { border-color: var(--keep); }
.example .id { display: block; font-size: .75rem; color: var(--muted); }
mark { background: var(--mark); padding: 0 .1em; } mark .key { font-size: .7em; color: var(--muted); }
.gauge { position: relative; height: 14px; width: min(320px, 60vw); border-radius: 7px;
         background: linear-gradient(90deg, #2a9d4b, #e9c46a 70%, #d1495b); display: inline-block;
         vertical-align: middle; }
.gauge span { position: absolute; top: -3px; width: 3px; height: 20px; background: var(--ink); }
@media (max-width: 700px) { nav ol { columns: 1; } body { padding: .5rem; } }
@media print { body { max-width: none; font-size: 11px; } nav { display: none; } table { display: table; }
  section { break-inside: avoid-page; } figure, table, .example { break-inside: avoid; }
  a { color: inherit; text-decoration: none; } }
"""


DROP_REASONS = {
    "include": "no include rule matched",
    "min_text_length": "text shorter than output.min_text_length after span replacement",
    "sample": "sampled out",
}
"""What the mix report's drop keys that are not rules mean."""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _n(value: float | int | None, digits: int = 4) -> str:
    if value is None:
        return "–"
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer() and abs(value) < 1e15):
        return f"{int(value):,}"
    return f"{value:.{digits}g}"


def _pct(part: float, whole: float) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "–"


def _table(header: Iterable[str], rows: Iterable[Iterable[Any]], text_columns: tuple[int, ...] = ()) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(
            f'<td class="text">{cell}</td>' if i in text_columns else f"<td>{cell}</td>" for i, cell in enumerate(row)
        ) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _figure(svg: str, caption: str) -> str:
    label = _e(caption)
    return f'<figure role="img" aria-label="{label}">{svg}<figcaption class="muted">{label}</figcaption></figure>'


@dataclass
class Page:
    """Sections in order: (anchor, title, HTML body)."""

    title: str
    sections: list[tuple[str, str, str]] = field(default_factory=list)

    def add(self, anchor: str, title: str, body: str) -> None:
        self.sections.append((anchor, title, body))

    def render(self) -> str:
        toc = "".join(f'<li><a href="#{a}">{_e(t)}</a></li>' for a, t, _ in self.sections)
        body = "".join(f'<section id="{a}"><h2>{_e(t)}</h2>{b}</section>' for a, t, b in self.sections)
        return (
            '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{_e(self.title)}</title><style>{CSS}</style></head><body>"
            f"<header><h1>{_e(self.title)}</h1><p class=\"muted\">generated by dolma_py's <code>dolma report</code>"
            f"</p></header><nav><ol>{toc}</ol></nav><main>{body}</main></body></html>\n"
        )


def _example(example: gather.Example, kind: str) -> str:
    parts = []
    for text, key in example.segments:
        if key is None:
            parts.append(_e(text))
        else:
            parts.append(f'<mark title="{_e(key)}">{_e(text)}<span class="key"> [{_e(key)}]</span></mark>')
    before = "… " if example.cut_before else ""
    after = " …" if example.cut_after else ""
    scores = "".join(f" · <code>{_e(key)}</code> = {_n(score)}" for key, score in example.scores)
    return (f'<div class="example {kind}"><span class="id">{kind} · id {_e(example.doc_id)}{scores}</span>'
            f"{before}{''.join(parts)}{after}</div>")


def _flow_section(
    documents: gather.SourceCounts | None, mixes: list[gather.MixStream], tokens: dict[str, dict[str, int]]
) -> str:
    names = sorted(set(documents.documents if documents else ()) | {m.name for m in mixes} | set(tokens))
    mix_by = {m.name: m.report or {} for m in mixes}
    rows = []
    for name in names:
        report = mix_by.get(name, {})
        rows.append([
            _e(name),
            _n(documents.documents.get(name)) if documents and name in documents.documents else "–",
            _n(documents.bytes.get(name)) if documents and name in documents.bytes else "–",
            _n(report.get("documents_out")) if report else "–",
            _n(report.get("bytes_out")) if report else "–",
            _n(tokens[name]["tokens"]) if name in tokens else "–",
        ])
    body = _table(["source", "documents", "bytes", "after mix: documents", "after mix: bytes", "tokens"], rows)
    series = {}
    if documents:
        series["documents"] = [documents.documents.get(n, 0) for n in names]
    if mixes:
        series["after mix"] = [mix_by.get(n, {}).get("documents_out", 0) for n in names]
    if tokens:
        series["tokenized documents"] = [tokens.get(n, {}).get("documents", 0) for n in names]
    if series and names:
        body += _figure(bars_svg(names, series, ylabel="documents"), "documents per source through the stages")
    return body + (
        '<p class="muted">Bytes are JSON line sizes, as the mix reports count them. Sources are documents\' '
        "<code>source</code> field, mix stream names and token destination names.</p>"
    )


def _mix_section(streams: list[gather.MixStream]) -> str:
    out = []
    for stream in streams:
        report = stream.report or {}
        out.append(f"<h3>stream <code>{_e(stream.name)}</code></h3>")
        if report:
            out.append(_table(
                ["files", "documents in", "documents out", "kept", "bytes in", "bytes out", "span-replaced docs"],
                [[_n(report.get("files")), _n(report.get("documents_in")), _n(report.get("documents_out")),
                  _pct(report.get("documents_out", 0), report.get("documents_in", 0)), _n(report.get("bytes_in")),
                  _n(report.get("bytes_out")), _n(report.get("span_replaced_documents"))]],
            ))
        else:
            out.append('<p class="muted">No mix report found for this stream (has it run?).</p>')
        dropped = report.get("dropped", {})
        keys = sorted(set(dropped) | set(stream.dropped) | {k for k in stream.rules if not k.startswith("span")})
        rows = [[f"<code>{_e(k)}</code>",
                 f"<code>{_e(stream.rules[k])}</code>" if k in stream.rules
                 else f'<span class="muted">{_e(DROP_REASONS.get(k, ""))}</span>',
                 _n(dropped.get(k, 0)), _pct(dropped.get(k, 0), report.get("documents_in", 0))] for k in keys]
        if rows:
            out.append(_table(["rule", "expression", "dropped", "of input"], rows, text_columns=(1,)))
        for key in keys:
            examples = stream.dropped.get(key, [])
            if examples:
                out.append(f"<h4>dropped by <code>{_e(key)}</code></h4><div class=\"examples\">"
                           + "".join(_example(x, "dropped") for x in examples) + "</div>")
        if stream.kept:
            out.append("<h4>kept</h4><div class=\"examples\">" + "".join(_example(x, "kept") for x in stream.kept)
                       + "</div>")
        out.append(f'<p class="muted">Examples from the first {stream.scanned:,} documents of the stream; '
                   "marked text is the spans of the attributes the rule names (document-level scores are listed "
                   "beside the id).</p>")
    return "".join(out)


def _attributes_section(stats: Any, bins: int, thresholds: dict[str, list[tuple[str, float]]]) -> str:
    lines = {line["name"]: line for line in summaries(stats, bins)}
    table = quantiles(stats)
    shown = (0.01, 0.1, 0.5, 0.9, 0.99)
    index = [QUANTILES.index(q) for q in shown]
    out = [f'<p class="muted">{stats.documents:,} attribute lines. Dashed lines: thresholds of the mix rules.</p>']
    for key in stats.keys:
        entry = table["keys"][key]
        out.append(f"<h3><code>{_e(key)}</code></h3>")
        panels = [("span score", lines[f"{key}/score"], thresholds.get(key, ())),
                  ("span length", lines[f"{key}/length"], ())]
        out.append(_figure(histogram_svg(panels), f"{key}: span scores and lengths"))
        rows = []
        for level, name in (("span", "score"), ("span", "length"), ("document", "spans"), ("document", "covered")):
            series = entry[level][name]
            rows.append([f"{level} {name}", _n(series["count"]), _n(series["mean"])]
                        + [_n(series["values"][i]) for i in index])
        out.append(_table(["series", "count", "mean", *[f"p{round(q * 100)}" for q in shown]], rows))
    return "".join(out)


def _gauge(rate: float) -> str:
    """Position of a false-positive rate on a log scale from 1e-30 (left) to 1 (right)."""
    position = 0.0 if rate <= 0 else min(1.0, max(0.0, (math.log10(rate) + 30) / 30))
    return (f'<span class="gauge" role="meter" aria-valuenow="{rate:.3g}" aria-label="expected false-positive rate">'
            f'<span style="left:{100 * position:.1f}%"></span></span>')


def _dedupe_section(rates: gather.DedupeRates) -> str:
    groups = sorted(rates.documents)
    rows = [[_e(g), _n(rates.documents[g]), _n(rates.flagged[g]), _pct(rates.flagged[g], rates.documents[g]),
             _n(rates.spans[g])] for g in groups]
    out = [_table(["source", "documents", "with duplicates", "rate", "duplicate spans"], rows)]
    if groups:
        out.append(_figure(bars_svg(groups, {"with duplicates": [rates.flagged[g] for g in groups],
                                             "unique": [rates.documents[g] - rates.flagged[g] for g in groups]},
                                    ylabel="documents", stacked=True), "documents with duplicates per source"))
    for path, summary in rates.summaries:
        counters, gauges = summary.get("counters", {}), summary.get("gauges", {})
        fpr = gauges.get("bloom_filter_expected_false_positive_rate")
        duplicates, items = counters.get("duplicate_items", 0), counters.get("items", 0)
        out.append(f"<p>Run summary <code>{_e(path)}</code>: {_n(duplicates)} duplicate of {_n(items)} items "
                   f"({_pct(duplicates, items)}).</p>")
        if fpr is not None:
            out.append(f"<p>Bloom filter expected false-positive rate: <strong>{fpr:.3g}</strong> {_gauge(fpr)} "
                       f'<span class="muted">(log scale, 1e-30 to 1; {_n(gauges.get("bloom_filter_distinct_keys"))} '
                       "distinct keys)</span></p>")
    return "".join(out)


def _tokens_section(tokens: dict[str, dict[str, int]]) -> str:
    names = sorted(tokens)
    total = sum(t["tokens"] for t in tokens.values())
    rows = [[_e(n), _n(tokens[n]["documents"]), _n(tokens[n]["tokens"]), _pct(tokens[n]["tokens"], total),
             _n(tokens[n]["tokens"] / tokens[n]["documents"] if tokens[n]["documents"] else None)] for n in names]
    body = _table(["source", "documents", "tokens", "share", "tokens per document"], rows)
    return body + _figure(bars_svg(names, {"tokens": [tokens[n]["tokens"] for n in names]}, ylabel="tokens"),
                          "tokens per source")


def _curriculum_section(manifests: list[tuple[str, dict[str, Any]]]) -> str:
    out = []
    for directory, meta in manifests:
        phases = meta.get("phases", [])
        sources = sorted({s for p in phases for s in (*p.get("mix", {}), *p.get("realized", {}))})
        labels = [f"{p['name']}\n{kind}" for p in phases for kind in ("requested", "realized")]
        series = {s: [p.get(k, {}).get(s, 0.0) for p in phases for k in ("mix", "realized")] for s in sources}
        name = _e(meta.get("name", directory))
        out.append(f'<h3><code>{name}</code> <span class="muted">{_e(directory)}</span></h3>')
        out.append(_table(["phase", "instances", "tokens", *[f"{s} requested / realized" for s in sources]],
                          [[_e(p["name"]), _n(p.get("instances")), _n(p.get("tokens")),
                            *[f"{p.get('mix', {}).get(s, 0):.3f} / {p.get('realized', {}).get(s, 0):.3f}"
                              for s in sources]] for p in phases]))
        if phases:
            out.append(_figure(bars_svg(labels, series, ylabel="share of tokens", stacked=True),
                               "phase composition: requested against realized"))
    return "".join(out)


def _train_section(runs: list[tuple[str, list[dict[str, Any]]]]) -> str:
    out = []
    for run_dir, records in runs:
        out.append(f"<h3><code>{_e(run_dir)}</code></h3>")
        train: dict[str, tuple[list[float], list[float]]] = {}
        evals: dict[str, tuple[list[float], list[float]]] = {}
        for record in records:
            if "loss" in record and "phase" in record:
                xs, ys = train.setdefault(f"train [{record['phase']}]", ([], []))
                xs.append(record["step"])
                ys.append(record["loss"])
            if isinstance(record.get("eval"), dict):
                for domain, loss in sorted(record["eval"].items()):
                    xs, ys = evals.setdefault(f"held-out {domain}", ([], []))
                    xs.append(record["step"])
                    ys.append(loss)
        if train:
            out.append(_figure(lines_svg(train, xlabel="step", ylabel="loss"), "training loss per phase"))
        if evals:
            out.append(_figure(lines_svg(evals, xlabel="step", ylabel="loss"), "held-out loss per domain"))
        if not train and not evals:
            out.append('<p class="muted">No loss records yet.</p>')
    return "".join(out)


def build_report(config: ReportConfig, mixes: list[gather.MixStream]) -> str:
    """The page for the inputs `config` names; `mixes` are the mix streams with examples (built by the caller,
    which reads the mix configs with the mixer's own filter)."""
    page = Page(config.title)
    documents = gather.document_counts(config.documents) if config.documents else None
    tokens = gather.token_counts(config.tokens) if config.tokens else {}
    if documents or mixes or tokens:
        page.add("flow", "Documents per source through the stages", _flow_section(documents, mixes, tokens))
    if mixes:
        page.add("mix", "Mix: drops per rule, with examples", _mix_section(mixes))
    if config.attributes:
        thresholds: dict[str, list[tuple[str, float]]] = {}
        for stream in mixes:  # streams usually share their rules: each threshold is drawn once
            for key, marks in stream.thresholds.items():
                drawn = thresholds.setdefault(key, [])
                drawn.extend(mark for mark in marks if mark not in drawn)
        page.add("attributes", "Attribute histograms",
                 _attributes_section(gather.attribute_stats(config.attributes), config.bins, thresholds))
    if config.dedupe:
        page.add("dedupe", "Deduplication", _dedupe_section(gather.dedupe_rates(config.dedupe)))
    if tokens:
        page.add("tokens", "Tokens per source", _tokens_section(tokens))
    if config.manifest:
        page.add("curriculum", "Curriculum: phase composition", _curriculum_section(gather.manifests(config.manifest)))
    if config.train:
        page.add("train", "Training loss", _train_section(gather.train_metrics(config.train)))
    return page.render()
