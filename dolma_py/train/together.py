"""Failing together: an error on one rank stops every rank, each naming the failing rank and its message.

Without this, a rank that raises (a bad token id in its share of the batch, a shard it cannot read, an export
that fails on rank 0) leaves the others blocked in the next all-reduce or barrier until the collective timeout,
with nothing in their logs. Three mechanisms, all over a CPU (gloo) control group and the launcher's store, so none
of them waits on the GPU stream:

- `agree(control, error)`: a collective check. Every rank passes its local error (or None); if any rank failed,
  every rank raises, the failing one its own exception and the others `RankFailed` with its message. The trainer
  runs it before the first step (the ranks' configs and manifests must match) and at every step on the data just
  read (token ids), so expected per-rank errors never reach a collective of the model.
- `main_only(control, what, fn)`: rank-0-only work (export, plot, publishing a checkpoint) followed by `agree`:
  the others wait exactly as long as the work takes and raise its error if it fails.
- `FailTogether`: around the whole run, for errors nobody checked for (say an out-of-memory in one rank's
  forward). The failing rank posts its message to the store and leaves the process group, which makes the
  collectives its peers are blocked in fail; each peer then raises `RankFailed` with the posted message. A watcher
  thread covers a peer that is blocked where no error can reach it (a GPU sync behind a collective that will never
  complete): once a failure is posted, it gives the main thread `grace_s` seconds to raise, then prints the message
  and exits the process.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
import traceback
from collections.abc import Callable
from datetime import timedelta
from types import TracebackType
from typing import Any

import torch
import torch.distributed as dist

from dolma_py.errors import DolmaError

_PREFIX = "dolma_train_failure"
_AGREED = "_dolma_agreed"  # set on an error every rank already knows of (raised through `agree`)


class RankFailed(DolmaError):
    """Another rank failed; the message is that rank's."""


def _describe(err: BaseException) -> str:
    return str(err) if isinstance(err, DolmaError) else f"{type(err).__name__}: {err}"


class ControlGroup:
    """This rank's view of the others for failure handling: a gloo group and the store (world 1: neither)."""

    def __init__(self, world: int, rank: int, timeout_s: float = 1800.0):
        self.world = world
        self.rank = rank
        self.group: Any = None
        self.store: Any = None
        if world > 1:
            self.group = dist.new_group(backend="gloo", timeout=timedelta(seconds=timeout_s))
            self.store = dist.PrefixStore(_PREFIX, dist.distributed_c10d._get_default_store())

    def post(self, err: BaseException) -> None:
        """Publish this rank's failure for the others (best effort: the store may be gone already)."""
        if self.store is None:
            return
        try:
            self.store.set(f"rank{self.rank}", _describe(err))
            self.store.add("count", 1)
        except Exception:  # noqa: BLE001 - the peers learn of the failure from the broken collectives anyway
            pass

    def posted(self) -> tuple[int, str] | None:
        """The lowest failed rank and its message, if a rank other than this one posted a failure."""
        if self.store is None or self.store.add("count", 0) == 0:
            return None
        for rank in range(self.world):
            if rank != self.rank and self.store.check([f"rank{rank}"]):
                return rank, self.store.get(f"rank{rank}").decode("utf-8", "replace")
        return None


def agree(control: ControlGroup, error: BaseException | None, what: str = "") -> None:
    """Raise on every rank if `error` is set on any rank (a collective: every rank calls it with its own)."""
    if control.world == 1 or control.group is None:
        if error is not None:
            raise error
        return
    flag = torch.tensor([0 if error is None else 1], dtype=torch.int32)
    dist.all_reduce(flag, op=dist.ReduceOp.MAX, group=control.group)
    if not int(flag):
        return
    messages: list[str | None] = [None] * control.world
    dist.all_gather_object(messages, None if error is None else _describe(error), group=control.group)
    if error is not None:
        setattr(error, _AGREED, True)
        raise error
    rank, message = next((r, m) for r, m in enumerate(messages) if m is not None)
    raise RankFailed(f"rank {rank} failed{f' ({what})' if what else ''}: {message}")


def main_only(control: ControlGroup, what: str, fn: Callable[[], Any]) -> None:
    """Run `fn` on rank 0 only, then make every rank raise if it failed (a collective)."""
    error = None
    if control.rank == 0:
        try:
            fn()
        except Exception as err:  # noqa: BLE001 - handed to every rank by agree
            error = err
    agree(control, error, what)


def agree_on(control: ControlGroup, what: str, value: str) -> None:
    """Every rank must hold the same `value` (e.g. a digest of its config): otherwise all raise, naming the rank."""
    if control.world == 1 or control.group is None:
        return
    values: list[str | None] = [None] * control.world
    dist.all_gather_object(values, value, group=control.group)
    differ = [r for r, v in enumerate(values) if v != values[0]]
    if differ:
        raise RankFailed(f"rank {differ[0]}'s {what} differs from rank 0's; every rank must run the same")


class FailTogether:
    """Context manager around a rank's run: an unexpected error is posted and the group left, so peers stop too."""

    def __init__(self, control: ControlGroup, leave: Callable[[], None], grace_s: float = 30.0, poll_s: float = 2.0):
        self.control = control
        self.leave = leave
        self.grace_s = grace_s
        self.poll_s = poll_s
        self._done = threading.Event()
        self._watcher: threading.Thread | None = None

    def __enter__(self) -> FailTogether:
        if self.control.store is not None:
            self._watcher = threading.Thread(target=self._watch, name="dolma-fail-together", daemon=True)
            self._watcher.start()
        return self

    def _watch(self) -> None:
        """Exit the process if a peer's failure is posted and the main thread has not stopped within grace_s."""
        while not self._done.wait(self.poll_s):
            try:
                failure = self.control.posted()
            except Exception:  # noqa: BLE001 - the store is gone: its host, rank 0, died
                failure = (0, "rank 0 is gone")
            if failure is None or self._done.wait(self.grace_s):
                continue
            rank, message = failure
            print(f"rank {self.control.rank}: stopping, rank {rank} failed: {message}", file=sys.stderr, flush=True)
            os._exit(1)

    def _stop_watcher(self) -> None:
        self._done.set()
        if self._watcher is not None:
            self._watcher.join()
            self._watcher = None

    def __exit__(self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None) -> None:
        self._stop_watcher()
        if err is None or self.control.store is None or isinstance(err, RankFailed) or getattr(err, _AGREED, False):
            return
        failure = self._posted_within(2.0)
        if failure is not None:  # a peer failed first: this rank's error is the collective that broke
            with contextlib.suppress(Exception):
                self.control.store.add("seen", 1)
            rank, message = failure
            raise RankFailed(f"rank {rank} failed: {message}") from err
        self.control.post(err)
        traceback.print_exception(kind, err, tb, file=sys.stderr)
        self.leave()  # breaks the collectives the peers wait in
        if self.control.rank == 0:  # rank 0 hosts the store: let the peers read the message first
            self._wait_seen()

    def _posted_within(self, seconds: float) -> tuple[int, str] | None:
        deadline = time.monotonic() + seconds
        while True:
            try:
                failure = self.control.posted()
            except Exception:  # noqa: BLE001
                return (0, "rank 0 is gone")
            if failure is not None or time.monotonic() > deadline:
                return failure
            time.sleep(0.05)

    def _wait_seen(self) -> None:
        deadline = time.monotonic() + self.grace_s
        while time.monotonic() < deadline:
            try:
                if self.control.store.add("seen", 0) >= self.control.world - 1:
                    return
            except Exception:  # noqa: BLE001
                return
            time.sleep(0.05)
