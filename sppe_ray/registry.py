"""One registry pattern for everything chosen by name: editors, embedders, detectors, surrogate strategies,
recovery methods and IQA metrics.

Why one pattern: a user meets these names in one config file, so they must behave alike. Every registry says
which setting chooses from it, lists its names (`names()`), carries what a user needs to choose (a one-line
summary, `lower_better`, the task, whether it needs weights or uses a GPU), and answers an unknown name with
one `ConfigError` that lists the known ones. Targets are "module:attribute" strings resolved on first use, so
checking a config never imports torch, diffusers or pyiqa.

In the spirit of pyiqa's `create_metric(name)` / `list_models()`:

    >>> from sppe_ray.editors import EDITORS
    >>> EDITORS.names()
    ('http', 'instruct_pix2pix', 'procedural')
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sppe_ray.errors import ConfigError


@dataclass(frozen=True)
class Entry:
    """One registered name: what builds it and what a user should know before choosing it."""

    name: str
    target: str | Callable[..., Any]  # "package.module:attribute", imported on first use, or the callable
    summary: str = ""
    lower_better: bool | None = None  # metrics only: orientation of the score
    task: str | None = None  # e.g. "fr"/"nr" for IQA, "face"/"text" for detectors
    needs_weights: bool = False  # weights that must already be on this machine (nothing is downloaded)
    gpu: str = "no"  # "no" | "optional" (uses CUDA when present) | "required"
    options: dict[str, Any] = field(default_factory=dict)  # backend-specific facts (e.g. an IQA metric's chunk)

    def load(self) -> Callable[..., Any]:
        """The factory itself, importing its module now."""
        if not isinstance(self.target, str):
            return self.target
        module, _, path = self.target.partition(":")
        obj: Any = importlib.import_module(module)
        for attr in path.split("."):  # "module:Class.from_setting" names a classmethod
            obj = getattr(obj, attr)
        return obj


class Registry:
    """name -> Entry, for one kind of component chosen by the setting(s) in `setting`."""

    def __init__(self, kind: str, setting: str) -> None:
        self.kind = kind
        self.setting = setting
        self._entries: dict[str, Entry] = {}

    def add(self, name: str, target: str | Callable[..., Any], summary: str = "", **meta: Any) -> Entry:
        """Register (or replace: tests and plugins may override a built-in) and return the entry."""
        entry = Entry(name, target, summary, **meta)
        self._entries[name] = entry
        return entry

    def register(self, name: str, summary: str = "", **meta: Any) -> Callable[[Callable], Callable]:
        """Decorator form of `add`."""

        def wrap(fn: Callable) -> Callable:
            self.add(name, fn, summary, **meta)
            return fn

        return wrap

    def names(self) -> tuple[str, ...]:
        """Registered names, in registration order (the order reports list them)."""
        return tuple(self._entries)

    def entry(self, name: str) -> Entry:
        """The entry for `name`; an unknown name is one ConfigError naming the setting and the choices."""
        try:
            return self._entries[name]
        except (KeyError, TypeError):
            raise ConfigError(f"unknown {self.kind} {name!r} (set by {self.setting}); "
                              f"known: {', '.join(self._entries)}") from None

    def check(self, names: str | list[str] | tuple[str, ...], setting: str | None = None,
              also: tuple[str, ...] = ()) -> None:
        """Raise ConfigError for the first name that is neither registered nor in `also`."""
        for name in [names] if isinstance(names, str) else names:
            if name not in self._entries and name not in also:
                known = ", ".join([*also, *self._entries])
                raise ConfigError(f"{setting or self.setting}: unknown {self.kind} {name!r}; known: {known}")

    def create(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """Build the component: the entry's factory called with the arguments."""
        return self.entry(name).load()(*args, **kwargs)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def describe(self) -> list[dict[str, Any]]:
        """One plain dict per entry (for `sppe list` and docs)."""
        return [{"name": e.name, "summary": e.summary, "lower_better": e.lower_better, "task": e.task,
                 "needs_weights": e.needs_weights, "gpu": e.gpu} for e in self._entries.values()]
