"""Bounded concurrency for I/O-bound work over one connection pool."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

from ci_tags.errors import CiTagsError

T = TypeVar("T")
R = TypeVar("R")
P = TypeVar("P")


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


def run_all_prefetched(
    read: Callable[[T], P], then: Callable[[T, P], R], items: Iterable[T], workers: int
) -> list[tuple[T, R | None, CiTagsError | None]]:
    """``read`` each item as soon as ``items`` yields it, so the reads overlap the work that produces the items;
    once ``items`` is exhausted without an error, ``then(item, what was read)`` for each. ``read`` must write
    nothing: an error raised while producing the items ends the run before any ``then`` starts (reads in flight
    finish, queued ones are dropped). A read still queued when the items are exhausted runs with its ``then`` in
    one task, so the writes of read items and the reads of the rest share the workers (a registry answers a mix
    of HEADs and PUTs faster than all HEADs, then all PUTs). At most ``workers`` threads for both; results and
    ci-tags errors as :func:`run_all` returns them."""
    from concurrent.futures import Future, ThreadPoolExecutor

    def caught(item: T) -> tuple[P | None, CiTagsError | None]:
        try:
            return read(item), None
        except CiTagsError as exc:
            return None, exc

    def finish(item: T, read_value: P | None, err: CiTagsError | None) -> tuple[T, R | None, CiTagsError | None]:
        if err is not None:
            return item, None, err
        try:
            return item, then(item, read_value), None  # type: ignore[arg-type]  # no error: read returned a P
        except CiTagsError as exc:
            return item, None, exc

    def after(item: T, pending: Future[tuple[P | None, CiTagsError | None]]) -> tuple[T, R | None, CiTagsError | None]:
        return finish(item, *pending.result())  # submitted before: done, or running on another worker

    def both(item: T) -> tuple[T, R | None, CiTagsError | None]:
        return finish(item, *caught(item))

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        reads: list[tuple[T, Future[tuple[P | None, CiTagsError | None]]]] = []
        try:
            for item in items:
                reads.append((item, pool.submit(caught, item)))
        except BaseException:
            for _, pending in reads:
                pending.cancel()
            raise
        # a read that has not started is taken back and done with its then; the others' thens wait for them
        tasks = [pool.submit(both, item) if pending.cancel() else pool.submit(after, item, pending)
                 for item, pending in reads]
        return [task.result() for task in tasks]
