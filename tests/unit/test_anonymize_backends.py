"""Real backends of dataset anonymization through the paths users take, with tiny models built here: the
stage 1 VLM + LM (transformers) and the stage 2 instruction editor (InstructPix2Pix through diffusers)."""

import numpy as np
import pytest

from sppe_ray.anonymize.runner import ImageAnonymizer
from sppe_ray.config import load_config
from sppe_ray.errors import BackendUnavailableError
from sppe_ray.imageio import save_image
from sppe_ray.privacy.region import Region
from tests.fixtures.tiny_pipelines import build_tiny_blip, build_tiny_causal_lm, build_tiny_ip2p_pipeline


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny-anon")
    return str(build_tiny_blip(root / "vlm")), str(build_tiny_causal_lm(root / "lm"))


def test_vlm_captioner_loads_by_path_and_runs_through_the_parser(tiny_models):
    from sppe_ray.anonymize.vlm import VLMCaptioner

    cap = VLMCaptioner(*tiny_models, max_new_tokens=12)
    img = np.random.default_rng(0).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    region = Region("a111_name_all", np.ones((48, 64), bool))
    captions, raw = cap.caption(img, "street", [region], seed=0)
    again, raw2 = cap.caption(img, "street", [region], seed=0)
    assert isinstance(raw, str) and raw == raw2 and captions == again  # greedy: deterministic
    assert "PRIVACY_FLAG: TRUE or FALSE" not in raw  # only what the model wrote, not the echoed prompt
    assert captions.flag  # a detection is never overruled by a model's text
    no_regions, _ = cap.caption(img, "street", [], seed=0)
    assert no_regions.flag is False  # random weights write no sections: the flag rests on the detections


def test_vlm_stage1_in_the_pipeline_worker(tmp_path, tiny_models):
    cfg = load_config(environ={}, overrides=["anonymize.captioner=vlm", f"anonymize.vlm_model={tiny_models[0]}",
                                             f"anonymize.lm_model={tiny_models[1]}", "anonymize.max_new_tokens=8"])
    save_image(tmp_path / "in" / "c" / "a.png", np.full((64, 64, 3), 128, np.uint8))
    rec = ImageAnonymizer(cfg.anonymize, "fill").process(tmp_path / "in", "c/a.png", tmp_path / "out")
    assert rec["status"] == "ok" and rec["stage1"]["captioner"] == "vlm"
    assert set(rec["columns"]) >= {"PRIVACY_FLAG", "PRIVATE_CAPTION", "PUBLIC_CAPTION", "EDIT_INSTRUCTION"}


def test_missing_vlm_weights_name_the_setting(tmp_path):
    from sppe_ray.anonymize.vlm import VLMCaptioner

    with pytest.raises(BackendUnavailableError, match="anonymize.vlm_model"):
        VLMCaptioner(None, None)
    with pytest.raises(BackendUnavailableError, match="anonymize.vlm_model"):
        VLMCaptioner(str(tmp_path / "nothing-here"), None)


def test_instruction_editor_keeps_its_output_inside_the_regions(tmp_path):
    from sppe_ray.anonymize.rewrite import create_rewriter

    folder = build_tiny_ip2p_pipeline(tmp_path / "ip2p")
    cfg = load_config(environ={}, overrides=[f"anonymize.editor_model={folder}"]).anonymize
    img = np.random.default_rng(1).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    mask = np.zeros((64, 64), bool)
    mask[16:40, 20:50] = True
    done = create_rewriter("instruct_pix2pix", cfg).rewrite(img, [Region("a304_tattoo", mask)], "Replace it", 0)
    assert np.array_equal(done.image[~mask], img[~mask]) and (done.image[mask] != img[mask]).any()
    assert not done.fallback and done.checks and all(c["ok"] for c in done.checks)
