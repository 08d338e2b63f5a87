"""The executor layer: ordered map (local pool and Ray), O(n) Ray waits, the shared run summary, core import purity."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import types
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest
from conftest import write_documents

from dolma_py.cli import main as cli
from dolma_py.errors import DolmaError
from dolma_py.exec.executors import LocalExecutor, RayExecutor, WorkerLost
from dolma_py.exec.runner import RunSummary, summarized_run, summary_directory
from dolma_py.exec.units import Unit, UnitResult
from dolma_py.io.lock import LocalLock, LockedError, run_lock

REPO = Path(__file__).resolve().parents[1]


def slow_first(item: int) -> tuple[int, int]:
    """Earlier items take longer, so a pool that yielded in completion order would reverse them."""
    time.sleep(0.02 * (5 - item % 5))
    return item, os.getpid()


def fail_on_three(item: int) -> int:
    if item == 3:
        raise ValueError("item 3 is bad")
    return item


def die_on_two(item: int) -> int:
    if item == 2:
        os._exit(1)
    return item


def read_marker(item: int) -> str | None:
    return os.environ.get("DOLMA_PY_TEST_INIT")


def set_marker() -> None:
    os.environ["DOLMA_PY_TEST_INIT"] = "ran"


def slow_first_on_thread(item: int) -> tuple[int, int]:
    """`slow_first`, naming the thread instead of the process."""
    time.sleep(0.02 * (5 - item % 5))
    return item, threading.get_ident()


@pytest.mark.parametrize("processes", [1, 2, 3])
@pytest.mark.parametrize("window", [1, 4])
def test_local_ordered_map_keeps_input_order(processes: int, window: int) -> None:
    items = list(range(12))
    results = list(LocalExecutor(processes).ordered_map(slow_first, items, window))
    assert [item for item, _ in results] == items
    pids = {pid for _, pid in results}
    assert (pids == {os.getpid()}) == (processes == 1)


@pytest.mark.parametrize("window", [1, 4])
def test_thread_ordered_map_keeps_input_order_in_this_process(window: int) -> None:
    items = list(range(12))
    results = list(LocalExecutor(3, threads=True).ordered_map(slow_first_on_thread, items, window))
    assert [item for item, _ in results] == items
    assert threading.get_ident() not in {ident for _, ident in results}
    assert list(LocalExecutor(2, threads=True).ordered_map(slow_first, items, window)) == [
        (item, os.getpid()) for item in items]


@pytest.mark.parametrize("threads", [False, True], ids=["processes", "threads"])
def test_local_ordered_map_raises_errors_in_order(threads: bool) -> None:
    mapped = LocalExecutor(2, threads=threads).ordered_map(fail_on_three, list(range(8)), 4)
    assert [next(mapped) for _ in range(3)] == [0, 1, 2]
    with pytest.raises(ValueError, match="item 3 is bad"):
        next(mapped)


def test_local_ordered_map_reports_a_dead_worker() -> None:
    mapped = LocalExecutor(2).ordered_map(die_on_two, list(range(6)), 2)
    assert next(mapped) == 0
    with pytest.raises(WorkerLost, match="worker process died"):
        list(mapped)


def test_worker_init_runs_in_workers_only() -> None:
    assert list(LocalExecutor(2).ordered_map(read_marker, [0, 1, 2], 2, worker_init=set_marker)) == ["ran"] * 3
    assert list(LocalExecutor(1).ordered_map(read_marker, [0, 1], 2, worker_init=set_marker)) == [None, None]
    threads = LocalExecutor(2, threads=True)
    assert list(threads.ordered_map(read_marker, [0, 1, 2], 2, worker_init=set_marker)) == [None] * 3
    assert "DOLMA_PY_TEST_INIT" not in os.environ


def test_ordered_map_rejects_an_empty_window() -> None:
    with pytest.raises(DolmaError, match="window must be >= 1"):
        list(LocalExecutor(2).ordered_map(slow_first, [1, 2], 0))


def test_ray_ordered_map_keeps_input_order(ray_cluster: str) -> None:
    import ray.cloudpickle

    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # Ray workers cannot import this test module
    executor = RayExecutor(ray_cluster)
    items = list(range(10))
    assert [item for item, _ in executor.ordered_map(slow_first, items, 3)] == items
    assert list(executor.ordered_map(read_marker, [0, 1], 2, worker_init=set_marker)) == ["ran", "ran"]
    with pytest.raises(ValueError, match="item 3 is bad"):
        list(executor.ordered_map(fail_on_three, items, 4))


class FakeRay(types.ModuleType):
    """Enough of `ray` for `RayExecutor.run`: tasks finish in reverse order; `wait` records each list's length."""

    def __init__(self) -> None:
        super().__init__("ray")
        self.waited = 0
        self.exceptions = types.SimpleNamespace(RayError=RuntimeError)

    def is_initialized(self) -> bool:
        return True

    def remote(self, **_: Any) -> Any:
        def wrap(fn: Any) -> Any:
            return types.SimpleNamespace(remote=lambda *args: (fn, args))

        return wrap

    def wait(self, refs: list[Any], num_returns: int) -> tuple[list[Any], list[Any]]:
        self.waited += len(refs)
        return refs[-num_returns:], refs[:-num_returns]

    def get(self, ref: Any) -> Any:
        fn, args = ref
        return fn(*args)


def count_unit(unit: Unit) -> UnitResult:
    return UnitResult(key=unit.key, documents=1)


def test_ray_run_waits_in_linear_time(monkeypatch: pytest.MonkeyPatch) -> None:
    ray = FakeRay()
    monkeypatch.setitem(sys.modules, "ray", ray)
    units = [Unit(key=f"u{i:05d}", inputs=(), outputs=(f"/x/{i}",)) for i in range(3000)]
    done = [unit.key for unit, _ in RayExecutor("fake", wait_window=8).run(count_unit, units)]
    assert sorted(done) == [unit.key for unit in units]
    assert ray.waited <= 8 * len(units)  # waiting on every pending task each time would be ~4.5 million


def test_summarized_run_counts_an_exception_and_holds_the_lock(tmp_path: Path) -> None:
    where = str(tmp_path / "_dolma_x_summary.json")
    with pytest.raises(RuntimeError, match="boom"), summarized_run("x", where, [where], units_total=1):
        with pytest.raises(LockedError):  # another run (here: a second lock object) is refused meanwhile
            LocalLock(str(tmp_path), "other").acquire()
        raise RuntimeError("boom")
    summary = json.loads(Path(where).read_text())
    assert summary["units_failed"] == 1 and summary["failures"][0]["error"] == "RuntimeError: boom"
    with run_lock([where], "after"):  # released
        pass


def test_summary_directory() -> None:
    assert summary_directory(["/data/out/a", "/data/out/b/"]) == "/data/out"
    assert summary_directory(["/a/x", "/b/y"]) == "/a/x"
    assert summary_directory(["s3://bucket/a", "s3://bucket/b"]) == "s3://bucket/a"
    assert summary_directory(["s3://bucket/run/a", "s3://bucket/run/b"]) == "s3://bucket/run"


def test_writable_dedupe_holds_the_run_lock(tmp_path: Path) -> None:
    write_documents(tmp_path / "documents" / "a.jsonl.gz", [{"id": "1", "text": "hello\n"}])
    args = ["dedupe", "--documents", str(tmp_path / "documents" / "*.gz"), "--dedupe.name", "d",
            "--dedupe.paragraphs.attribute_name", "dup", "--bloom_filter.file", str(tmp_path / "bf" / "f.bin"),
            "--bloom_filter.estimated_doc_count", "1000", "--bloom_filter.desired_false_positive_rate", "1e-4"]
    other = LocalLock(str(tmp_path / "attributes" / "d"), "someone else")  # another run's lock
    other.acquire()
    try:
        assert cli.main(args) == 2
    finally:
        other.release()
    assert not (tmp_path / "bf" / "f.bin").exists()
    assert cli.main(args) == 0
    summary = json.loads((tmp_path / "attributes" / "d" / "_dolma_dedupe_summary.json").read_text())
    assert set(summary) == {f.name for f in fields(RunSummary)}
    assert (summary["units_done"], summary["documents"]) == (1, 1)


def test_core_does_not_import_plugins() -> None:
    """Every dolma_py module outside cli/ imports without loading `mixers` or `taggers`."""
    script = """
import importlib, pkgutil, sys
import dolma_py
missing = []
for info in pkgutil.walk_packages(dolma_py.__path__, "dolma_py."):
    if info.name.startswith("dolma_py.cli"):
        continue
    try:
        importlib.import_module(info.name)
    except ModuleNotFoundError as err:  # an optional extra that is not installed
        if err.name.split(".")[0] in ("mixers", "taggers", "dolma_py"):
            raise
        missing.append(info.name)
plugins = sorted(m for m in sys.modules if m.split(".")[0] in ("mixers", "taggers"))
core = [m for m in sys.modules if m.startswith("dolma_py.")]
assert not plugins, plugins
assert len(core) > 40, core
print("missing extras:", missing)
"""
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("started_early", [True, False])
def test_forkserver_started_early_preloads_the_command_modules(tmp_path: Path, started_early: bool) -> None:
    """`start_forkserver` imports a command's worker modules once, before any pool: workers fork with them loaded
    (without it, a pool preloads only its function's own module)."""
    (tmp_path / "probe.py").write_text("import sys\n\ndef loaded(name):\n    return name in sys.modules\n")
    (tmp_path / "probe_marker.py").write_text("")
    script = f"""
import probe
from dolma_py.exec.executors import LocalExecutor, start_forkserver
if {started_early}:
    start_forkserver(["probe_marker"])
print(list(LocalExecutor(2).ordered_map(probe.loaded, ["probe_marker"] * 2, window=2)))
"""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(REPO)])}
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str([started_early] * 2)


def test_pool_commands_name_their_worker_modules() -> None:
    """Each command that runs units in a local pool names modules that exist, and a config asking for a pool
    says so."""
    import importlib

    from dolma_py.config.schema import ExecConfig

    for name in ("tag", "dedupe", "mix", "tokens", "stat"):
        for module in cli._command_module(name).WORKER_MODULES:
            importlib.import_module(module)
    assert ExecConfig(processes=2).uses_local_pool
    assert not ExecConfig(processes=2, ray_address="auto").uses_local_pool
    assert not ExecConfig(processes=2, dryrun=True).uses_local_pool
    assert not ExecConfig(processes=1).uses_local_pool
