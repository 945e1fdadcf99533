"""The procedural editor: deterministic, content-aware stand-ins for all 65 SPPE instructions.

It is the embedded default and the test editor. Like a cloud editor it first looks at the picture (faces, eyes,
text lines, cards, the foreground; see ``analysis``) and then edits what it found, so a surrogate that hides what
the editor keys on gets a different edit, and one that keeps it gets the same. See docs/procedural_editor.md.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable

import numpy as np

from sppe_ray.editors.base import check_output, check_request
from sppe_ray.editors.procedural import documents, person, scenes, styles
from sppe_ray.editors.procedural.analysis import Analysis, analyse

EditFn = Callable[[np.ndarray, Analysis, np.random.Generator], np.ndarray]
EDITS: dict[str, EditFn] = {**person.EDITS, **styles.EDITS, **scenes.EDITS, **documents.EDITS}
assert sorted(EDITS) == [f"{i:03d}" for i in range(1, 66)], "every SPPE instruction needs an implementation"


class ProceduralEditor:
    """Editor protocol implementation; stateless apart from a small cache of image analyses."""

    name = "procedural"
    version = "1"

    def edit(self, image: np.ndarray, instruction_code: str, seed: int) -> np.ndarray:
        """Apply instruction ``instruction_code`` to ``image``; the same (image, code, seed) gives the same pixels."""
        img, code, seed32 = check_request(image, instruction_code, seed)
        # The code enters the stream so two instructions with one seed do not share their random draws.
        rng = np.random.default_rng([seed32, zlib.crc32(code.encode())])
        out = EDITS[code](img, analyse(img), rng)
        return check_output(np.ascontiguousarray(out), img, self.name)

    def __repr__(self) -> str:
        return f"ProceduralEditor(version={self.version!r})"


__all__ = ["EDITS", "ProceduralEditor", "analyse"]
