"""Setting 2 (the editor as the black box): the editability loss, the privacy stand-in, the fit and its resume,
and the `learned` surrogate strategy loaded the way users load it."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sppe_ray.blackbox.editor_setting import (
    EditorAnswer,
    EditorProblem,
    EditorSamples,
    edited_images,
    fit_editor,
    prepare_source_side,
)
from sppe_ray.blackbox.networks import TinyUNet
from sppe_ray.blackbox.query import CountedBlackBox
from sppe_ray.blackbox.train import FitSettings
from sppe_ray.editors import create_editor
from sppe_ray.embed import create_image_embedder
from sppe_ray.taxonomy import INSTRUCTIONS


def _samples(n: int, seed: int) -> EditorSamples:
    rng = np.random.default_rng(seed)
    sources = rng.random((n, 3, 32, 32)).astype(np.float32)
    masks = np.zeros((n, 1, 32, 32), np.float32)
    masks[:, :, 8:24, 8:24] = 1
    codes = [sorted(INSTRUCTIONS)[i % len(INSTRUCTIONS)] for i in range(n)]
    return EditorSamples(sources, masks, codes, list(range(n)), [f"s{seed}-{i}" for i in range(n)])


@pytest.fixture(scope="module")
def tools():
    return EditorAnswer(create_editor("procedural")), create_image_embedder("classic")


def _box(answer):
    return CountedBlackBox(answer, validate=edited_images)


def test_the_identity_edits_like_the_source_and_leaks_everything(tools):
    answer, embedder = tools
    samples = prepare_source_side(_samples(4, 0), _box(answer), embedder)
    problem = EditorProblem(TinyUNet(), _box(answer), embedder, samples)
    theta = problem.theta()  # TinyUNet starts as the identity: the surrogate is the source
    assert problem.blackbox_loss(theta) == pytest.approx(0.0, abs=1e-6)
    loss, grad = problem.privacy_loss(theta)
    assert loss == pytest.approx(1.0, abs=1e-3) and np.abs(grad).sum() > 0  # no change, every edge kept


def test_surrogates_change_only_inside_the_mask(tools):
    answer, embedder = tools
    samples = _samples(2, 1)
    torch.manual_seed(0)
    net = TinyUNet()
    torch.nn.init.normal_(net.out.weight, std=0.5)
    problem = EditorProblem(net, _box(answer), embedder, samples)
    out = problem.surrogates(problem.theta())
    inside = samples.masks.astype(bool).repeat(3, axis=1)
    assert np.array_equal(out[~inside], samples.sources[~inside])
    assert not np.allclose(out[inside], samples.sources[inside])


def test_a_malformed_edit_is_retried_and_counted(tools):
    answer, _ = tools
    replies = iter([[np.zeros((4, 4), np.uint8)]])  # one grey image where RGB is due

    def flaky(images, codes, seeds):
        return next(replies, None) or answer(images, codes, seeds)

    box = CountedBlackBox(flaky, retries=1, validate=edited_images)
    s = _samples(1, 2)
    out = box(s.sources, s.ids, codes=s.codes, seeds=s.seeds)
    assert out[0].shape == (32, 32, 3) and box.failures == {"ValueError": 1} and box.calls[s.ids[0]] == 2


def test_the_editor_fit_reports_and_resumes_exactly(tools, tmp_path):
    answer, embedder = tools
    s = FitSettings(steps=4, batch=2, eval_every=2, seed=0)
    whole = fit_editor(_samples(4, 3), _samples(2, 4), s, answer, embedder)
    assert [r["step"] for r in whole["history"]] == [2, 4]
    assert {"editability", "private_change", "calls_per_sample"} <= set(whole["history"][-1])
    assert whole["start"]["editability"] == pytest.approx(1.0)
    assert whole["source_and_validation_calls"] == 4 + 2 + 3 * 2  # the sources, then start + two validations
    fit_editor(_samples(4, 3), _samples(2, 4), FitSettings(**{**s.__dict__, "steps": 2}), answer, embedder,
               checkpoint=tmp_path)
    resumed = fit_editor(_samples(4, 3), _samples(2, 4), s, answer, embedder, checkpoint=tmp_path)
    assert np.array_equal(resumed["theta"], whole["theta"]) and resumed["history"] == whole["history"]


def test_the_learned_strategy_loads_a_fitted_folder_and_composites(tmp_path, monkeypatch):
    from sppe_ray.blackbox import learned
    from sppe_ray.privacy.region import Region
    from sppe_ray.privacy.surrogates import make_surrogate
    from sppe_ray.train.anonymizer import save_model

    torch.manual_seed(1)
    net = TinyUNet()
    torch.nn.init.normal_(net.out.weight, std=1.0)
    theta = torch.nn.utils.parameters_to_vector(net.parameters()).detach().numpy()
    folder = save_model(tmp_path / "anon", theta, {"note": "test"})
    monkeypatch.setenv(learned.ENV, str(folder))
    learned.use(None)
    learned._network.cache_clear()
    image = (np.random.default_rng(0).random((37, 50, 3)) * 255).astype(np.uint8)  # odd sides
    mask = np.zeros((37, 50), bool)
    mask[5:20, 10:30] = True
    out = make_surrogate(image, Region("a105_face_all", mask), "learned", 0)
    assert out.shape == image.shape and np.array_equal(out[~mask], image[~mask])
    assert not np.all(out[mask] == image[mask], axis=-1).any()
    expected = learned.learned(image, None, None)  # the network's own output, inside the mask
    assert np.abs(out[mask].astype(int) - expected[mask]).max() <= 3  # up to the tie-break nudge
    assert np.abs(out[mask].astype(int) - image[mask]).mean() > 6  # the network moved the region, not the nudge (<= 3)


def test_the_learned_strategy_without_weights_names_both_ways_to_get_them(sppe_home, monkeypatch):
    from sppe_ray.blackbox import learned
    from sppe_ray.errors import BackendUnavailableError

    monkeypatch.delenv(learned.ENV, raising=False)
    words = "sppe train anonymizer --setting 2.*blackbox.learned_model or SPPE_LEARNED_ANONYMIZER"
    with pytest.raises(BackendUnavailableError, match=words):
        learned.model_folder()


def test_the_learned_anonymize_method_is_listed_unavailable_without_weights(sppe_home, monkeypatch, tmp_path):
    from sppe_ray.anonymize.rewrite import unavailable
    from sppe_ray.blackbox import learned
    from sppe_ray.config import AnonymizeConfig

    monkeypatch.delenv(learned.ENV, raising=False)
    learned.use(None)
    assert "sppe train anonymizer --setting 2" in unavailable("learned", AnonymizeConfig())
    monkeypatch.setenv(learned.ENV, str(tmp_path))
    assert unavailable("learned", AnonymizeConfig()) is None
