"""InstructPix2Pix backend: a tiny random pipeline built here, saved, and loaded back through create_editor."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("diffusers")
torch = pytest.importorskip("torch")

from sppe_ray.editors import create_editor  # noqa: E402
from sppe_ray.errors import BackendUnavailableError, UnknownInstructionError  # noqa: E402


@pytest.fixture(scope="module")
def tiny_pipeline(tmp_path_factory):
    from tests.fixtures.tiny_pipelines import build_tiny_ip2p_pipeline

    return build_tiny_ip2p_pipeline(tmp_path_factory.mktemp("ip2p") / "pipe")


def test_tiny_pipeline_edits_with_right_shape_and_is_deterministic(tiny_pipeline):
    editor = create_editor("instruct_pix2pix", model=str(tiny_pipeline), inference_steps=2, guidance=3.0,
                           image_guidance=1.2)
    assert editor.name == "instruct_pix2pix" and editor.work_size == 64
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (48, 80, 3), dtype=np.uint8)  # odd size: output must come back at this size
    a = editor.edit(img, "001", seed=3)
    b = editor.edit(img, "001", seed=3)
    c = editor.edit(img, "001", seed=4)
    assert a.shape == img.shape and a.dtype == np.uint8
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)  # the seed drives the diffusion noise


def test_unknown_code_is_rejected_before_running(tiny_pipeline):
    editor = create_editor("instruct_pix2pix", model=str(tiny_pipeline), inference_steps=1)
    with pytest.raises(UnknownInstructionError):
        editor.edit(np.zeros((64, 64, 3), np.uint8), "099", 0)


def test_missing_weights_name_the_setting(tmp_path):
    with pytest.raises(BackendUnavailableError, match="editor.model"):
        create_editor("instruct_pix2pix", model=str(tmp_path / "nowhere"))
    with pytest.raises(BackendUnavailableError, match="editor.model"):
        create_editor("instruct_pix2pix")
