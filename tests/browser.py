"""Open a page in headless Chromium over the DevTools protocol (on a pipe: no extra packages) and report what a
person would see: every console error, uncaught exception and failed resource load, and a screenshot."""

from __future__ import annotations

import base64
import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any

import orjson

BROWSERS = ("/usr/lib/chromium/chromium", "chromium", "chromium-browser", "google-chrome")
"""Debian's `chromium` package puts a shell wrapper on PATH; its binary is run directly, so nothing stands
between the test and the DevTools pipe's file descriptors."""


def find_browser() -> str | None:
    """The first Chromium-family executable found."""
    return next((path for name in BROWSERS if (path := shutil.which(name))), None)


@dataclass
class PageVisit:
    """What loading a page produced."""

    errors: list[str] = field(default_factory=list)
    screenshot: bytes = b""


class _Pipe:
    """DevTools messages over --remote-debugging-pipe: NUL-terminated JSON, commands on fd 3, replies on fd 4."""

    def __init__(self, to_browser: int, from_browser: int) -> None:
        self.out, self.inp, self.buffer, self.next_id = to_browser, from_browser, b"", 0
        self.events: list[dict[str, Any]] = []

    def send(self, method: str, params: dict[str, Any] | None = None, session: str | None = None) -> dict[str, Any]:
        self.next_id += 1
        message: dict[str, Any] = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self.out, orjson.dumps(message) + b"\0")
        while True:
            reply = self.receive()
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def receive(self) -> dict[str, Any]:
        while b"\0" not in self.buffer:
            chunk = os.read(self.inp, 1 << 16)
            if not chunk:
                raise RuntimeError("the browser closed the DevTools pipe")
            self.buffer += chunk
        raw, self.buffer = self.buffer.split(b"\0", 1)
        return orjson.loads(raw)

    def wait_for(self, method: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not any(e.get("method") == method for e in self.events):
            if time.monotonic() > deadline:
                raise TimeoutError(f"no {method} within {timeout}s")
            self.events.append(self.receive())


def _errors(events: list[dict[str, Any]]) -> list[str]:
    found = []
    for event in events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            found.append("console: " + " ".join(str(a.get("value", a.get("description"))) for a in params["args"]))
        elif method == "Runtime.exceptionThrown":
            found.append("exception: " + params["exceptionDetails"].get("text", ""))
        elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
            found.append(f"log: {params['entry']['text']} {params['entry'].get('url', '')}")
        elif method == "Network.loadingFailed":
            found.append(f"resource failed: {params.get('errorText')}")
    return found


def visit(browser: str, url: str, width: int = 1280, height: int = 900, timeout: float = 60.0) -> PageVisit:
    """Load `url`, wait for its load event (and a moment for late errors), capture a full-page screenshot."""
    to_r, to_w = os.pipe()
    from_r, from_w = os.pipe()

    def plumb() -> None:  # the browser reads commands on fd 3 and writes replies on fd 4
        os.setsid()  # its own process group, so that its helpers (renderers, crashpad) end with it
        high_r, high_w = os.dup2(to_r, 100), os.dup2(from_w, 101)  # out of the way of 3 and 4 first
        os.dup2(high_r, 3)
        os.dup2(high_w, 4)

    with tempfile.TemporaryDirectory() as profile:
        args = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe", "--no-first-run",
                "--disable-extensions", "--hide-scrollbars", f"--user-data-dir={profile}"]
        process = subprocess.Popen(args, preexec_fn=plumb, pass_fds=(3, 4),  # noqa: S603, PLW1509
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_r)
        os.close(from_w)
        pipe = _Pipe(to_w, from_r)
        try:
            target = pipe.send("Target.createTarget", {"url": "about:blank"})["targetId"]
            session = pipe.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
            for domain in ("Page", "Runtime", "Log", "Network"):
                pipe.send(f"{domain}.enable", session=session)
            metrics = {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600}
            pipe.send("Emulation.setDeviceMetricsOverride", metrics, session=session)  # any width, even a phone's
            pipe.events.clear()
            pipe.send("Page.navigate", {"url": url}, session=session)
            pipe.wait_for("Page.loadEventFired", timeout)
            pipe.send("Runtime.evaluate", {"expression": "new Promise(r => setTimeout(r, 300))", "awaitPromise": True},
                      session=session)
            shot = pipe.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True},
                             session=session)
            return PageVisit(_errors(pipe.events), base64.b64decode(shot["data"]))
        finally:
            _close(process, pipe)
            os.close(to_w)
            os.close(from_r)


def _close(process: subprocess.Popen, pipe: _Pipe) -> None:
    """End the browser and every helper it started before its profile is deleted: a helper still writing into the
    profile makes the temporary directory's removal fail with "Directory not empty"."""
    try:
        pipe.send("Browser.close")
        process.wait(timeout=10)
    except (OSError, TimeoutError, subprocess.TimeoutExpired, RuntimeError):
        pass
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()
