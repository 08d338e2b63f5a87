"""`dolma mix` end to end on small local corpora: dolma configs, joins, filters, sampling, sharding, resume."""

from __future__ import annotations

import gzip
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
import zstandard
from conftest import read_jsonl, tree_bytes, write_documents

from dolma_py.config.loader import load_config
from dolma_py.config.mix import MixConfig
from dolma_py.errors import ConfigError
from mixers.stream.pipeline import run_mix


def make_corpus(root: Path, files: int = 3, docs: int = 30) -> list[dict[str, Any]]:
    """`root/documents/src/part-N.jsonl.gz` plus attribute sets `qual` (span scores) and `meta` (nested/scalar)."""
    all_docs = []
    for f in range(files):
        rows, qual, meta = [], [], []
        for i in range(docs):
            doc_id = f"d{f}-{i:03d}"
            text = f"Document {i} of file {f}. " + "word " * (i % 7) + ("héllo wörld " if i % 3 == 0 else "")
            rows.append({"id": doc_id, "text": text, "source": "src", "metadata": {"url": f"http://x/{doc_id}"}})
            score = round((i * 37 % 100) / 100, 2)
            qual.append(
                {
                    "id": doc_id,
                    "attributes": {
                        "qual__model__score": [[0, len(text), score]],
                        "qual__model__spans": [[0, 8, 1.0]] if i % 4 == 0 else [],
                    },
                }
            )
            meta.append(
                {
                    "id": doc_id,
                    "attributes": {"meta__info": {"lang": "en" if i % 5 else "de", "n": i}, "meta__flag": i % 2},
                }
            )
        name = f"part-{f}.jsonl.gz"
        write_documents(root / "documents" / "src" / name, rows)
        write_documents(root / "attributes" / "qual" / "src" / name, qual)
        write_documents(root / "attributes" / "meta" / "src" / name, meta)
        all_docs.extend(rows)
    return all_docs


def stream(root: Path, out: Path, **extra: Any) -> dict[str, Any]:
    base = {
        "name": "mix",
        "documents": [str(root / "documents" / "src" / "*.jsonl.gz")],
        "attributes": ["qual", "meta"],
        "output": {"path": str(out), "max_size_in_bytes": 10_000_000},
    }
    for key, value in extra.items():
        if key == "output":
            base["output"].update(value)
        else:
            base[key] = value
    return base


def run(tmp: Path, config: dict[str, Any], name: str = "mix.yaml") -> tuple[list, MixConfig]:
    path = tmp / name
    path.write_text(yaml.safe_dump(config))
    parsed = load_config(MixConfig, str(path), {})
    reports, _ = run_mix(parsed, progress=False)
    return reports, parsed


def output_docs(out: Path, name: str = "mix") -> list[dict[str, Any]]:
    docs = []
    for shard in sorted(out.glob(f"{name}-*.json*")):
        data = shard.read_bytes()
        if shard.suffix == ".gz":
            data = gzip.decompress(data)
        elif shard.suffix == ".zst":
            data = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(data), read_across_frames=True).read()
        docs.extend(json.loads(line) for line in data.decode().splitlines())
    return docs


def test_dolma_config_runs_unchanged(tmp_path: Path) -> None:
    make_corpus(tmp_path)
    out = tmp_path / "out"
    config = {  # dolma 1.2.1's form: filter without syntax, compression block, work_dir, shuffle
        "streams": [
            stream(
                tmp_path,
                out,
                filter={
                    "include": ["$.attributes[?(@.qual__model__score && @.qual__model__score[0][2] >= 0.5)]"],
                    "exclude": ["$.attributes[?(@.meta__info.lang == 'de')]"],
                },
                span_replacement=[{"span": "$.attributes.qual__model__spans", "min_score": 0.5, "replacement": "[{}]"}],
                output={"discard_fields": ["attributes"], "min_text_length": 25},
                compression={"input": None, "output": "gz"},
            )
        ],
        "work_dir": {"input": str(tmp_path / "wi"), "output": str(tmp_path / "wo")},
        "processes": 1,
        "shuffle": True,
    }
    (report,), _ = run(tmp_path, config)
    docs = output_docs(out)
    kept = [i for i in range(30) if (i * 37 % 100) / 100 >= 0.5 and i % 5]
    long_enough = [i for i in kept if i % 7 or i % 3 == 0 or i % 4 == 0]  # "Document 7 of file 0." is too short
    assert [d["id"] for d in docs] == [f"d{f}-{i:03d}" for f in range(3) for i in long_enough]
    assert report.status == "done" and report.documents_in == 90 and report.documents_out == len(docs)
    assert report.dropped == {
        "include": 3 * sum(1 for i in range(30) if (i * 37 % 100) / 100 < 0.5),
        "exclude[0]": 3 * sum(1 for i in range(30) if (i * 37 % 100) / 100 >= 0.5 and not i % 5),
        "min_text_length": 3 * (len(kept) - len(long_enough)),
    }
    assert report.dropped["min_text_length"] > 0
    for doc in docs:
        assert "attributes" not in doc
        file, line = doc["metadata"]["provenance"].split(":")
        assert file.startswith("part-") and int(line) >= 1
    first = docs[0]
    assert list(first) == sorted(first)  # keys sorted, as dolma writes them
    by_id = {d["id"]: d for d in docs}
    assert by_id["d0-008"]["text"] == "[Document] 8 of file 0. word "  # span [0, 8) replaced
    assert by_id["d0-008"]["metadata"] == {"provenance": "part-0.jsonl.gz:9", "url": "http://x/d0-008"}
    assert by_id["d1-018"]["text"] == "Document 18 of file 1. word word word word héllo wörld "
    report_file = json.loads((out / "_dolma_mix_report_mix.json").read_text())
    assert report_file["documents_out"] == len(docs) and report_file["shards"][0]["file"] == "mix-0000.json.gz"


def test_jsonpath_and_jq_select_the_same_documents(tmp_path: Path) -> None:
    make_corpus(tmp_path)
    jsonpath = {
        "include": [
            "$.attributes[?(@.meta__info.lang == 'en' && @.meta__flag == 1)]",
            "$.attributes[?(@.qual__model__score[0][2] >= 0.9)]",
        ],
        "exclude": ["$.attributes[?(@.meta__info.n > 25)]"],
    }
    jq = {
        "syntax": "jq",
        "include": [
            '.attributes.meta__info.lang == "en" and .attributes.meta__flag == 1',
            ".attributes.qual__model__score[0][2] >= 0.9",
        ],
        "exclude": [".attributes.meta__info.n > 25"],
    }
    config = {
        "streams": [
            stream(tmp_path, tmp_path / "jp", name="jp", filter=jsonpath),
            stream(tmp_path, tmp_path / "jq", name="jq", filter=jq),
        ]
    }
    reports, _ = run(tmp_path, config)
    jp_docs, jq_docs = output_docs(tmp_path / "jp", "jp"), output_docs(tmp_path / "jq", "jq")
    assert [d["id"] for d in jp_docs] == [d["id"] for d in jq_docs]
    assert 0 < len(jp_docs) < 90
    assert reports[0].dropped == reports[1].dropped


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("mismatch", r"qual/src/part-1\.jsonl\.gz:3: id 'zzz' does not match document id 'd1-002'"),
        ("missing", r"qual/src/part-1\.jsonl\.gz: attribute file is missing"),
        ("short", r"qual/src/part-1\.jsonl\.gz:30: attribute file ends before the documents do"),
        ("long", r"qual/src/part-1\.jsonl\.gz:31: attribute file has more lines than its documents"),
    ],
)
def test_attribute_join_errors_name_the_file_and_line(tmp_path: Path, damage: str, message: str) -> None:
    make_corpus(tmp_path)
    attr = tmp_path / "attributes" / "qual" / "src" / "part-1.jsonl.gz"
    rows = read_jsonl(attr)
    if damage == "mismatch":
        rows[2]["id"] = "zzz"
    elif damage == "short":
        rows = rows[:-1]
    elif damage == "long":
        rows.append(rows[-1])
    if damage == "missing":
        attr.unlink()
    else:
        write_documents(attr, rows)
    out = tmp_path / "out"
    (report,), _ = run(tmp_path, {"streams": [stream(tmp_path, out)]})
    assert report.status == "failed"
    assert re.search(message, report.error or ""), report.error
    assert not list(out.glob("mix-*"))


def test_sampling_is_deterministic_and_upsampling_counts(tmp_path: Path) -> None:
    make_corpus(tmp_path, files=2, docs=200)
    config = {
        "streams": [
            stream(tmp_path, tmp_path / "s1", name="s", sample=0.3),
            stream(tmp_path, tmp_path / "u", name="u", upsample=2.5),
        ],
        "seed": 7,
    }
    reports, _ = run(tmp_path, config)
    sampled = [d["id"] for d in output_docs(tmp_path / "s1", "s")]
    assert 80 <= len(sampled) <= 160  # 30% of 400
    assert reports[0].dropped["sample"] == 400 - len(sampled)

    again = {"streams": [stream(tmp_path, tmp_path / "s2", name="s", sample=0.3)], "seed": 7}
    run(tmp_path, again, "again.yaml")
    assert [d["id"] for d in output_docs(tmp_path / "s2", "s")] == sampled
    other_seed = {"streams": [stream(tmp_path, tmp_path / "s3", name="s", sample=0.3)], "seed": 8}
    run(tmp_path, other_seed, "seed.yaml")
    assert [d["id"] for d in output_docs(tmp_path / "s3", "s")] != sampled

    copies: dict[str, int] = {}
    for doc in output_docs(tmp_path / "u", "u"):
        copies[doc["id"]] = copies.get(doc["id"], 0) + 1
    assert set(copies.values()) == {2, 3} and len(copies) == 400
    assert 900 <= sum(copies.values()) <= 1100  # 2.5 x 400 on average
    assert reports[1].documents_out == sum(copies.values())


def test_shards_respect_max_size_and_keep_input_order(tmp_path: Path) -> None:
    docs = make_corpus(tmp_path, files=3, docs=60)
    out = tmp_path / "out"
    (report,), _ = run(tmp_path, {"streams": [stream(tmp_path, out, output={"max_size_in_bytes": 1500})]})
    shards = sorted(out.glob("mix-*.json*.gz"))
    assert len(shards) == len(report.shards) > 3
    # dolma 1.2.1's names: .jsonl.gz for the full shards, .json.gz for the last one
    last = len(shards) - 1
    assert [s.name for s in shards] == [f"mix-{i:04d}.json{'' if i == last else 'l'}.gz" for i in range(len(shards))]
    for shard in shards:
        size = shard.stat().st_size
        assert size <= 1500 or len(gzip.decompress(shard.read_bytes()).splitlines()) == 1
    assert [d["id"] for d in output_docs(out)] == [d["id"] for d in docs]
    assert sum(s["bytes"] for s in report.shards) == sum(s.stat().st_size for s in shards)


def test_process_count_does_not_change_output_bytes(tmp_path: Path) -> None:
    make_corpus(tmp_path, files=4, docs=50)
    outputs = []
    for processes in (1, 2):
        out = tmp_path / f"out{processes}"
        config = {
            "streams": [
                stream(
                    tmp_path,
                    out,
                    output={"max_size_in_bytes": 1200},
                    filter={"syntax": "jq", "exclude": [".attributes.meta__flag == 1"]},
                    span_replacement=[
                        {"span": ".attributes.qual__model__spans", "syntax": "jq", "min_score": 0.5, "replacement": ""}
                    ],
                    sample=0.8,
                )
            ],
            "processes": processes,
        }
        run(tmp_path, config, f"p{processes}.yaml")
        outputs.append(tree_bytes(out))
    assert len(outputs[0]) > 3 and outputs[0] == outputs[1]


def test_resume_skip_and_overwrite(tmp_path: Path) -> None:
    make_corpus(tmp_path, files=3, docs=40)
    attr = tmp_path / "attributes" / "meta" / "src" / "part-2.jsonl.gz"
    saved = attr.read_bytes()
    attr.unlink()
    out = tmp_path / "out"
    config = {"streams": [stream(tmp_path, out, output={"max_size_in_bytes": 3000})]}
    (report,), _ = run(tmp_path, config)
    assert report.status == "failed"
    staging = out / ".mix_parts"
    assert len(list(staging.rglob("*.manifest.json"))) == 2  # the two good files are kept for the rerun

    attr.write_bytes(saved)
    (report,), _ = run(tmp_path, config)
    assert report.status == "done" and not staging.exists()
    resumed = tree_bytes(out)

    clean = tmp_path / "clean"
    run(tmp_path, {"streams": [stream(tmp_path, clean, output={"max_size_in_bytes": 3000})]}, "clean.yaml")
    assert tree_bytes(clean) == resumed

    (report,), _ = run(tmp_path, config)
    assert report.status == "skipped" and tree_bytes(out) == resumed

    changed = {"streams": [stream(tmp_path, out, output={"max_size_in_bytes": 1_000_000})]}
    with pytest.raises(ConfigError, match="different config"):
        run(tmp_path, changed, "changed.yaml")
    (report,), _ = run(tmp_path, {**changed, "overwrite": True}, "changed.yaml")
    assert report.status == "done" and len(report.shards) == 1
    assert sorted(p.name for p in out.glob("mix-*")) == ["mix-0000.json.gz"]
    assert len(report.removed_stale) > 0


def test_jq_errors_are_counted_or_fail_the_file(tmp_path: Path) -> None:
    make_corpus(tmp_path, files=1, docs=20)
    rule = {"syntax": "jq", "include": ['.attributes.meta__info.lang | test("^e")', ".text | test(1)"]}
    lenient = {"streams": [stream(tmp_path, tmp_path / "a", filter=rule)], "fail_on_jq_error": False}
    (report,), _ = run(tmp_path, lenient)
    assert report.status == "done"
    assert report.jq_errors == {"include[1]": report.dropped["include"]} and report.dropped["include"] == 4
    (report,), _ = run(
        tmp_path, {"streams": [stream(tmp_path, tmp_path / "b", filter=rule)]}, "fail.yaml"
    )  # the default, as in dolma
    assert report.status == "failed" and "jq error in include[1]" in (report.error or "")
    assert "part-0.jsonl.gz:1:" in (report.error or "")


@pytest.mark.parametrize(("codec", "suffix"), [("zst", ".json.zst"), ("", ".json")])
def test_output_codecs(tmp_path: Path, codec: str, suffix: str) -> None:
    docs = make_corpus(tmp_path, files=2, docs=10)
    out = tmp_path / "out"
    run(
        tmp_path, {"streams": [stream(tmp_path, out, compression={"output": codec}, output={"max_size_in_bytes": 800})]}
    )
    shards = sorted(out.glob("mix-*"))
    full = suffix.replace(".json", ".jsonl", 1)
    assert len(shards) > 1 and shards[-1].name.endswith(suffix) and all(s.name.endswith(full) for s in shards[:-1])
    assert [d["id"] for d in output_docs(out)] == [d["id"] for d in docs]


def test_bad_config_values_are_rejected(tmp_path: Path) -> None:
    make_corpus(tmp_path, files=1, docs=2)
    with pytest.raises(ConfigError, match="invalid JSONPath"):
        run(tmp_path, {"streams": [stream(tmp_path, tmp_path / "o", filter={"include": ["$.a[-1]"]})]})
    with pytest.raises(ConfigError, match="min_score"):
        run(tmp_path, {"streams": [stream(tmp_path, tmp_path / "o", span_replacement=[{"span": "$.a"}])]})
    with pytest.raises(ConfigError, match="sample"):
        run(tmp_path, {"streams": [stream(tmp_path, tmp_path / "o", sample=0)]})
    with pytest.raises(ConfigError, match=r"streams\[0\]\.filter"):
        run(tmp_path, {"streams": [stream(tmp_path, tmp_path / "o", filter={"include": ["$.a"], "sintax": "jq"})]})


@pytest.mark.parametrize(
    "path", sorted(str(p) for p in (Path(__file__).parent.parent / "configs" / "mix").glob("*.yaml"))
)
def test_example_configs_load_and_compile(path: str) -> None:
    from collections import Counter

    from mixers.stream.filters import DocFilter, compile_span_rules

    config = load_config(MixConfig, path, {})
    for item in config.streams:
        DocFilter(item.filter, Counter(), fail_on_jq_error=False)
        compile_span_rules(item.span_replacement, Counter(), fail_on_jq_error=False)


def test_truncated_documents_fail_their_file(tmp_path: Path) -> None:
    make_corpus(tmp_path, files=2, docs=20)
    bad = tmp_path / "documents" / "src" / "part-1.jsonl.gz"
    bad.write_bytes(bad.read_bytes()[:-40])
    (report,), _ = run(tmp_path, {"streams": [stream(tmp_path, tmp_path / "out")]})
    assert report.status == "failed"
    assert "part-1.jsonl.gz: cannot read compressed data" in (report.error or "")


def test_parquet_documents_join_tagged_attributes(tmp_path: Path) -> None:
    """Parquet documents are read with pyarrow and joined to the `.jsonl.gz` attributes `dolma tag` writes for them."""
    from dolma_py.cli.main import main
    from dolma_py.io.documents import write_parquet

    docs = [{"id": f"p{i}", "text": "short" if i % 2 else "a longer document text", "source": "s"} for i in range(6)]
    (tmp_path / "documents").mkdir()
    write_parquet(str(tmp_path / "documents" / "part.parquet"), docs)
    tag = ["tag", "--documents", str(tmp_path / "documents" / "*.parquet"), "--taggers", "char_length_v1"]
    assert main([*tag, "--experiment", "len"]) == 0
    config = {
        "streams": [
            {
                "name": "long",
                "documents": [str(tmp_path / "documents" / "*.parquet")],
                "attributes": ["len"],
                "filter": {"include": ["$.attributes[?(@.len__char_length_v1__length[0][2] >= 10)]"]},
                "output": {"path": str(tmp_path / "out"), "max_size_in_bytes": 1_000_000},
            }
        ]
    }
    (tmp_path / "mix.yaml").write_text(yaml.safe_dump(config))
    run_mix(load_config(MixConfig, str(tmp_path / "mix.yaml"), {}))
    rows = read_jsonl(tmp_path / "out" / "long-0000.json.gz")
    assert [row["id"] for row in rows] == ["p0", "p2", "p4"]


def test_shuffle_false_writes_one_output_per_input_at_its_documents_path(tmp_path: Path) -> None:
    """dolma 1.2.1 with `shuffle: false`: `<output.path>/documents/<the input's path below documents/>`."""
    docs = make_corpus(tmp_path, files=3, docs=20)
    out = tmp_path / "out"
    run(tmp_path, {"streams": [stream(tmp_path, out, output={"max_size_in_bytes": 500})], "shuffle": False})
    inputs = sorted((tmp_path / "documents").rglob("*.jsonl.gz"))
    outputs = sorted((out / "documents").rglob("*.jsonl.gz"))
    relative = [p.relative_to(tmp_path / "documents") for p in inputs]
    assert [p.relative_to(out / "documents") for p in outputs] == relative
    assert not list(out.glob("mix-*"))
    mixed = [json.loads(line) for p in outputs for line in gzip.decompress(p.read_bytes()).decode().splitlines()]
    assert [d["id"] for d in mixed] == [d["id"] for d in docs]
