"""Bounded concurrency for I/O-bound work over one connection pool."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

from ci_tags.errors import CiTagsError

T = TypeVar("T")
R = TypeVar("R")


def run_all(
    fn: Callable[[T], R], items: Iterable[T], workers: int
) -> list[tuple[T, R | None, CiTagsError | None]]:
    """Apply ``fn`` to every item with at most ``workers`` threads; keep going past failures.

    Returns ``(item, result, error)`` in the order of ``items``; ci-tags errors are collected, anything else
    (a bug) propagates.
    """
    items = list(items)

    def one(item: T) -> tuple[T, R | None, CiTagsError | None]:
        try:
            return item, fn(item), None
        except CiTagsError as exc:
            return item, None, exc

    if workers <= 1 or len(items) <= 1:
        return [one(i) for i in items]
    from concurrent.futures import ThreadPoolExecutor  # here: a one-shot retag never needs a thread

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(one, items))
