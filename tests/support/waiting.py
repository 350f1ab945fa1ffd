"""Waiting for something a test expects, with a deadline instead of a fixed sleep.

A fixed sleep is either too short on a loaded machine (a flaky test) or too long everywhere (a slow suite); a wait
for the condition returns as soon as it holds and fails with a message naming what never came.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_for(condition: Callable[[], T | None], *, what: str, timeout: float = 10.0, interval: float = 0.01) -> T:
    """``condition()``'s first truthy value; AssertionError naming ``what`` if none comes within ``timeout`` s.

    The deadline is generous because it only bounds a failure: a passing wait ends as soon as the condition holds.
    """
    deadline = time.monotonic() + timeout
    while True:
        found = condition()
        if found:
            return found
        if time.monotonic() >= deadline:
            raise AssertionError(f"waited {timeout:g} s for {what}; it never came")
        time.sleep(interval)
