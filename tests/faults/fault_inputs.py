"""Bad input: one documents directory per case (a good file and a bad one), and every document-reading stage run
on it strictly (a clear `file:line: field` error, no traceback, nothing written for the bad file) and with
`--skip_bad_lines` (completes, attribute lines still aligned with document lines).
"""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml
import zstandard
from fault_pipeline import DOLMA, count_lines

GOOD = [{"id": f"g{i}", "text": f"Good document number {i}. " * 20, "source": "src"} for i in range(5)]


def _line(doc: dict) -> bytes:
    return json.dumps(doc).encode() + b"\n"


def _lines(middle: bytes) -> bytes:
    """A three-line file whose line 2 is `middle`."""
    return _line({"id": "b1", "text": "first line is fine", "source": "src"}) + middle + b"\n" + _line(
        {"id": "b3", "text": "third line is fine", "source": "src"})


@dataclass(frozen=True)
class Case:
    """One kind of bad input: the bad file's name and bytes, and what a clear error must name."""

    name: str
    filename: str
    data: bytes | None  # None: a directory with this name
    line: int | None = None  # the line the error must name (None: a whole-file problem)
    field_name: str | None = None  # the field the error must name
    valid: bool = False  # the input is acceptable: the stage must complete


def cases(huge_mb: int) -> list[Case]:
    """Every bad-input case; the huge line holds `huge_mb` MB of text."""
    full = b"".join(_line({"id": f"t{i}", "text": "words to cut off " * 50, "source": "src"}) for i in range(200))
    gz, zst = gzip.compress(full, mtime=0), zstandard.ZstdCompressor().compress(full)
    return [
        Case("malformed_json", "bad.jsonl.gz", gzip.compress(_lines(b'{"id": "b2", "text": "unterminated'), mtime=0),
             line=2),
        Case("invalid_utf8", "bad.jsonl.gz", gzip.compress(_lines(b'{"id": "b2", "text": "caf\xe9 \xff", '
                                                                  b'"source": "src"}'), mtime=0), line=2),
        Case("nul_bytes", "bad.jsonl.gz", gzip.compress(_lines(b'{"id": "b2", "text": "a\x00b", "source": "src"}'),
                                                        mtime=0), line=2),
        Case("wrong_text_type", "bad.jsonl.gz", gzip.compress(_lines(b'{"id": "b2", "text": ["x"], "source": "src"}'),
                                                              mtime=0), line=2, field_name="text"),
        Case("wrong_id_type", "bad.jsonl.gz", gzip.compress(_lines(b'{"id": {"a": 1}, "text": "x", "source": "src"}'),
                                                            mtime=0), line=2, field_name="id"),
        Case("duplicate_keys", "bad.jsonl.gz", gzip.compress(_lines(
            b'{"id": "b2", "text": "first value", "text": "second value", "source": "src"}'), mtime=0), valid=True),
        Case("truncated_gz", "bad.jsonl.gz", gz[: len(gz) // 2]),
        Case("truncated_zst", "bad.jsonl.zst", zst[: len(zst) // 2]),
        Case("empty_file", "bad.jsonl.gz", b"", valid=True),
        Case("directory_named_like_a_file", "bad.jsonl.gz", None),
        Case(f"huge_line_{huge_mb}mb", "bad.jsonl.gz", gzip.compress(_line(
            {"id": "huge", "text": ("a" * 99 + "\n") * (huge_mb * 10_000), "source": "src"}), mtime=1), valid=True),
    ]


def write_case(root: Path, case: Case) -> Path:
    """`root/documents/src/` holding `good.jsonl.gz` and the case's bad file; the bad file's path."""
    shutil.rmtree(root, ignore_errors=True)
    src = root / "documents" / "src"
    src.mkdir(parents=True)
    (src / "good.jsonl.gz").write_bytes(gzip.compress(b"".join(_line(d) for d in GOOD), mtime=0))
    bad = src / case.filename
    if case.data is None:
        bad.mkdir()
    else:
        bad.write_bytes(case.data)
    return bad


def _attribute_stage(experiment: str, config: Callable[[Path], dict] | None) -> Callable[[Path, bool], list[str]]:
    def argv(root: Path, lenient: bool) -> list[str]:
        flag = ["--skip_bad_lines", "true"] if lenient else []
        if config is None:
            return ["tag", "--documents", f"{root}/documents/src/*", "--taggers", "char_length_v1",
                    "--experiment", experiment, *flag]
        path = root / "dedupe.yaml"
        path.write_text(yaml.safe_dump(config(root)))
        return ["-c", str(path), "dedupe", *flag]

    return argv


def _dedupe(name: str, spec: dict) -> Callable[[Path], dict]:
    return lambda root: {"documents": [f"{root}/documents/src/*"], "dedupe": {"name": name, **spec, "skip_empty": True},
                         "bloom_filter": {"file": f"{root}/filter.bin", "estimated_doc_count": 10_000,
                                          "desired_false_positive_rate": 1e-4}, "processes": 1}


def _mix(root: Path, lenient: bool) -> list[str]:
    path = root / "mix.yaml"
    path.write_text(yaml.safe_dump({"streams": [{"name": "src", "documents": [f"{root}/documents/src/*"],
                                                 "output": {"path": f"{root}/mixed", "max_size_in_bytes": 10**9}}],
                                    "processes": 1}))
    return ["-c", str(path), "mix"]


def _tokens(tokenizer: Path) -> Callable[[Path, bool], list[str]]:
    def argv(root: Path, lenient: bool) -> list[str]:
        flag = ["--skip_bad_lines", "true"] if lenient else []
        return ["tokens", "--documents", f"{root}/documents/src/*", "--destination", f"{root}/tokens",
                "--tokenizer.name_or_path", str(tokenizer), "--tokenizer.eos_token_id", "0", *flag]

    return argv


@dataclass(frozen=True)
class ReaderStage:
    """A stage that reads documents: its command line and where it writes the bad file's output (None: its outputs
    pool every input) and whether it has `--skip_bad_lines`."""

    name: str
    argv: Callable[[Path, bool], list[str]]
    attributes: str | None
    lenient: bool = True

    def visible_outputs(self, root: Path) -> list[Path]:
        """Data files the stage wrote (names starting with `.` or `_` are bookkeeping, never data)."""
        top = root / (f"attributes/{self.attributes}" if self.attributes else ("mixed" if self.name == "mix"
                                                                                 else "tokens"))
        if not top.exists():
            return []
        return [p for p in top.rglob("*") if p.is_file()
                and not any(part.startswith((".", "_")) for part in p.relative_to(top).parts)]


def reader_stages(tokenizer: Path) -> list[ReaderStage]:
    """tag, dedupe (documents, paragraphs, n-grams), mix and tokens."""
    return [
        ReaderStage("tag", _attribute_stage("e", None), "e"),
        ReaderStage("dedupe-documents", _attribute_stage("dd", _dedupe("dd", {"documents": {
            "attribute_name": "dup", "key": "$.text"}})), "dd"),
        ReaderStage("dedupe-paragraphs", _attribute_stage("dp", _dedupe("dp", {"paragraphs": {
            "attribute_name": "dup"}})), "dp"),
        ReaderStage("dedupe-ngrams", _attribute_stage("dn", _dedupe("dn", {"paragraphs": {
            "attribute_name": "dup", "by_ngram": {"ngram_length": 5, "stride": 1, "overlap_threshold": 0.8}}})), "dn"),
        ReaderStage("mix", _mix, None, lenient=False),
        ReaderStage("tokens", _tokens(tokenizer), None),
    ]


@dataclass
class Outcome:
    """What one stage did with one case, strictly and leniently, and which expectations failed."""

    stage: str
    case: str
    strict_rc: int
    strict_message: str
    lenient_rc: int | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([DOLMA, *argv], capture_output=True, text=True, timeout=900)


def _error_problems(case: Case, bad: Path, proc: subprocess.CompletedProcess[str]) -> list[str]:
    output = proc.stdout + proc.stderr
    problems = []
    if proc.returncode == 0:
        return ["strict run succeeded on bad input"]
    if "Traceback" in output:
        problems.append("strict run crashed with a traceback")
    if bad.name not in output:
        problems.append(f"error does not name the file {bad.name}")
    if case.line is not None and f"{bad.name}:{case.line}" not in output:
        problems.append(f"error does not name line {case.line} as {bad.name}:{case.line}")
    if case.field_name is not None and f"'{case.field_name}'" not in output and f"`{case.field_name}`" not in output \
            and f"{case.field_name}:" not in output and f'"{case.field_name}"' not in output:
        problems.append(f"error does not name the field {case.field_name}")
    return problems


def _aligned(stage: ReaderStage, root: Path, bad: Path) -> list[str]:
    if stage.attributes is None:
        return []
    out = root / "attributes" / stage.attributes / "src" / bad.name
    if not out.exists():
        return [f"no attributes file for {bad.name}"]
    if count_lines(out) != count_lines(bad):
        return [f"{out.name} has {count_lines(out)} lines for {count_lines(bad)} document lines"]
    return []


def try_case(stage: ReaderStage, case: Case, work: Path) -> Outcome:
    """Run `stage` on `case` strictly, then (for line-level cases) with `--skip_bad_lines`; check both."""
    root = work / f"{stage.name}-{case.name}"
    bad = write_case(root, case)
    strict = _run(stage.argv(root, False))
    message = next((line for line in (strict.stderr + strict.stdout).splitlines() if bad.name in line),
                   (strict.stderr or strict.stdout).strip()[-300:])
    outcome = Outcome(stage.name, case.name, strict.returncode, message[:400])
    if case.valid:
        if strict.returncode != 0:
            outcome.problems.append(f"failed on valid input: {message[:200]}")
        elif case.data is not None:
            outcome.problems += _aligned(stage, root, bad)
    else:
        outcome.problems += _error_problems(case, bad, strict)
        if stage.attributes and (root / "attributes" / stage.attributes / "src" / bad.name).exists():
            outcome.problems.append("output written for the bad file")
        if not stage.attributes and stage.visible_outputs(root):
            outcome.problems.append(f"partial output: {stage.visible_outputs(root)[0].name}")
    if case.line is not None:
        if not stage.lenient:
            outcome.problems.append("no --skip_bad_lines option")
        else:
            shutil.rmtree(root, ignore_errors=True)
            bad = write_case(root, case)
            lenient = _run(stage.argv(root, True))
            outcome.lenient_rc = lenient.returncode
            if lenient.returncode != 0:
                outcome.problems.append(f"--skip_bad_lines run failed: {lenient.stderr.strip()[-200:]}")
            else:
                outcome.problems += _aligned(stage, root, bad)
    shutil.rmtree(root, ignore_errors=True)
    return outcome


def outcomes_as_dicts(outcomes: list[Outcome]) -> list[dict]:
    """JSON-ready outcomes."""
    return [asdict(o) | {"ok": o.ok} for o in outcomes]
