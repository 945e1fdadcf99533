"""Bounded memoisation for the evaluation: results keyed by (namespace, content digest), least recently used
entries dropped first.

Why: a benchmark scene is edited with several instructions, so the same source/surrogate pair (and the same
private region) appears in several samples (5 in sppe-mini); pair-level baselines, privacy checks, OCR and face
reads are computed once per actor instead of once per sample. Bounded so a long evaluation cannot grow it.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from typing import Any


class Memo:
    """An LRU map from (namespace, key) to a value; `get` returns None when absent (so None is never stored)."""

    def __init__(self, capacity: int = 1024) -> None:
        self.capacity = capacity
        self._items: OrderedDict[tuple[str, str], Any] = OrderedDict()
        self.hits = 0  # get() calls answered from the memo (one per lookup, whatever the namespace)

    def get(self, namespace: str, key: str) -> Any:
        item = self._items.get((namespace, key))
        if item is not None:
            self._items.move_to_end((namespace, key))
            self.hits += 1
        return item

    def put(self, namespace: str, key: str, value: Any) -> None:
        if value is None:
            raise ValueError("Memo cannot store None: get() uses None to mean 'absent'")
        self._items[(namespace, key)] = value
        self._items.move_to_end((namespace, key))
        while len(self._items) > self.capacity:
            self._items.popitem(last=False)


def content_key(*parts: bytes | None) -> str:
    """A digest of encoded images: equal bytes, equal key (PNG encoding here is deterministic)."""
    h = hashlib.sha1()
    for part in parts:
        h.update(b"\0" if part is None else len(part).to_bytes(8, "little") + part)
    return h.hexdigest()
