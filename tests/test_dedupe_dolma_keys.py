"""dolma 1.2.1's remaining dedupe keys: hash partitions, file partitions, document_dir, compression, is_s3_volume."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest
import yaml

from dolma_py.cli import main as cli
from dolma_py.errors import ConfigError

GOLDEN = Path(__file__).parent / "fixtures" / "dolma_golden" / "dedupe"


def run_config(tmp_path: Path, case: str, **dedupe: object) -> tuple[int, dict]:
    """Run the golden case's dolma config with extra `dedupe.*` keys, each run with its own filter."""
    config = yaml.safe_load((GOLDEN / case / "config.yaml").read_text().replace("{root}", str(tmp_path)))
    config["dedupe"].update(dedupe)
    suffix = "-".join(f"{k}{v}" for k, v in sorted(dedupe.items()))
    config["bloom_filter"]["file"] = str(tmp_path / f"filter-{suffix}.bin")
    path = tmp_path / f"config-{suffix}.yaml"
    path.write_text(yaml.safe_dump(config))
    return cli.main(["-c", str(path), "dedupe"]), config


def flagged(tmp_path: Path, experiment: str, attribute: str) -> set[tuple[str, int, int]]:
    out = set()
    for path in sorted((tmp_path / "attributes" / experiment).glob("*.jsonl.gz")):
        with gzip.open(path, "rt") as fh:
            for row in map(json.loads, fh):
                out.update((row["id"], s, e) for s, e, _ in row["attributes"].get(attribute, []))
    return out


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    shutil.copytree(GOLDEN / "documents", tmp_path / "documents")
    return tmp_path


@pytest.mark.parametrize(("case", "attribute"), [("paragraphs", "dup_paragraphs"), ("documents_text", "dup_docs")])
def test_hash_partitions_together_flag_what_one_run_flags(corpus: Path, case: str, attribute: str) -> None:
    assert run_config(corpus, case)[0] == 0
    whole = flagged(corpus, case, attribute)
    assert whole
    parts = []
    for index in range(3):
        assert run_config(corpus, case, num_partitions=3, partition_index=index)[0] == 0
        # dolma names each partition's experiment and attribute <name>_<index>
        parts.append(flagged(corpus, f"{case}_{index}", f"{attribute}_{index}"))
    assert set().union(*parts) == whole
    assert sum(len(p) for p in parts) == len(whole)  # each key belongs to exactly one partition


def test_file_partitions_split_the_files(corpus: Path) -> None:
    seen: list[str] = []
    for index in range(2):
        assert run_config(corpus, "paragraphs", num_partitions=2, partition_index=index, file_partition=True)[0] == 0
        seen += sorted(p.name for p in (corpus / "attributes" / f"paragraphs_{index}").glob("*.jsonl.gz"))
    assert sorted(seen) == sorted(p.name for p in (corpus / "documents").glob("*.jsonl.gz"))


def test_partition_index_out_of_range_fails_before_work(corpus: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_config(corpus, "paragraphs", num_partitions=2, partition_index=2)[0] == 2
    assert "dedupe.partition_index" in capsys.readouterr().err
    assert not (corpus / "attributes").exists()


def test_document_dir_names_the_replaced_component(tmp_path: Path) -> None:
    shutil.copytree(GOLDEN / "documents", tmp_path / "docs_v2")
    config = yaml.safe_load((GOLDEN / "paragraphs" / "config.yaml").read_text().replace("{root}", str(tmp_path)))
    config["documents"] = [str(tmp_path / "docs_v2" / "*.jsonl.gz")]
    config["dedupe"]["document_dir"] = "docs_v2"
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(config))
    assert cli.main(["-c", str(tmp_path / "c.yaml"), "dedupe"]) == 0
    assert len(list((tmp_path / "attributes" / "paragraphs").glob("*.jsonl.gz"))) == 3


def test_moot_keys_are_named_once(corpus: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = yaml.safe_load((GOLDEN / "paragraphs" / "config.yaml").read_text().replace("{root}", str(corpus)))
    config.update(compression={"input": "gzip", "output": "gz"}, is_s3_volume=True)
    (corpus / "c.yaml").write_text(yaml.safe_dump(config))
    assert cli.main(["-c", str(corpus / "c.yaml"), "dedupe"]) == 0
    assert capsys.readouterr().err.count("'is_s3_volume' has no effect here") == 1


def _golden_rows(case: str, name: str) -> list[dict]:
    return [json.loads(line) for line in (GOLDEN / case / name).read_text().splitlines()]


def test_compression_input_reads_a_codec_the_name_does_not_say(tmp_path: Path) -> None:
    """As dolma 1.2.1 (measured): gzip data in `part-0.jsonl` with `compression.input: gz` is read as gzip, and its
    attributes are written gzip-compressed under the documents' name (the output codec defaults to the input's)."""
    (tmp_path / "documents").mkdir()
    shutil.copy(GOLDEN / "documents" / "part-0.jsonl.gz", tmp_path / "documents" / "part-0.jsonl")
    config = yaml.safe_load((GOLDEN / "paragraphs" / "config.yaml").read_text().replace("{root}", str(tmp_path)))
    config["documents"] = [str(tmp_path / "documents" / "*.jsonl")]
    config["compression"] = {"input": "gz"}
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(config))
    assert cli.main(["-c", str(tmp_path / "c.yaml"), "dedupe"]) == 0
    written = tmp_path / "attributes" / "paragraphs" / "part-0.jsonl"
    with gzip.open(written, "rt") as fh:
        ours = [json.loads(line) for line in fh]
    assert [r["id"] for r in ours] == [r["id"] for r in _golden_rows("paragraphs", "part-0.jsonl")]


def test_compression_output_sets_the_attributes_codec(corpus: Path) -> None:
    import zstandard

    config = yaml.safe_load((GOLDEN / "paragraphs" / "config.yaml").read_text().replace("{root}", str(corpus)))
    config["compression"] = {"output": "zst"}
    (corpus / "c.yaml").write_text(yaml.safe_dump(config))
    assert cli.main(["-c", str(corpus / "c.yaml"), "dedupe"]) == 0
    data = (corpus / "attributes" / "paragraphs" / "part-0.jsonl.gz").read_bytes()
    text = zstandard.ZstdDecompressor().stream_reader(data).read().decode()
    assert [json.loads(line)["id"] for line in text.splitlines()] == [
        r["id"] for r in _golden_rows("paragraphs", "part-0.jsonl")
    ]


def test_bloom_filter_on_s3_is_fetched_and_written_back(s3_bucket: str, tmp_path: Path) -> None:
    from dolma_py.io.storage import s3_client

    shutil.copytree(GOLDEN / "documents", tmp_path / "documents")
    remote = f"s3://{s3_bucket}/filters/paragraphs.bin"
    config = yaml.safe_load((GOLDEN / "paragraphs" / "config.yaml").read_text().replace("{root}", str(tmp_path)))
    config["bloom_filter"]["file"] = remote
    config["documents"] = [str(tmp_path / "documents" / "part-0.jsonl.gz")]
    config["work_dir"] = {"output": str(tmp_path / "work-a")}
    (tmp_path / "a.yaml").write_text(yaml.safe_dump(config))
    assert cli.main(["-c", str(tmp_path / "a.yaml"), "dedupe"]) == 0
    keys = {o["Key"] for o in s3_client().list_objects_v2(Bucket=s3_bucket)["Contents"]}
    assert keys == {f"filters/paragraphs.bin{suffix}" for suffix in ("", ".meta.json", ".versions.json")}

    # another machine (another work dir) continues from the filter on S3: part-0's paragraphs are now known
    config["documents"] = [str(tmp_path / "documents" / "*.jsonl.gz")]
    config["work_dir"] = {"output": str(tmp_path / "work-b")}
    config["dedupe"]["name"] = "second"
    (tmp_path / "b.yaml").write_text(yaml.safe_dump(config))
    assert cli.main(["-c", str(tmp_path / "b.yaml"), "dedupe"]) == 0
    first = flagged(tmp_path, "second", "dup_paragraphs")
    with gzip.open(tmp_path / "documents" / "part-0.jsonl.gz", "rt") as fh:
        part0 = {d["id"] for d in map(json.loads, fh) if d["text"].strip()}
    assert part0 <= {doc_id for doc_id, _, _ in first}

    # decontamination reads the S3 filter without changing it
    before = s3_client().head_object(Bucket=s3_bucket, Key="filters/paragraphs.bin")["ETag"]
    config["bloom_filter"]["read_only"] = True
    config["dedupe"]["name"] = "decon"
    config["work_dir"] = {"output": str(tmp_path / "work-c")}
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(config))
    assert cli.main(["-c", str(tmp_path / "c.yaml"), "dedupe"]) == 0
    assert s3_client().head_object(Bucket=s3_bucket, Key="filters/paragraphs.bin")["ETag"] == before
    assert flagged(tmp_path, "decon", "dup_paragraphs") >= first


def test_a_file_partition_without_files_still_publishes_an_empty_filter(corpus: Path) -> None:
    from dolma_py.dedupe.plan import file_partition

    used = {file_partition(str(p), 50) for p in (corpus / "documents").glob("*.jsonl.gz")}
    empty = min(set(range(50)) - used)
    code, config = run_config(corpus, "paragraphs", num_partitions=50, partition_index=empty, file_partition=True)
    assert code == 0
    assert Path(config["bloom_filter"]["file"]).exists()
    assert not (corpus / "attributes" / f"paragraphs_{empty}").exists()


def test_an_s3_filter_torn_between_files_is_refused(s3_bucket: str, tmp_path: Path) -> None:
    from dolma_py.dedupe import remote_filter
    from dolma_py.io.storage import s3_client

    shutil.copytree(GOLDEN / "documents", tmp_path / "documents")
    config = yaml.safe_load((GOLDEN / "paragraphs" / "config.yaml").read_text().replace("{root}", str(tmp_path)))
    config["bloom_filter"]["file"] = f"s3://{s3_bucket}/f.bin"
    (tmp_path / "a.yaml").write_text(yaml.safe_dump(config))
    assert cli.main(["-c", str(tmp_path / "a.yaml"), "dedupe"]) == 0
    # a later upload that stopped after the filter but before its version record
    s3_client().put_object(Bucket=s3_bucket, Key="f.bin", Body=b"not the recorded version")
    with pytest.raises(ConfigError, match="not the version its .versions.json records"):
        remote_filter.fetch(f"s3://{s3_bucket}/f.bin", 1, str(tmp_path / "work"), read_only=True)
