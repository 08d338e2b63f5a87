"""Curriculum plan/build: ratios, determinism, repetition, hold-outs, partitions, infeasible specs, manifest reads."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from dolma_py.errors import ConfigError
from dolma_py.manifest import Manifest
from dolma_py.tokens.shards import RECORD_NAME
from mixers.curriculum.builder import build_manifest
from mixers.curriculum.catalog import build_catalog
from mixers.curriculum.planner import InfeasibleSpec, format_plan, make_plan
from mixers.curriculum.spec import load_spec, parse_count

SEQ = 16
REPO = Path(__file__).resolve().parent.parent
SOURCE_IDS = {"web": 1, "code": 2, "math": 3}


def _make_source(root: Path, name: str, shard_tokens: list[int], dtype: str = "uint32", record: bool = True) -> str:
    """Shards whose token at position p of shard k of source s is s*10^8 + k*10^6 + p, so content names its origin."""
    directory = root / name
    directory.mkdir(parents=True, exist_ok=True)
    for k, n in enumerate(shard_tokens):
        values = SOURCE_IDS.get(name, 4) * 10**8 + k * 10**6 + np.arange(n)
        values = values % 60000 if dtype == "uint16" else values
        values.astype(dtype).tofile(directory / f"part-00000-{k:05d}.npy")
    if record:
        (directory / RECORD_NAME).write_text(
            json.dumps({"dtype": dtype, "tokenizer": {"eos_token_id": 0, "sha1": "t"}})
        )
    return str(directory / "*.npy")


@pytest.fixture
def data(tmp_path: Path) -> dict[str, str]:
    """web: 12,000 instances, code: 4,000, math: 1,000 (plus per-shard tails shorter than an instance)."""
    return {
        "web": _make_source(tmp_path, "web", [SEQ * 5000 + 7, SEQ * 7000 + 3]),
        "code": _make_source(tmp_path, "code", [SEQ * 4000 + 15]),
        "math": _make_source(tmp_path, "math", [SEQ * 600, SEQ * 400 + 1]),
    }


def _spec(tmp_path: Path, data: dict[str, str], phases: list[dict[str, Any]], **extra: Any) -> str:
    spec = {
        "name": "test",
        "sequence_length": SEQ,
        "seed": 5,
        "destination": str(tmp_path / "manifest"),
        "sources": {name: {"paths": [glob]} for name, glob in data.items()},
        "phases": phases,
        **extra,
    }
    path = tmp_path / f"spec-{abs(hash(json.dumps(spec, sort_keys=True)))}.yaml"
    path.write_text(yaml.safe_dump(spec))
    return str(path)


def _build(spec_path: str, **kwargs: Any) -> Manifest:
    spec = load_spec(spec_path)
    path, _ = build_manifest(make_plan(spec, build_catalog(spec)), spec.destination, **kwargs)
    return Manifest.open(str(path))


def _origin(tokens: np.ndarray) -> tuple[int, int, int]:
    value = int(tokens[0])
    return value // 10**8, value // 10**6 % 100, value % 10**6


def _keys(table: Any) -> list[tuple[int, int]]:
    rows = np.asarray(table.rows())
    return list(zip(rows[:, 0].tolist(), rows[:, 1].tolist(), strict=False))


PRETRAIN = {"name": "pretrain", "tokens": 12000 * SEQ, "mix": {"web": 0.6, "code": 0.3, "math": 0.05, "x": 0.05}}


def test_ratios_exact_and_stable_over_prefixes(tmp_path: Path, data: dict[str, str]) -> None:
    data["x"] = _make_source(tmp_path, "x", [SEQ * 1000])
    m = _build(_spec(tmp_path, data, [PRETRAIN]))
    table = m.instances("pretrain")
    assert len(table) == 12000 and m.phases[0].tokens == 12000 * SEQ
    sources = np.asarray(table.rows()[:, 2]).astype(int)
    targets = {m.sources.index(k): v for k, v in PRETRAIN["mix"].items()}
    for lo, hi in [(0, 12000), (0, 10000), (2000, 12000), (1000, 11000)]:
        counts = np.bincount(sources[lo:hi], minlength=len(m.sources)) / (hi - lo)
        for index, ratio in targets.items():
            assert abs(counts[index] - ratio) <= 0.005 * ratio + 1e-12
    assert m.phases[0].realized == pytest.approx(PRETRAIN["mix"], abs=1e-4)
    assert sources[:40].tolist() != sorted(sources[:40].tolist())  # sources are interleaved, not blocked


def test_instances_read_their_shard_tokens(tmp_path: Path, data: dict[str, str]) -> None:
    m = _build(
        _spec(tmp_path, data, [{"name": "p", "tokens": 5000 * SEQ, "mix": {"web": 0.5, "code": 0.3, "math": 0.2}}])
    )
    table = m.instances(0)
    rng = np.random.default_rng(0)
    picks = rng.choice(len(table), size=300, replace=False)
    for i in picks.tolist():
        tokens = table[i]
        source, shard, position = _origin(tokens)
        assert SOURCE_IDS[m.sources[table.source_index(i)]] == source
        assert position % SEQ == 0
        assert tokens.tolist() == list(range(int(tokens[0]), int(tokens[0]) + SEQ))  # one contiguous slice
        raw = np.fromfile(Path(data[m.sources[table.source_index(i)]]).parent / f"part-00000-{shard:05d}.npy", "<u4")
        assert tokens.tolist() == raw[position : position + SEQ].tolist()
    assert np.array_equal(table.batch(picks[:17]), np.stack([table[i] for i in picks[:17].tolist()]))


def test_build_is_deterministic(tmp_path: Path, data: dict[str, str]) -> None:
    phases = [{"name": "p", "tokens": 3000 * SEQ, "mix": {"web": 0.7, "code": 0.3}}]
    first = _build(_spec(tmp_path, data, phases))
    a = np.asarray(first.instances(0).rows()).copy()
    again = _build(_spec(tmp_path, data, phases), overwrite=True)
    assert np.array_equal(a, np.asarray(again.instances(0).rows()))
    other = _build(_spec(tmp_path, data, phases, seed=6, destination=str(tmp_path / "other")))
    assert not np.array_equal(a, np.asarray(other.instances(0).rows()))


def test_later_phases_use_unseen_data_and_no_repeats_by_default(tmp_path: Path, data: dict[str, str]) -> None:
    phases = [
        {"name": "one", "tokens": 2000 * SEQ, "mix": {"code": 1.0}},
        {"name": "two", "tokens": 2000 * SEQ, "mix": {"code": 1.0}},
    ]
    m = _build(_spec(tmp_path, data, phases))
    one, two = _keys(m.instances("one")), _keys(m.instances("two"))
    assert len(set(one)) == 2000 and len(set(two)) == 2000 and not set(one) & set(two)
    phases.append({"name": "three", "tokens": SEQ, "mix": {"code": 1.0}})
    with pytest.raises(InfeasibleSpec, match="phase 'three': source 'code' needs 16 tokens but has 0 available"):
        _build(_spec(tmp_path, data, phases))


def test_repetition_passes_then_seeded_subset(tmp_path: Path, data: dict[str, str]) -> None:
    phases = [{"name": "p", "tokens": 2500 * SEQ, "mix": {"math": 1.0}, "max_repetition": {"math": 3}}]
    m = _build(_spec(tmp_path, data, phases))
    uses = np.unique(np.array(_keys(m.instances("p"))), axis=0, return_counts=True)[1]
    assert uses.size == 1000 and sorted(set(uses.tolist())) == [2, 3] and int((uses == 3).sum()) == 500
    phases[0]["tokens"] = 3500 * SEQ
    with pytest.raises(InfeasibleSpec, match=r"source 'math' needs 56,000 tokens .* shortfall 8,000 tokens"):
        make_plan(load_spec(_spec(tmp_path, data, phases)), build_catalog(load_spec(_spec(tmp_path, data, phases))))


def test_validation_is_held_out(tmp_path: Path, data: dict[str, str]) -> None:
    phases = [{"name": "p", "tokens": 3800 * SEQ, "mix": {"code": 1.0}}]
    m = _build(_spec(tmp_path, data, phases, validation={"fraction": 0.05}))
    val = m.validation()
    assert val is not None and len(val) == 200 + 600 + 50
    assert not set(_keys(val)) & set(_keys(m.instances("p")))
    with pytest.raises(InfeasibleSpec, match="source 'code' needs 64,000 tokens but has 60,800 available"):
        _build(
            _spec(
                tmp_path,
                data,
                [{"name": "p", "tokens": 4000 * SEQ, "mix": {"code": 1.0}}],
                validation={"fraction": 0.05},
            )
        )
    m = _build(
        _spec(
            tmp_path, data, phases, validation={"tokens": "3.2k", "sources": ["code"]}, destination=str(tmp_path / "v")
        )
    )
    val = m.validation()
    assert val is not None and len(val) == 200 and {m.sources[val.source_index(i)] for i in range(len(val))} == {"code"}


def test_partitions_split_a_source_into_equal_disjoint_parts(tmp_path: Path, data: dict[str, str]) -> None:
    phases = [
        {"name": "a", "tokens": 2000 * SEQ, "mix": {"code@0/2": 1.0}},
        {"name": "b", "tokens": 2000 * SEQ, "mix": {"code@1/2": 1.0}},
    ]
    m = _build(_spec(tmp_path, data, phases, partitions={"code": 2}))
    assert sorted(m.sources) == ["code@0/2", "code@1/2", "math", "web"]
    a, b = _keys(m.instances("a")), _keys(m.instances("b"))
    assert len(set(a)) == len(set(b)) == 2000 and not set(a) & set(b)
    assert max(start for _, start in a) < min(start for _, start in b)  # contiguous halves of the source


@pytest.mark.parametrize(
    ("phases", "extra", "message"),
    [
        ([{"name": "p", "tokens": 100 * SEQ, "mix": {"web": 0.5, "code": 0.4}}], {}, "mix ratios sum to 0.9, not 1"),
        ([{"name": "p", "tokens": 100 * SEQ, "mix": {"web": 0.5, "wiki": 0.5}}], {}, "unknown source 'wiki'"),
        (
            [{"name": "p", "tokens": 100 * SEQ, "mix": {"web": 1.0}, "max_repetition": {"wiki": 2}}],
            {},
            "unknown source 'wiki'",
        ),
        (
            [{"name": "p", "tokens": 100 * SEQ, "mix": {"web": 1.0}}],
            {"partitions": {"web": 2}},
            "'web' is partitioned: use web@0/2",
        ),
        (
            [{"name": "p", "tokens": 100 * SEQ, "mix": {"web@0/3": 1.0}}],
            {"partitions": {"web": 2}},
            "partitions web@0/2 .. web@1/2",
        ),
        ([{"name": "p", "tokens": 1, "mix": {"web": 1.0}}], {}, "tokens must be at least one instance"),
        ([{"name": "p", "tokens": "12x", "mix": {"web": 1.0}}], {}, "expected a token count"),
    ],
)
def test_invalid_specs(tmp_path: Path, data: dict[str, str], phases: list, extra: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_spec(_spec(tmp_path, data, phases, **extra))


def test_infeasible_spec_names_every_short_source(tmp_path: Path, data: dict[str, str]) -> None:
    spec = load_spec(
        _spec(tmp_path, data, [{"name": "big", "tokens": 20000 * SEQ, "mix": {"web": 0.5, "code": 0.3, "math": 0.2}}])
    )
    with pytest.raises(InfeasibleSpec) as err:
        make_plan(spec, build_catalog(spec))
    text = str(err.value)
    assert "source 'code' needs 96,000 tokens but has 64,000 available within max_repetition 1" in text
    assert "source 'math' needs 64,000 tokens but has 16,000 available" in text and "shortfall 48,000 tokens" in text
    assert "'web'" not in text


def test_dtype_and_file_problems(tmp_path: Path, data: dict[str, str]) -> None:
    phases = [{"name": "p", "tokens": 100 * SEQ, "mix": {"web": 0.5, "small": 0.5}}]
    data["small"] = _make_source(tmp_path, "small", [SEQ * 200], dtype="uint16")
    spec = load_spec(_spec(tmp_path, data, phases))
    with pytest.raises(ConfigError, match="mismatched dtypes across sources .*small: uint16"):
        build_catalog(spec)
    data["small"] = str(tmp_path / "nowhere" / "*.npy")
    with pytest.raises(ConfigError, match="source 'small': missing shard files"):
        build_catalog(load_spec(_spec(tmp_path, data, phases)))
    data["small"] = _make_source(tmp_path, "bare", [SEQ * 200], record=False)
    with pytest.raises(ConfigError, match="source 'small': dtype unknown"):
        build_catalog(load_spec(_spec(tmp_path, data, phases)))
    catalog = build_catalog(load_spec(_spec(tmp_path, data, phases, dtype="uint32")))
    assert catalog.dtype == np.uint32 and catalog.eos_token_id == 0


def test_plan_report_and_cli(tmp_path: Path, data: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    from dolma_py.cli.curriculum import main

    phases = [
        {"name": "pretrain", "tokens": 3000 * SEQ, "mix": {"web": 0.8, "math": 0.2}},
        {"name": "anneal", "tokens": 1000 * SEQ, "mix": {"web": 0.5, "math": 0.5}, "max_repetition": {"math": 2}},
    ]
    spec_path = _spec(tmp_path, data, phases)
    spec = load_spec(spec_path)
    report = format_plan(make_plan(spec, build_catalog(spec)))
    assert "phase 'anneal': 1,000 instances, 16,000 tokens" in report
    anneal = report.split("phase 'anneal'")[1]
    math_line = next(line for line in anneal.splitlines() if line.strip().startswith("math"))
    # math: 600 used in pretrain, 500 more in anneal -> 1.1 passes of its 1000 instances; 1400 remained within 2 passes
    assert math_line.split() == ["math", "0.5000", "8,000", "22,400", "1.100", "0.500000"]
    assert main(["plan", spec_path]) == 0
    assert main(["build", spec_path]) == 0
    assert "written" in capsys.readouterr().err
    assert spec.destination is not None
    summary_path = Path(spec.destination) / "_dolma_curriculum_summary.json"
    summary = json.loads(summary_path.read_text())
    assert (summary["units_done"], summary["counters"]["phases"], summary["counters"]["instances"]) == (1, 2, 4000)
    assert main(["build", spec_path, "--seed", "5"]) == 0
    assert "already up to date" in capsys.readouterr().err
    assert json.loads(summary_path.read_text())["units_skipped"] == 1
    with pytest.raises(ConfigError, match="usage: dolma curriculum"):
        main(["draw", spec_path])


def test_example_mix_specs_are_valid() -> None:
    paths = sorted((REPO / "configs" / "mixes").glob("*.yaml"))
    assert paths
    for path in paths:
        spec = load_spec(str(path))
        assert len(spec.phases) >= 2


def test_parse_count() -> None:
    assert parse_count("50B", "t") == 50 * 10**9
    assert parse_count("1.5M", "t") == 1_500_000
    assert parse_count(2048, "t") == 2048
    with pytest.raises(ConfigError):
        parse_count("0.5", "t")
