"""A real browser for tests: headless Chromium (Debian's ``chromium``) driven through the DevTools protocol over
``--remote-debugging-pipe`` (file descriptors 3 and 4, JSON messages ending in a NUL byte), so no Python driver
and no browser download are needed."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import queue
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable
from typing import Any

# Every wait below ends on an event the browser sends; the deadline only stops a test that would otherwise hang.
DEADLINE = 120.0


class BrowserError(Exception):
    """The browser answered a command with an error, or ended."""


def high(pair: tuple[int, int]) -> tuple[int, int]:
    """The pipe's ends moved above 10, so that making them the browser's fds 3 and 4 cannot clobber one of them."""
    moved = tuple(fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10) for fd in pair)
    for fd in pair:
        os.close(fd)
    return moved[0], moved[1]


class Browser:
    """One headless Chromium with one page (tab); ``goto``, ``evaluate``, ``type_text``."""

    def __init__(self) -> None:
        exe = shutil.which("chromium")
        if exe is None:
            raise RuntimeError("chromium is not installed: run the README's test command (.ci/test)")
        self.profile = tempfile.mkdtemp(prefix="ci-tags-chromium-")
        to_browser_r, self.to_browser = high(os.pipe())
        self.from_browser, from_browser_w = high(os.pipe())
        args = [exe, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                "--no-default-browser-check", "--disable-extensions", "--disable-background-networking",
                "--remote-debugging-pipe", f"--user-data-dir={self.profile}", "about:blank"]
        # the browser reads commands on fd 3 and writes answers on fd 4
        script = f'exec "$@" 3<&{to_browser_r} 4>&{from_browser_w}'
        self.process = subprocess.Popen(["bash", "-c", script, "chromium", *args], pass_fds=(to_browser_r,
                                        from_browser_w), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        os.close(to_browser_r)
        os.close(from_browser_w)
        self.next_id = 0
        self.answers: dict[int, queue.Queue[dict[str, Any]]] = {}
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self.exceptions: list[str] = []  # uncaught JavaScript errors of the pages opened, as the console shows them
        self.lock = threading.Lock()
        self.reader = threading.Thread(target=self.read, daemon=True)
        self.reader.start()
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        self.send("Page.enable", session=True)
        self.send("Runtime.enable", session=True)

    def read(self) -> None:
        buffer = b""
        with os.fdopen(self.from_browser, "rb", buffering=0) as stream:
            while chunk := stream.read(65536):
                buffer += chunk
                *messages, buffer = buffer.split(b"\0")
                for raw in messages:
                    message = json.loads(raw)
                    if "id" in message:
                        with self.lock:
                            box = self.answers.get(message["id"])
                        if box is not None:
                            box.put(message)
                    elif message.get("method") == "Runtime.exceptionThrown":
                        details = message["params"]["exceptionDetails"]
                        self.exceptions.append(details.get("exception", {}).get("description") or details["text"])
                    else:
                        self.events.put(message)
        self.events.put({"method": "closed"})

    def send(self, method: str, params: dict[str, Any] | None = None, *, session: bool = False) -> dict[str, Any]:
        with self.lock:
            self.next_id += 1
            number = self.next_id
            box: queue.Queue[dict[str, Any]] = queue.Queue()
            self.answers[number] = box
        message: dict[str, Any] = {"id": number, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = self.session
        os.write(self.to_browser, json.dumps(message).encode() + b"\0")
        try:
            answer = box.get(timeout=DEADLINE)
        except queue.Empty:
            raise BrowserError(f"no answer to {method}") from None
        if "error" in answer:
            raise BrowserError(f"{method}: {answer['error']}")
        return dict(answer.get("result", {}))

    def wait_event(self, method: str) -> dict[str, Any]:
        while True:
            try:
                event = self.events.get(timeout=DEADLINE)
            except queue.Empty:
                raise BrowserError(f"no {method} event") from None
            if event["method"] == "closed":
                raise BrowserError("the browser ended")
            if event["method"] == method and event.get("sessionId") == self.session:
                return event

    def goto(self, url: str) -> None:
        """Open ``url`` and return once the page has loaded (its load event)."""
        while not self.events.empty():
            self.events.get_nowait()
        answer = self.send("Page.navigate", {"url": url}, session=True)
        if answer.get("errorText"):
            raise BrowserError(f"{url}: {answer['errorText']}")
        self.wait_event("Page.loadEventFired")

    def evaluate(self, expression: str) -> Any:
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                                "awaitPromise": True}, session=True)
        if "exceptionDetails" in result:
            raise BrowserError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def type_text(self, text: str) -> None:
        """Type into the focused element as a user would (key events included)."""
        for char in text:
            self.send("Input.dispatchKeyEvent", {"type": "keyDown", "text": char, "key": char}, session=True)
            self.send("Input.dispatchKeyEvent", {"type": "keyUp", "key": char}, session=True)

    def wait_until(self, expression: str, check: Callable[[Any], bool] = bool) -> Any:
        """Evaluate ``expression`` again on each frame the page draws until ``check`` holds; its last value."""
        value = self.evaluate(expression)
        for _ in range(int(DEADLINE * 60)):
            if check(value):
                return value
            self.evaluate("new Promise(r => requestAnimationFrame(() => setTimeout(r, 0)))")
            value = self.evaluate(expression)
        raise BrowserError(f"{expression} never held; last value {value!r}")

    def close(self) -> None:
        with contextlib.suppress(BrowserError, OSError):
            self.send("Browser.close")
        try:
            self.process.wait(timeout=DEADLINE)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self.to_browser)
        shutil.rmtree(self.profile, ignore_errors=True)
