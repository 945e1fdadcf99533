"""The gateway's decision, as pure functions: which candidate surrogate to send, or why to refuse.

Why pure: the policy (only candidates that passed every privacy check; the most editable; refuse below the
minimum) is what a privacy reviewer audits, so it lives apart from HTTP and Ray and is tested directly.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Scored:
    """One candidate surrogate as the gateway saw it."""

    strategy: str
    strategies: list[str]
    passed_checks: bool
    reason: str
    editability: float | None = None

    def record(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Decision:
    """The choice, or the refusal, with every candidate's scores: the decision record's core."""

    chosen: int | None
    refused: bool
    reason: str
    min_editability: float
    candidates: list[Scored] = field(default_factory=list)

    @property
    def strategy(self) -> str | None:
        return None if self.chosen is None else self.candidates[self.chosen].strategy

    @property
    def editability(self) -> float | None:
        return None if self.chosen is None else self.candidates[self.chosen].editability

    def record(self) -> dict[str, Any]:
        return {"refused": self.refused, "reason": self.reason, "strategy": self.strategy,
                "editability": self.editability, "min_editability": self.min_editability,
                "candidates": [c.record() for c in self.candidates]}


def choose(candidates: list[Scored], min_editability: float) -> Decision:
    """The most editable candidate among those that passed the privacy checks, if it reaches the minimum.

    Ties keep the earlier candidate (the configured strategy order), so the choice is deterministic."""
    passing = [i for i, c in enumerate(candidates) if c.passed_checks and c.editability is not None]
    if not passing:
        reasons = "; ".join(f"{c.strategy}: {c.reason}" for c in candidates) or "no candidate strategy"
        return Decision(None, True, f"no surrogate passed the privacy checks ({reasons})", min_editability,
                        candidates)
    best = max(passing, key=lambda i: (candidates[i].editability, -i))
    score = candidates[best].editability
    if score < min_editability:
        return Decision(None, True, f"the most editable surrogate ({candidates[best].strategy}, {score:.3f}) is "
                                    f"below the minimum editability {min_editability:.3f}", min_editability,
                        candidates)
    return Decision(best, False, "ok", min_editability, candidates)
