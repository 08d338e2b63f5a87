"""`dolma tokens`: ids, index, shard format, determinism, dtype rules, bad inputs and resume."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from tokenizers import Tokenizer, models, pre_tokenizers

from dolma_py.config.loader import build
from dolma_py.config.tokens import TokensConfig
from dolma_py.errors import ConfigError, DolmaError
from dolma_py.tokens.pipeline import RECORD_NAME, run_tokens
from dolma_py.tokens.shards import open_tokens, read_index
from dolma_py.tokens.tokenizer import choose_dtype
from dolma_py.tokens.train_tokenizer import train_byte_level_bpe

EOS, PAD, BOS = 0, 1, 2
SYLLABLES = [
    "ka",
    "to",
    "ri",
    "mu",
    "sen",
    "lo",
    "va",
    "qui",
    "bor",
    "ne",
    "tha",
    "pi",
    "ed",
    "ing",
    "ous",
    "ü",
    "ß",
    "7",
]


def _text(rng: np.random.Generator, words: int) -> str:
    tokens = ["".join(rng.choice(SYLLABLES, size=int(rng.integers(1, 4)))) for _ in range(words)]
    for i in rng.choice(words, size=max(1, words // 12), replace=False):
        tokens[i] += rng.choice([".", ",", "!\n", "\n\n", "  ", "'s"])
    return " ".join(tokens)


@pytest.fixture(scope="module")
def tokenizer_path(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A byte-level BPE tokenizer trained here on generated text (EOS=0, PAD=1, BOS=2)."""
    rng = np.random.default_rng(0)
    tok = train_byte_level_bpe([_text(rng, 200) for _ in range(200)], vocab_size=600)
    path = tmp_path_factory.mktemp("tokenizer") / "tokenizer.json"
    tok.save(str(path))
    return str(path)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, Any]]]:
    """Three input files (two gzipped) of generated documents, with empty and whitespace-only ones mixed in."""
    rng = np.random.default_rng(1)
    root = tmp_path_factory.mktemp("documents")
    files: dict[str, list[dict[str, Any]]] = {}
    for name, n in [("a.jsonl.gz", 70), ("b.jsonl", 45), ("c.jsonl.gz", 25)]:
        docs = [{"id": f"{name}-{i}", "text": _text(rng, int(rng.integers(5, 120))), "source": "gen"} for i in range(n)]
        docs[3]["text"] = ""
        docs[7]["text"] = "  \n "
        docs[9]["text"] = "  padded text with spaces  "
        path = root / name
        payload = b"".join(json.dumps(d).encode() + b"\n" for d in docs)
        path.write_bytes(gzip.compress(payload) if name.endswith(".gz") else payload)
        files[str(path)] = docs
    return files


def _config(corpus: dict[str, Any], tokenizer_path: str, dest: Path, **extra: Any) -> TokensConfig:
    root = os.path.dirname(next(iter(corpus)))
    data: dict[str, Any] = {
        "documents": [f"{root}/*.jsonl*"],
        "destination": str(dest),
        "tokenizer": {"name_or_path": tokenizer_path, "eos_token_id": EOS, "pad_token_id": PAD},
        "max_size": 4000,
        "batch_size": 50,
        "work_dir": {"output": str(dest) + "-work"},
    }
    for key, value in extra.items():
        if isinstance(value, dict):
            data.setdefault(key, {}).update(value)
        else:
            data[key] = value
    return build(TokensConfig, data, "test")


def _shards(dest: Path) -> list[tuple[np.ndarray, list]]:
    record = json.loads((dest / RECORD_NAME).read_text())
    return [
        (open_tokens(str(dest / f"{s['name']}.npy"), record["dtype"]), read_index(str(dest / f"{s['name']}.csv.gz")))
        for s in record["shards"]
    ]


def _read_bytes(dest: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(dest.iterdir()) if p.name.startswith("part-")}


def test_ids_index_and_decoding(corpus: dict[str, Any], tokenizer_path: str, tmp_path: Path) -> None:
    result = run_tokens(_config(corpus, tokenizer_path, tmp_path / "out"), progress=False)
    tok = Tokenizer.from_file(tokenizer_path)
    expected = {(src, i + 1): doc for src, docs in corpus.items() for i, doc in enumerate(docs) if doc["text"].strip()}
    seen = set()
    shards = _shards(tmp_path / "out")
    assert len(shards) > 3
    for tokens, index in shards:
        assert tokens.dtype == np.uint16
        assert index[0].start == 0 and index[-1].end == tokens.size
        assert tokens.size * 2 <= 4000 or len(index) == 1
        for prev, row in zip([None, *index], index, strict=False):
            assert prev is None or prev.end == row.start  # documents are contiguous, none split
            doc = expected[(row.src, row.loc)]
            assert row.id == doc["id"]
            ids = tokens[row.start : row.end].tolist()
            assert ids[-1] == EOS
            assert ids[:-1] == tok.encode(doc["text"].strip(), add_special_tokens=False).ids
            assert tok.decode(ids, skip_special_tokens=True) == doc["text"].strip()
            seen.add((row.src, row.loc))
    assert seen == set(expected)
    assert result.documents == len(expected) and result.empty_documents == 2 * len(corpus)
    assert result.tokens == sum(t.size for t, _ in shards)
    assert os.listdir(str(tmp_path / "out") + "-work") == []  # intermediates are removed once shards are complete


def test_documents_mixed_across_files(corpus: dict[str, Any], tokenizer_path: str, tmp_path: Path) -> None:
    run_tokens(_config(corpus, tokenizer_path, tmp_path / "out"), progress=False)
    first = _shards(tmp_path / "out")[0][1]
    assert len({row.src for row in first}) == len(corpus)
    locs = [row.loc for row in first if row.src == first[0].src]
    assert locs != sorted(locs)


def test_byte_identical_across_process_counts(corpus: dict[str, Any], tokenizer_path: str, tmp_path: Path) -> None:
    run_tokens(_config(corpus, tokenizer_path, tmp_path / "one", processes=1), progress=False)
    run_tokens(_config(corpus, tokenizer_path, tmp_path / "two", processes=2), progress=False)
    one, two = _read_bytes(tmp_path / "one"), _read_bytes(tmp_path / "two")
    assert one == two and len(one) > 6
    run_tokens(_config(corpus, tokenizer_path, tmp_path / "seed", seed=7), progress=False)
    assert _read_bytes(tmp_path / "seed") != one


def test_bos_framing(corpus: dict[str, Any], tokenizer_path: str, tmp_path: Path) -> None:
    run_tokens(_config(corpus, tokenizer_path, tmp_path / "out", tokenizer={"bos_token_id": BOS}), progress=False)
    for tokens, index in _shards(tmp_path / "out"):
        for row in index:
            assert tokens[row.start] == BOS and tokens[row.end - 1] == EOS


def test_resume_and_foreign_destination(corpus: dict[str, Any], tokenizer_path: str, tmp_path: Path) -> None:
    dest = tmp_path / "out"
    run_tokens(_config(corpus, tokenizer_path, dest), progress=False)
    before = _read_bytes(dest)
    victim = sorted(dest.glob("part-*.npy"))[1]
    victim.unlink()
    run_tokens(_config(corpus, tokenizer_path, dest), progress=False)
    assert _read_bytes(dest) == before
    with pytest.raises(ConfigError, match="different tokens run"):
        run_tokens(_config(corpus, tokenizer_path, dest, seed=99), progress=False)
    run_tokens(_config(corpus, tokenizer_path, dest, seed=99, overwrite=True), progress=False)
    assert _read_bytes(dest) != before


def test_dtype_rules(tmp_path: Path) -> None:
    assert choose_dtype(50_000, None) == np.uint16
    assert choose_dtype(65_536, None) == np.uint16
    assert choose_dtype(65_537, None) == np.uint32
    assert choose_dtype(1000, "uint32") == np.uint32
    with pytest.raises(ConfigError, match="cannot hold ids of a vocabulary of 100,000"):
        choose_dtype(100_000, "uint16")


def test_large_vocabulary_writes_uint32(tmp_path: Path) -> None:
    vocab = {"[UNK]": 0, "<eos>": 1, **{f"w{i}": i + 2 for i in range(70_000)}}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.save(str(tmp_path / "big.json"))
    docs = tmp_path / "docs.jsonl"
    docs.write_text(json.dumps({"id": "x", "text": "w69999 w5 w70001"}) + "\n")
    data = {
        "documents": [str(docs)],
        "destination": str(tmp_path / "out"),
        "tokenizer": {"name_or_path": str(tmp_path / "big.json"), "eos_token_id": 1},
    }
    result = run_tokens(build(TokensConfig, data, "test"), progress=False)
    assert result.dtype == "uint32"
    assert np.fromfile(tmp_path / "out" / "part-00000-00000.npy", dtype="<u4").tolist() == [70001, 7, 0, 1]
    data["dtype"] = "uint16"
    with pytest.raises(ConfigError, match="dtype uint16 cannot hold"):
        run_tokens(build(TokensConfig, data, "test"), progress=False)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (b'{"id": "z", "text": "ok"', "bad.jsonl:2: malformed JSON"),
        (b'{"id": "z", "body": "no text"}', "bad.jsonl:2: field 'text' is missing"),
        (b'{"id": "z", "text": 5}', "bad.jsonl:2: field 'text' must be a string"),
        (b'{"text": "no id"}', "bad.jsonl:2: field 'id' is missing"),
    ],
)
def test_bad_lines_fail_with_location(tokenizer_path: str, tmp_path: Path, line: bytes, message: str) -> None:
    docs = tmp_path / "bad.jsonl"
    docs.write_bytes(b'{"id": "a", "text": "fine"}\n' + line + b'\n{"id": "b", "text": "also fine"}\n')
    data = {
        "documents": [str(docs)],
        "destination": str(tmp_path / "out"),
        "tokenizer": {"name_or_path": tokenizer_path, "eos_token_id": EOS},
        "work_dir": {"output": str(tmp_path / "w")},
    }
    with pytest.raises(DolmaError, match=message):
        run_tokens(build(TokensConfig, data, "test"), progress=False)
    result = run_tokens(build(TokensConfig, {**data, "skip_bad_lines": True}, "test"), progress=False)
    assert result.bad_lines == 1 and result.documents == 2


def test_missing_id_field_uses_path_hash(tokenizer_path: str, tmp_path: Path) -> None:
    docs = tmp_path / "noid.jsonl"
    docs.write_text(json.dumps({"body": "hello there"}) + "\n")
    data = {
        "documents": [str(docs)],
        "destination": str(tmp_path / "out"),
        "tokenizer": {"name_or_path": tokenizer_path, "eos_token_id": EOS},
        "fields": {"text_field_name": "body", "id_field_name": None},
    }
    run_tokens(build(TokensConfig, data, "test"), progress=False)
    (row,) = read_index(str(tmp_path / "out" / "part-00000-00000.csv.gz"))
    assert row.id.endswith("-1") and len(row.id) == 64 + 2 and row.loc == 1


def test_config_requires_a_separator_token(tokenizer_path: str) -> None:
    data = {"documents": ["x"], "destination": "y", "tokenizer": {"name_or_path": tokenizer_path}}
    with pytest.raises(ConfigError, match="eos_token_id"):
        build(TokensConfig, data, "test")


def test_hub_name_offline_gives_clear_error(tmp_path: Path) -> None:
    code = (
        "from dolma_py.tokens.tokenizer import load_tokenizer\n"
        "try:\n    load_tokenizer('no-such-org/no-such-tokenizer')\n"
        "except Exception as err:\n    print(type(err).__name__, err)\n"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120, cwd=tmp_path, check=True
    )
    assert out.stdout.startswith(
        "ConfigError tokenizer.name_or_path: 'no-such-org/no-such-tokenizer' is not a local file"
    )


def test_cli_run_and_dryrun(
    corpus: dict[str, Any], tokenizer_path: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from dolma_py.cli.tokens import run

    assert run(_config(corpus, tokenizer_path, tmp_path / "dry", dryrun=True)) == 0
    assert capsys.readouterr().out.splitlines() == sorted(corpus)
    assert not (tmp_path / "dry").exists()
    assert run(_config(corpus, tokenizer_path, tmp_path / "out")) == 0
    assert (
        f"{sum(1 for docs in corpus.values() for d in docs if d['text'].strip())} documents" in capsys.readouterr().err
    )


def test_shards_feed_a_curriculum(corpus: dict[str, Any], tokenizer_path: str, tmp_path: Path) -> None:
    from dolma_py.manifest import Manifest
    from mixers.curriculum.builder import build_manifest
    from mixers.curriculum.catalog import build_catalog
    from mixers.curriculum.planner import make_plan
    from mixers.curriculum.spec import load_spec

    run_tokens(_config(corpus, tokenizer_path, tmp_path / "out"), progress=False)
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(
        json.dumps(
            {
                "name": "e2e",
                "sequence_length": 64,
                "seed": 3,
                "destination": str(tmp_path / "manifest"),
                "sources": {"gen": {"paths": [str(tmp_path / "out" / "*.npy")]}},
                "validation": {"fraction": 0.1},
                "phases": [{"name": "only", "tokens": 64 * 100, "mix": {"gen": 1.0}}],
            }
        )
    )
    spec = load_spec(str(spec_path))
    path, built = build_manifest(make_plan(spec, build_catalog(spec)), str(spec.destination))
    m = Manifest.open(str(path))
    assert built and m.dtype == np.uint16 and m.eos_token_id == EOS and len(m.instances(0)) == 100
    table = m.instances("only")
    for i in (0, 37, 99):
        shard, start, _ = (int(v) for v in table.rows()[i])
        assert table[i].tolist() == open_tokens(m.shards[shard].path, "uint16")[start : start + 64].tolist()


def test_parquet_documents_tokenize_like_jsonl(corpus: dict[str, Any], tokenizer_path: str, tmp_path: Path) -> None:
    from dolma_py.io.documents import write_parquet

    (src, docs), *_ = corpus.items()
    parquet = tmp_path / "docs.parquet"
    write_parquet(str(parquet), docs)
    run_tokens(_config(corpus, tokenizer_path, tmp_path / "pq", documents=[str(parquet)]), progress=False)
    run_tokens(_config(corpus, tokenizer_path, tmp_path / "jsonl", documents=[src]), progress=False)
    tokens = lambda dest: np.concatenate([t for t, _ in _shards(dest)])  # noqa: E731
    assert np.array_equal(np.sort(tokens(tmp_path / "pq")), np.sort(tokens(tmp_path / "jsonl")))
    assert sum(len(index) for _, index in _shards(tmp_path / "pq")) == sum(1 for d in docs if d["text"].strip())


def test_ray_executor_matches_local(
    corpus: dict[str, Any], tokenizer_path: str, tmp_path: Path, ray_cluster: str
) -> None:
    run_tokens(_config(corpus, tokenizer_path, tmp_path / "local", processes=2), progress=False)
    run_tokens(_config(corpus, tokenizer_path, tmp_path / "ray", ray_address=ray_cluster), progress=False)
    local, ray = _read_bytes(tmp_path / "local"), _read_bytes(tmp_path / "ray")
    assert local == ray and len(local) > 3


def test_s3_documents_and_destination(
    corpus: dict[str, Any], tokenizer_path: str, tmp_path: Path, s3_bucket: str
) -> None:
    from dolma_py.io.documents import write_jsonl
    from dolma_py.io.storage import s3_client

    remote = []
    for path, docs in corpus.items():
        name = os.path.basename(path)
        write_jsonl(f"s3://{s3_bucket}/documents/{name}", docs)
        remote.append(f"s3://{s3_bucket}/documents/{name}")
    run_tokens(_config(corpus, tokenizer_path, tmp_path / "local"), progress=False)
    config = _config(corpus, tokenizer_path, tmp_path / "unused", documents=remote, destination=f"s3://{s3_bucket}/tokens")
    run_tokens(config, progress=False)
    local = _read_bytes(tmp_path / "local")
    for name, data in local.items():
        remote_bytes = s3_client().get_object(Bucket=s3_bucket, Key=f"tokens/{name}")["Body"].read()
        if name.endswith(".npy"):
            assert remote_bytes == data
        else:  # the index names each document's source file: same rows, S3 paths instead of local ones
            rows = gzip.decompress(remote_bytes).decode().splitlines()
            assert [r.replace(f"s3://{s3_bucket}/documents/", "") for r in rows] == [
                r.replace(os.path.dirname(next(iter(corpus))) + "/", "")
                for r in gzip.decompress(data).decode().splitlines()
            ]
    assert any(name.endswith(".npy") for name in local)


def test_whole_run_holds_the_lock_and_writes_one_summary(
    corpus: dict[str, Any], tokenizer_path: str, tmp_path: Path
) -> None:
    from dolma_py.io.lock import LocalLock, LockedError

    dest, work = tmp_path / "out", tmp_path / "out-work"
    for locked in (dest, work):  # another run holds the destination, or the work directory
        other = LocalLock(str(locked), "someone else")
        other.acquire()
        try:
            with pytest.raises(LockedError):
                run_tokens(_config(corpus, tokenizer_path, dest), progress=False)
        finally:
            other.release()
        assert not list(dest.glob("part-*")) and not list(work.glob("*.npy"))
    result = run_tokens(_config(corpus, tokenizer_path, dest), progress=False)
    summary = json.loads((dest / "_dolma_tokens_summary.json").read_text())
    assert summary["command"] == "tokens" and summary["units_failed"] == 0
    assert summary["units_done"] == len(corpus) + len(result.shards)
    assert summary["documents"] == result.documents  # counted once, by the tokenize stage
    assert summary["counters"]["tokens:shards.tokens"] == result.tokens
    run_tokens(_config(corpus, tokenizer_path, dest), progress=False)  # finished: every unit skipped
    summary = json.loads((dest / "_dolma_tokens_summary.json").read_text())
    assert summary["units_skipped"] == summary["units_total"] == len(corpus) + len(result.shards)
