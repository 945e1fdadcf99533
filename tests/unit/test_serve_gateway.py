"""The gateway's policy, the upload codec and the error mapping, as pure functions (no Ray, no HTTP)."""

from __future__ import annotations

import numpy as np
import pytest

from sppe_ray.errors import ImageError, ImageTooLargeError, NotAnImageError, UnknownInstructionError
from sppe_ray.imageio import encode_mask, encode_png
from sppe_ray.serve import codec
from sppe_ray.serve.gateway import Scored, choose
from sppe_ray.taxonomy import resolve_instruction


def _c(strategy, ok=True, score=None):
    return Scored(strategy, [strategy], ok, "ok" if ok else "identity distance 0.2 <= 0.6", score)


def test_choose_the_most_editable_candidate_that_passed_the_checks():
    d = choose([_c("default", True, 0.4), _c("blur", False, None), _c("fill", True, 0.7), _c("inpaint", True, 0.7)],
               0.5)
    assert not d.refused and d.strategy == "fill" and d.editability == 0.7  # tie: the earlier strategy
    assert d.record()["candidates"][1]["passed_checks"] is False


def test_refuse_below_the_minimum_or_when_nothing_passed():
    low = choose([_c("default", True, 0.3), _c("blur", True, 0.2)], 0.5)
    assert low.refused and low.strategy is None and "below the minimum" in low.reason
    none = choose([_c("default", False), _c("blur", False)], 0.0)
    assert none.refused and "no surrogate passed" in none.reason and "identity distance" in none.reason


def test_private_pixels_sent_counts_source_pixels_in_the_sent_bytes():
    rng = np.random.default_rng(0)
    src = rng.integers(0, 256, (32, 48, 3), dtype=np.uint8)
    mask = np.zeros((32, 48), bool)
    mask[8:20, 10:30] = True
    sur = src.copy()
    sur[mask] ^= 1
    assert codec.private_pixels_sent(encode_png(sur), src, mask) == 0
    sur[10, 12] = src[10, 12]
    sur[0, 0] = 0  # outside the mask: not private
    assert codec.private_pixels_sent(encode_png(sur), src, mask) == 1


def test_upload_limits_and_types_raise_the_typed_errors():
    img = np.zeros((20, 30, 3), np.uint8)
    with pytest.raises(ImageTooLargeError):
        codec.image_from_upload(encode_png(img), "image", max_bytes=10, max_pixels=10_000)
    with pytest.raises(ImageTooLargeError):
        codec.image_from_upload(encode_png(img), "image", max_bytes=10**6, max_pixels=100)
    with pytest.raises(NotAnImageError):
        codec.image_from_upload(b"%PDF-1.4 not an image", "image", max_bytes=10**6, max_pixels=10**6)
    assert codec.mask_from_upload(None, (20, 30), max_pixels=10**6) is None
    with pytest.raises(ImageError, match="mask is 10x10"):
        codec.mask_from_upload(encode_mask(np.ones((10, 10), bool)), (20, 30), max_pixels=10**6)
    with pytest.raises(ImageError, match="empty"):
        codec.mask_from_upload(encode_mask(np.zeros((20, 30), bool)), (20, 30), max_pixels=10**6)


def test_instructions_by_code_list_entry_or_exact_text():
    assert resolve_instruction("35") == "035"
    assert resolve_instruction("001 Let the person wear sunglasses") == "001"
    assert resolve_instruction("  let the person WEAR sunglasses ") == "001"
    for bad in ("", "999", "make it pretty"):
        with pytest.raises(UnknownInstructionError):
            resolve_instruction(bad)


def test_errors_map_to_the_documented_status_codes():
    from ray.serve.exceptions import BackPressureError

    from sppe_ray.editors.base import EditorError, EditorTimeoutError
    from sppe_ray.serve.ingress import problem_of

    cases = {ImageTooLargeError("x"): 413, NotAnImageError("x"): 415, ImageError("x"): 422,
             UnknownInstructionError("x"): 422, EditorTimeoutError("x"): 504, EditorError("x"): 502,
             BackPressureError(num_queued_requests=5, max_queued_requests=4): 503, RuntimeError("boom"): 500}
    for exc, status in cases.items():
        problem = problem_of(exc)
        assert problem.status == status, (exc, problem.status)
    assert problem_of(BackPressureError(num_queued_requests=5, max_queued_requests=4)).headers["Retry-After"]
    assert "boom" not in problem_of(RuntimeError("boom")).detail  # internals (and private data) stay inside


def test_wrapped_and_unexpected_errors_map_without_leaking_internals():
    from sppe_ray.editors.base import EditorError
    from sppe_ray.errors import BackendUnavailableError
    from sppe_ray.serve.ingress import Problem, _recovered, problem_of

    class Wrapped(Exception):  # how Ray hands over an error raised in another deployment
        def __init__(self, cause):
            super().__init__("wrapped")
            self.cause = cause

    assert problem_of(Wrapped(UnknownInstructionError("unknown instruction code '999'"))).status == 422
    assert problem_of(ValueError("a numpy bug")).status == 500  # a bug is not the user's bad input
    assert problem_of(BackendUnavailableError("no model")).status == 503
    down = problem_of(EditorError("editor at http://10.0.0.5:8900 failed after 2 attempts; last: ConnectError: x"))
    assert down.status == 502 and "10.0.0.5" not in down.detail and "cannot be reached" in down.detail
    with pytest.raises(Problem) as bad:
        _recovered({"error": "unknown recovery method 'foo'", "unavailable": False})
    assert bad.value.status == 422
    with pytest.raises(Problem) as missing:
        _recovered({"error": "no c2e_s2ser model is deployed", "unavailable": True})
    assert missing.value.status == 503
