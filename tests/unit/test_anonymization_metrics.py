"""The dataset-anonymization suite on constructed cases with known answers (docs/anonymization.md)."""

import math

import numpy as np
import pytest

from sppe_ray.metrics.anonymization import cheating, privacy, quality, utility


def _scene(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    img = np.zeros((128, 128, 3), np.uint8)
    img[..., 0] = np.linspace(0, 255, 128, dtype=np.uint8)[None, :]
    img[..., 1] = np.linspace(0, 255, 128, dtype=np.uint8)[:, None]
    img[32:96, 32:96] = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    return img


def _mask() -> np.ndarray:
    m = np.zeros((128, 128), bool)
    m[32:96, 32:96] = True
    return m


# ---- quality -------------------------------------------------------------------------------------------------
def test_identical_images_have_perfect_quality():
    img = _scene()
    assert quality.ssim(img, img) == pytest.approx(1.0)
    assert quality.gmsd(img, img) == pytest.approx(0.0, abs=1e-12)


def test_quality_drops_when_the_image_changes_and_resizes_like_the_published_rule():
    img, other = _scene(0), _scene(1)
    assert quality.ssim(img, other) < 0.9 and quality.gmsd(img, other) > 0.01
    half = img[::2, ::2]
    assert 0.0 < quality.ssim(img, half) < 1.0  # bicubic-resized back to the original's size


def test_directional_similarity_signs_and_the_no_change_rule():
    o, t_priv = np.array([1.0, 0.0]), np.array([0.0, 0.0])
    assert quality.directional_similarity(o, o + [0, 1], t_priv, [0, 2]) == pytest.approx(1.0)
    assert quality.directional_similarity(o, o - [0, 1], t_priv, [0, 2]) == pytest.approx(-1.0)
    assert math.isnan(quality.directional_similarity(o, o, t_priv, [0, 2]))


# ---- cheating ------------------------------------------------------------------------------------------------
def test_a_copy_is_caught_by_the_region_hash():
    img = _scene()
    bits = cheating.region_phash_distance(img, img.copy(), _mask())
    assert bits == 0 and cheating.is_near_copy(bits) is True
    rewritten = img.copy()
    rewritten[_mask()] = _scene(5)[_mask()][::-1]
    far = cheating.region_phash_distance(img, rewritten, _mask())
    assert far > 6 and cheating.is_near_copy(far) is False


def test_an_edit_beyond_the_regions_is_caught_and_one_inside_is_not():
    img = _scene()
    inside = img.copy()
    inside[_mask()] = 0
    assert cheating.outside_change(img, inside, _mask()) == 0.0
    everywhere = (255 - img).astype(np.uint8)
    assert cheating.outside_change(img, everywhere, _mask()) > 0.9


def test_no_region_means_no_copy_verdict_and_overreach_over_the_whole_image():
    img = _scene()
    assert math.isnan(cheating.region_phash_distance(img, img, np.zeros((128, 128), bool)))
    assert cheating.is_near_copy(float("nan")) is None
    assert cheating.outside_change(img, img, None) == 0.0


def test_phash_resample_flips_few_bits():
    import cv2

    img = _scene()
    back = cv2.resize(cv2.resize(img, (64, 64), interpolation=cv2.INTER_AREA), (128, 128))
    assert cheating.hamming(cheating.phash_bits(img), cheating.phash_bits(back)) <= 6


# ---- privacy -------------------------------------------------------------------------------------------------
def test_face_similarity_known_answers_and_the_no_face_rules():
    a, b = np.eye(128)[0], np.eye(128)[1]
    assert privacy.face_similarity([a], [a]) == (pytest.approx(1.0), 0)
    assert privacy.face_similarity([a], [b]) == (pytest.approx(0.0), 0)  # disjoint faces
    assert privacy.face_similarity([a], [b, a])[0] == pytest.approx(1.0)  # nearest counterpart
    sim, orphans = privacy.face_similarity([], [a])
    assert math.isnan(sim) and orphans == 0  # no face in the original: not scored
    sim, orphans = privacy.face_similarity([a, b], [])
    assert math.isnan(sim) and orphans == 2  # faces gone: skipped and counted


def test_identity_reidentified_uses_the_same_person_threshold():
    a = np.zeros(128)
    assert privacy.identity_reidentified([a, a], [a + 0.01, a + 0.1]) == [True, False]


def test_text_similarity_rules():
    assert privacy.text_similarity("Jane Doe 555 0199", "jane doe 555-0199") == 1.0
    assert privacy.text_similarity("STOP ABC123 Main St", "STOP") == 1.0  # token_set_ratio: a subset scores 1
    assert privacy.text_similarity("Jane Doe", "xyz qrs") < 0.3
    assert math.isnan(privacy.text_similarity("", "anything"))  # no text in the original: not scored
    assert privacy.text_similarity("Jane Doe", "") == 0.0  # text removed


def test_text_reidentification_counts_tokens_read_again():
    assert privacy.text_reidentified("Jane Doe 5550199 Springfield", "jane 5550199") == (2, 3)  # "doe" too short
    assert privacy.text_reidentified("Jane Doe", "") == (0, 1)  # text removed: nothing read again
    assert privacy.text_reidentified("Li Wu", "Li Wu") == (0, 0)  # no token long enough to count


def test_skin_tone_entropy_and_ita_classes():
    assert privacy.normalised_entropy(list(privacy.ITA_CLASSES)) == pytest.approx(1.0)
    assert privacy.normalised_entropy(["tan"] * 5) == 0.0
    assert privacy.normalised_entropy([None, "unknown"]) == 0.0
    light, dark = np.full((40, 40, 3), (235, 200, 175), np.uint8), np.full((40, 40, 3), (120, 75, 50), np.uint8)
    assert privacy.ITA_CLASSES.index(privacy.ita_class(light)) > privacy.ITA_CLASSES.index(privacy.ita_class(dark))
    assert privacy.ita_class(np.full((40, 40, 3), (20, 200, 20), np.uint8)) is None  # no skin pixels


def test_rubric_judge_identical_is_zero_different_is_high_and_writes_the_published_line():
    assert privacy.rubric_score([0.0], 1.0, 0.0) == 0.0
    assert privacy.rubric_score([1.2], 0.0, 30.0) == 100.0
    assert privacy.rubric_score([0.59], float("nan"), float("nan")) == 0.0  # same person
    assert privacy.rubric_score([0.6], float("nan"), float("nan")) == pytest.approx(20.0)
    assert privacy.rubric_score([0.72], float("nan"), float("nan")) == pytest.approx(60.0)
    assert privacy.rubric_score([], float("nan"), 8.0) == pytest.approx(100 / 3)
    assert privacy.rubric_score([], float("nan"), 8.0, copy_bits=8) == 0.0  # a near copy under the setting
    assert math.isnan(privacy.rubric_score([], float("nan"), float("nan")))
    assert privacy.rubric_answer(42.0) == "ANONYMIZATION_SCORE: 42.0"


# ---- utility -------------------------------------------------------------------------------------------------
def test_downstream_accuracy_on_separable_and_on_destroyed_features():
    rng = np.random.default_rng(0)
    y = ["a"] * 20 + ["b"] * 20
    x = np.vstack([rng.normal(0, 0.1, (20, 4)), rng.normal(3, 0.1, (20, 4))])
    acc, correct = utility.downstream_accuracy(x, y, x, y)
    assert acc == 1.0 and correct.all()
    acc_noise, _ = utility.downstream_accuracy(rng.normal(0, 1, (40, 4)), y, x, y)
    assert acc_noise < 0.9
    with pytest.raises(ValueError, match="two classes"):
        utility.downstream_accuracy(x, ["a"] * 40, x, y)


def test_training_view_takes_anonymized_rows_only_where_flagged():
    orig, anon = np.zeros((3, 2)), np.ones((3, 2))
    assert utility.training_view([True, False, True], orig, anon)[:, 0].tolist() == [1, 0, 1]


def test_flag_scores_confusion_matrix():
    s = utility.flag_scores([True, True, False, False], [True, False, True, False])
    assert s["confusion"] == [[1, 1], [1, 1]] and s["accuracy"] == 0.5 and s["recall"] == 0.5


def test_caption_similarity_is_rowwise_cosine():
    a = np.array([[1.0, 0.0], [0.0, 2.0]])
    assert utility.caption_similarity(a, np.array([[2.0, 0.0], [1.0, 0.0]])).tolist() == [1.0, 0.0]
