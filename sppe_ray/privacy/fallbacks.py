"""Counts of the times a component did its work a simpler way because a backend was missing.

Why counted, not hidden: a face surrogate placed by the mask's shape because no face detector loaded is still
a valid surrogate, but a benchmark built that way differs from one built with the detector. Each such event is
noted here; the build moves the counts into its shards and the manifest (`fallbacks`), and the evaluation
summary repeats them, so two builds can be told apart by reading their manifests.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter

log = logging.getLogger(__name__)
#: Shards carry fallback counts among their skip counts under this prefix (the manifest splits them out).
PREFIX = "fallback:"

_COUNTS: Counter = Counter()
_LOCK = threading.Lock()


def note(what: str, exc: BaseException | None = None) -> None:
    """Record one fallback: `what` says what was done instead, `exc` why (its type joins the key)."""
    key = what if exc is None else f"{what} ({type(exc).__name__})"
    with _LOCK:
        first = key not in _COUNTS
        _COUNTS[key] += 1
    if first:
        log.warning("fallback: %s%s", key, f": {exc}" if exc is not None else "")


def take() -> dict[str, int]:
    """The counts since the last call (and reset them): one shard's worth in the build actors."""
    with _LOCK:
        out = dict(_COUNTS)
        _COUNTS.clear()
    return out


def split(counts: dict[str, int]) -> tuple[dict[str, int], dict[str, int]]:
    """(skip counts, fallback counts) from a shard's combined counter."""
    skips = {k: v for k, v in counts.items() if not k.startswith(PREFIX)}
    falls = {k[len(PREFIX):]: v for k, v in counts.items() if k.startswith(PREFIX)}
    return skips, falls
