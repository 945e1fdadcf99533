"""ERMA: input layout per ablation, head shapes and range, learning on constructed cases, save/load, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from sppe_ray.config import ERMAConfig
from sppe_ray.embed import create_image_embedder, create_text_embedder
from sppe_ray.errors import BackendUnavailableError, ImageError
from sppe_ray.models.erma import ERMA, ERMAPredictor, FeatureSpec, code_index, fitting, relation_features
from sppe_ray.models.erma.detectors import DETECTOR_STATS, FACE_SEARCHES, detector_features
from sppe_ray.models.erma.features import FALLBACK_INDEX, crop_box, difference_mask, region_stats

SIZE = 48


def _predictor(**over) -> ERMAPredictor:
    cfg = ERMAConfig(text_encoder="hashing", hidden=[64, 32], dropout=0.0, **over)
    return ERMAPredictor.build(
        cfg,
        image_embedder=create_image_embedder("classic", size=32),
        text_embedder=create_text_embedder("hashing", dim=64),
    )


def _scene(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A smooth random picture with a textured square (the 'private region') and its mask."""
    yy, xx = np.mgrid[0:SIZE, 0:SIZE] / SIZE
    base = np.stack(
        [yy * rng.uniform(50, 200), xx * rng.uniform(50, 200), np.full_like(xx, rng.uniform(30, 220))], 2
    )
    y0, x0 = rng.integers(4, SIZE // 2, size=2)
    side = int(rng.integers(12, SIZE // 2 - 2))
    checker = ((np.add.outer(np.arange(side), np.arange(side)) // 3) % 2) * 200.0 + 20
    base[y0 : y0 + side, x0 : x0 + side] = checker[..., None] * np.array(rng.uniform(0.4, 1.0, size=3))
    mask = np.zeros((SIZE, SIZE), bool)
    mask[y0 : y0 + side, x0 : x0 + side] = True
    return base.clip(0, 255).astype(np.uint8), mask


def _destroy(img: np.ndarray, mask: np.ndarray, strength: float) -> np.ndarray:
    """Blend the region towards its flat mean: 0 keeps it, 1 wipes its texture (a strong surrogate)."""
    out = img.astype(np.float32)
    mean = out[mask].mean(axis=0)
    out[mask] = (1 - strength) * out[mask] + strength * mean
    return out.clip(0, 255).astype(np.uint8)


def _dataset(n: int, seed: int):
    rng = np.random.default_rng(seed)
    src, sur, masks, labels = [], [], [], []
    for _ in range(n):
        s, m = _scene(rng)
        k = float(rng.uniform(0, 1))
        src.append(s)
        sur.append(_destroy(s, m, k))
        masks.append(m)
        labels.append(1.0 - k)  # the label is how much of the region survived
    return src, sur, masks, np.asarray(labels, np.float32)


def test_input_dim_follows_ablation_flags():
    full = FeatureSpec(image_dim=10, text_dim=7)
    assert full.input_dim == (5 * 10 + 1 + 7) + (4 * 10 + 1 + 3)
    assert FeatureSpec(10, 7, use_mask=False).input_dim == 5 * 10 + 1 + 7
    assert FeatureSpec(10, 7, use_relation=False).input_dim == 2 * 10 + 7 + 2 * 10 + 3
    assert FeatureSpec(10, 7, use_instruction=False).input_dim == full.input_dim - 7
    published = FeatureSpec(512, 512, shared_space=True, use_mask=False)
    assert published.input_dim == 3075  # the published layout: 6 x 512 + 3 cosines
    dims = {
        _predictor(**flags).model.input_dim
        for flags in (
            {},
            {"use_relation": False},
            {"use_instruction": False},
            {"use_mask": False},
            {"use_detectors": False},
        )
    }
    assert len(dims) == 5
    assert FeatureSpec(10, 7, use_detectors=True).input_dim == full.input_dim + len(DETECTOR_STATS)


def test_relation_features_layout_and_head_range():
    spec = FeatureSpec(image_dim=6, text_dim=6, shared_space=True)
    g = torch.Generator().manual_seed(0)
    feats = {k: torch.randn(5, 6, generator=g) for k in ("f_src", "f_sur", "c_src", "c_sur", "text")}
    feats["region"] = torch.rand(5, 3, generator=g)
    x = relation_features(feats, spec)
    assert x.shape == (5, spec.input_dim)
    assert torch.allclose(x[:, :6], feats["f_src"]) and torch.allclose(
        x[:, 12:18], (feats["f_src"] - feats["f_sur"]).abs()
    )
    model = ERMA(spec, hidden=[16, 8])
    out = model(feats)
    assert out.shape == (5,) and bool(((out > 0) & (out < 1)).all())
    with pytest.raises(ValueError):
        ERMA(spec, hidden=[])


def test_predict_shapes_range_and_mask_fallback():
    pred = _predictor()
    src, sur, masks, _ = _dataset(5, seed=1)
    out = pred.predict(src, sur, ["001", "35", 7, "999", "065"], masks, batch_size=2)
    assert out.shape == (5,) and out.dtype == np.float32 and np.all((out >= 0) & (out <= 1))
    # Without masks the region is recovered from where the surrogate differs: same as passing that mask.
    diff = [difference_mask(a, b) for a, b in zip(src, sur, strict=True)]
    np.testing.assert_allclose(pred.predict(src, sur, ["001"] * 5), pred.predict(src, sur, ["001"] * 5, diff))
    assert pred.predict([], [], []).shape == (0,)


def test_repeated_triples_computed_once_and_threads_agree():
    """Each distinct (source, surrogate, mask) is extracted once; copies, thread splits and one-row calls agree."""
    pred = _predictor(use_detectors=True)
    src, sur, masks, _ = _dataset(4, seed=3)
    order = [0, 1, 0, 2, 3, 1, 0, 2]  # a benchmark scores each triple with several instructions
    rows = ([src[i] for i in order], [sur[i] for i in order], [masks[i] for i in order])
    calls = []
    embed = pred.extractor.image_embedder.embed
    pred.extractor.image_embedder.embed = lambda imgs: calls.append(len(imgs)) or embed(imgs)
    pred.workers = 1
    one = pred.extract(*rows)
    assert calls == [8, 8]  # 4 distinct sources + 4 surrogates, then 4 distinct triples' two crops; not 16 + 16
    pred.workers = 2
    two = pred.extract(*rows)
    for k, v in one.items():
        alone = np.concatenate([pred.extractor.extract([a], [b], [m])[k] for a, b, m in zip(*rows, strict=True)])
        np.testing.assert_allclose(v, alone, atol=1e-6, err_msg=k)
        np.testing.assert_array_equal(v, two[k], err_msg=k)
        np.testing.assert_array_equal(v[0], v[2], err_msg=k)


def test_code_index_and_crop_helpers():
    idx = code_index(["001", "35", 35, "065", "999", "abc"])
    assert idx[1] == idx[2] and idx[0] != idx[3]
    assert idx[4] == idx[5] == FALLBACK_INDEX
    m = np.zeros((40, 50), bool)
    assert crop_box(m) == (0, 0, 50, 40)
    m[10:20, 30:35] = True
    x0, y0, x1, y1 = crop_box(m)
    assert x0 <= 30 and y0 <= 10 and x1 >= 35 and y1 >= 20 and x1 - x0 >= 16
    img = np.random.default_rng(0).integers(0, 255, (40, 50, 3), dtype=np.uint8)
    same = region_stats(img, img, m, crop_box(m))
    wiped = region_stats(img, _destroy(img, m, 1.0), m, crop_box(m))
    assert same[1] == 0 and wiped[1] > 0.05 and wiped[2] < same[2]  # change seen, structure lost


def test_bad_inputs_raise_typed_errors(tmp_path):
    pred = _predictor()
    src, sur, masks, _ = _dataset(2, seed=2)
    with pytest.raises(ImageError):
        pred.predict(src, sur[:1], ["001", "002"])
    with pytest.raises(ImageError):
        pred.predict(src, sur, ["001"])
    with pytest.raises(ImageError):
        pred.predict([src[0].astype(np.float32)], [sur[0]], ["001"])
    with pytest.raises(ImageError):
        pred.predict(src[:1], [sur[0][:20]], ["001"])
    with pytest.raises(ImageError):
        pred.predict(src[:1], sur[:1], ["001"], [np.zeros((3, 3), bool)])
    with pytest.raises(BackendUnavailableError):
        ERMAPredictor.load(tmp_path)
    with pytest.raises(BackendUnavailableError):
        ERMAPredictor.build(ERMAConfig(image_encoder="clip", text_encoder="hashing", model=None))


def test_face_detector_recorded_and_models_of_the_old_detector_block_refused(tmp_path):
    import json

    from sppe_ray.models.erma.predictor import CONFIG_FILE

    pred = _predictor(use_detectors=True, face_detector="lbp")
    folder = pred.save(tmp_path / "m")
    assert ERMAPredictor.load(folder).extractor.face_search == FACE_SEARCHES["lbp"]
    meta = json.loads((folder / CONFIG_FILE).read_text())
    meta["format_version"] = 1  # fitted on the editor's own analyses: its block means something else now
    (folder / CONFIG_FILE).write_text(json.dumps(meta))
    with pytest.raises(BackendUnavailableError, match="refit with `sppe train erma`"):
        ERMAPredictor.load(folder)
    with pytest.raises(ValueError, match="face_detector"):
        ERMAPredictor.build({"use_detectors": True, "face_detector": "yolo", "text_encoder": "hashing"})


def test_lr_schedule_warms_up_then_decays():
    f = [fitting.lr_factor(s, 10, 100) for s in range(100)]
    assert f[0] < f[5] < f[9] == 1.0
    assert all(a >= b for a, b in zip(f[10:], f[11:], strict=False)) and f[-1] < 0.01


def _arrays(pred: ERMAPredictor, src, sur, masks, labels, code="001") -> fitting.Arrays:
    feats = pred.extract(src, sur, masks)
    return fitting.Arrays(
        fitting.to_tensors(feats, pred.texts[code_index([code] * len(src))]), torch.as_tensor(labels)
    )


def test_short_fit_learns_monotone_editability_and_round_trips(tmp_path):
    pred = _predictor()
    train = _arrays(pred, *_dataset(96, seed=3))
    val = _arrays(pred, *_dataset(32, seed=4))
    recipe = fitting.Recipe(lr=3e-3, steps=150, warmup=10, batch_size=32, eval_every=50, seed=0)
    evals = []
    state, best = fitting.run_training(
        pred.model, train, val, recipe, on_eval=lambda st, m, *_: evals.append((st.step, m["srcc"]))
    )
    assert [s for s, _ in evals] == [50, 100, 150]
    pred.model.load_state_dict(best)
    pred.model.eval()
    assert state.best_score > 0.6 and state.best_score == max(v for _, v in evals)

    rng = np.random.default_rng(9)
    scenes = [_scene(rng) for _ in range(8)]
    src = [s for s, _ in scenes]
    masks = [m for _, m in scenes]
    intact = pred.predict(src, [s.copy() for s in src], ["001"] * 8, masks)
    wiped = pred.predict(src, [_destroy(s, m, 1.0) for s, m in scenes], ["001"] * 8, masks)
    assert np.mean(intact > wiped) >= 0.75 and intact.mean() > wiped.mean() + 0.2

    folder = pred.save(tmp_path / "erma")
    loaded = ERMAPredictor.load(folder, image_embedder=create_image_embedder("classic", size=32))
    assert loaded.spec == pred.spec and loaded.encoders["text_encoder"] == "hashing"
    np.testing.assert_array_equal(loaded.predict(src, src, ["001"] * 8, masks), intact)


def test_training_resumes_from_checkpoint_and_continues_steps(tmp_path):
    pred = _predictor()
    train = _arrays(pred, *_dataset(24, seed=5))
    val = _arrays(pred, *_dataset(8, seed=6))
    saved = []

    def keep(state, metrics, best_state, opt, sched):
        saved.append(
            fitting.save_checkpoint(tmp_path / f"ck{state.step}", pred.model, best_state, opt, sched, state)
        )

    fitting.run_training(
        pred.model, train, val, fitting.Recipe(steps=6, eval_every=3, warmup=2), on_eval=keep
    )
    steps = []
    fresh = _predictor()
    state, _ = fitting.run_training(
        fresh.model,
        train,
        val,
        fitting.Recipe(steps=12, eval_every=3, warmup=2),
        resume=saved[-1],
        on_eval=lambda st, *_: steps.append(st.step),
    )
    assert steps == [9, 12] and state.step == 12
    assert math.isfinite(state.best_score) or state.best_step == -1


def _tiny_clip(folder) -> str:
    """A random-weight CLIP (a few thousand parameters) with byte-level tokenizer files, saved like a real one."""
    import json

    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPTokenizer

    # Byte-level BPE alphabet: printable bytes map to themselves, the rest to code points from 256 upwards.
    printable = [*range(33, 127), *range(161, 173), *range(174, 256)]
    chars = [chr(b) for b in printable] + [chr(256 + i) for i in range(256 - len(printable))]
    vocab = {
        t: i for i, t in enumerate(chars + [c + "</w>" for c in chars] + ["<|startoftext|>", "<|endoftext|>"])
    }
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    (folder / "merges.txt").write_text("#version: 0.2\n")
    tok = CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"))
    cfg = CLIPConfig(
        text_config={
            "vocab_size": len(vocab),
            "hidden_size": 16,
            "intermediate_size": 32,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "max_position_embeddings": 77,
        },
        vision_config={
            "hidden_size": 16,
            "intermediate_size": 32,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "image_size": 32,
            "patch_size": 8,
        },
        projection_dim=12,
    )
    torch.manual_seed(0)
    CLIPModel(cfg).eval().save_pretrained(folder)
    tok.save_pretrained(folder)
    CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}).save_pretrained(
        folder
    )
    return str(folder)


def test_tiny_clip_predictor_end_to_end(tmp_path):
    path = _tiny_clip(tmp_path / "clip")
    cfg = ERMAConfig(image_encoder="clip", text_encoder="clip", model=path, hidden=[32, 16])
    pred = ERMAPredictor.build(cfg)
    assert pred.spec.shared_space and pred.spec.image_dim == pred.spec.text_dim == 12
    assert pred.spec.text_cosines  # the published image-text cosines are in the layout with CLIP
    src, sur, masks, labels = _dataset(6, seed=7)
    out = pred.predict(src, sur, ["001", "002", "019", "047", "065", "999"], masks)
    assert out.shape == (6,) and np.all((out > 0) & (out < 1))
    folder = pred.save(tmp_path / "model")
    again = ERMAPredictor.load(folder)
    assert again.encoders["model"] == path
    np.testing.assert_allclose(
        again.predict(src, sur, ["001", "002", "019", "047", "065", "999"], masks), out, rtol=1e-5, atol=1e-6
    )
    with pytest.raises(BackendUnavailableError):
        ERMAPredictor.load(folder, model_path=str(tmp_path / "missing"))


def test_encoder_defaults_and_featurize_batch_without_ray():
    from sppe_ray.imageio import encode_mask, encode_png
    from sppe_ray.models.erma.predictor import encoder_kwargs
    from sppe_ray.train.erma import Featurize

    assert encoder_kwargs("classic", None, None) == ({"size": 64}, {"size": 32})
    assert encoder_kwargs("classic", {"size": 32}, None) == ({"size": 32}, {"size": 32})
    assert encoder_kwargs("clip", None, None) == ({}, {})
    src, sur, masks, labels = _dataset(3, seed=8)
    batch = {
        "sample_id": np.array(["b", "a", "c"]),
        "split": np.array(["train", "val", "train"]),
        "instruction_code": np.array(["001", "047", "999"]),
        "source": np.array([encode_png(s) for s in src], dtype=object),
        "surrogate": np.array([encode_png(s) for s in sur], dtype=object),
        "mask": np.array([encode_mask(m) for m in masks], dtype=object),
        "editability": labels,
    }
    encoders = {"image_encoder": "classic", "image_kwargs": {"size": 32}, "crop_kwargs": {"size": 32}}
    out = Featurize(encoders)(batch)
    assert out["f_src"].shape == (3, 591) and out["region"].shape == (3, 3)
    assert out["detect"].shape == (3, len(DETECTOR_STATS))
    assert (
        list(out["code_idx"][:2]) == list(code_index(["001", "047"])) and out["code_idx"][2] == FALLBACK_INDEX
    )
    np.testing.assert_allclose(out["label"], labels)
    assert list(out["split"]) == ["train", "val", "train"]
    direct = _predictor().extract(src, sur, masks)
    np.testing.assert_allclose(out["c_sur"], direct["c_sur"], atol=1e-6)  # PNG round trip is lossless


def _face_photo() -> tuple[np.ndarray, np.ndarray]:
    """scikit-image's astronaut at 256 px (the Haar cascade finds her face) and a mask over the face."""
    import cv2
    from skimage import data

    img = cv2.resize(data.astronaut(), (256, 256), interpolation=cv2.INTER_AREA)
    mask = np.zeros((256, 256), bool)
    mask[20:120, 70:150] = True
    return img, mask


@pytest.mark.parametrize("face_detector", sorted(FACE_SEARCHES))
def test_detector_features_see_what_the_surrogate_destroyed(face_detector):
    import cv2

    img, mask = _face_photo()
    faces = FACE_SEARCHES[face_detector]
    col = {k: i for i, k in enumerate(DETECTOR_STATS)}
    same = detector_features(img, img.copy(), mask, faces)
    assert same.shape == (len(DETECTOR_STATS),) and same.dtype == np.float32 and np.isfinite(same).all()
    assert same[col["face_s"]] == 1 and same[col["face_same"]] == 1 and same[col["face_iou"]] == 1
    assert same[col["fg_iou"]] == pytest.approx(1) and same[col["st_con_d"]] == 0
    flat = img.copy()
    flat[mask] = cv2.GaussianBlur(img, (0, 0), 12)[mask]  # a strong blur surrogate: the face is gone
    gone = detector_features(img, flat, mask, faces)
    assert gone[col["face_u"]] == 0 and gone[col["face_same"]] == 0 and gone[col["face_iou"]] == 0
    assert gone[col["face_in_mask_s"]] > 0.5  # the face the surrogate removed was under the private mask
    # A batch computes each distinct triple once and gives every copy the same row.
    extractor = _predictor(use_detectors=True, face_detector=face_detector).extractor
    assert extractor.face_search == faces
    batch = extractor.plan([img, img, img], [flat, flat, img.copy()], [mask, mask, mask])
    assert batch.unique == [0, 2] and list(batch.inverse) == [0, 0, 1]
    images, src_at, sur_at = batch.images(batch.unique)
    assert len(images) == 2 and src_at == [0, 0] and sur_at == [1, 0]  # equal pixels are analysed once
    block = batch.scatter(extractor.compute(batch, batch.unique))["detect"]
    np.testing.assert_array_equal(block[0], block[1])
    np.testing.assert_array_equal(block[0], gone)
    np.testing.assert_array_equal(block[2], same)


def test_text_and_document_cues_follow_what_the_surrogate_keeps():
    """A card of printed lines: the cues find text and a four-cornered shape; a surrogate that keeps the card
    but fills its text keeps the shape and loses the text."""
    import cv2

    img = np.full((256, 256, 3), 90, np.uint8)
    cv2.rectangle(img, (30, 50), (226, 200), (235, 235, 225), -1)
    for i in range(4):
        cv2.putText(img, "JANE DOE 0412", (40, 85 + 30 * i), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (20, 20, 20), 2)
    mask = np.zeros((256, 256), bool)
    mask[60:190, 36:220] = True
    col = {k: i for i, k in enumerate(DETECTOR_STATS)}
    same = detector_features(img, img.copy(), mask)
    assert same[col["text_s"]] > 0.02 and same[col["nblobs_s"]] > 0 and same[col["text_iou"]] == 1
    assert same[col["rect_s"]] == 1 and same[col["rect_iou"]] == 1 and same[col["rect_area_s"]] > 0.3
    assert same[col["text_in_mask_s"]] > 0.8
    blank = img.copy()
    blank[mask] = (235, 235, 225)
    gone = detector_features(img, blank, mask)
    assert gone[col["text_u"]] < same[col["text_s"]] / 4 and gone[col["text_iou"]] < 0.25
    assert gone[col["rect_u"]] == 1 and gone[col["rect_iou"]] > 0.9


def test_models_and_metrics_never_import_an_editor():
    """ERMA and the metrics must predict editability for editors whose code they do not know: nothing under
    sppe_ray/models or sppe_ray/metrics imports sppe_ray.editors (inside functions too), and importing every
    module there loads no editor module."""
    import ast
    import subprocess
    import sys
    from pathlib import Path

    package = Path(__file__).resolve().parents[2] / "sppe_ray"
    found = []
    for sub in ("models", "metrics"):
        for path in sorted((package / sub).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text())):
                names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                         [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
                found += [f"{path.relative_to(package)}:{node.lineno} {n}" for n in names
                          if n.startswith("sppe_ray.editors") or (isinstance(node, ast.ImportFrom) and node.level)]
    assert found == [], found
    code = ("import importlib, pkgutil, sys\n"
            "import sppe_ray.metrics as X, sppe_ray.models as M\n"
            "for pkg in (M, X):\n"
            "    for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):\n"
            "        try:\n"
            "            importlib.import_module(m.name)\n"
            "        except ImportError:\n"
            "            pass\n"
            "print(sorted(k for k in sys.modules if k.startswith('sppe_ray.editors')))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert loaded.returncode == 0, loaded.stderr[-2000:]
    assert loaded.stdout.strip().splitlines()[-1] == "[]"


def test_instruction_gate_on_detector_block():
    spec = FeatureSpec(image_dim=6, text_dim=5, use_detectors=True)
    g = torch.Generator().manual_seed(0)
    feats = {k: torch.randn(4, 6, generator=g) for k in ("f_src", "f_sur", "c_src", "c_sur")}
    feats.update(text=torch.randn(4, 5, generator=g), region=torch.rand(4, 3, generator=g))
    feats["detect"] = torch.rand(4, len(DETECTOR_STATS), generator=g)
    model = ERMA(spec, hidden=[8])
    assert model.gated and model.net[0].normalized_shape[0] == spec.input_dim + 4 * len(DETECTOR_STATS)
    out = model(feats)
    assert out.shape == (4,) and bool(((out > 0) & (out < 1)).all())
    assert not ERMA(FeatureSpec(6, 5, use_detectors=True, use_instruction=False), hidden=[8]).gated


def test_pairwise_rank_loss_rewards_the_labels_order_and_ignores_ties():
    import torch

    from sppe_ray.models.erma.fitting import Recipe, pairwise_rank_loss

    labels = torch.tensor([0.2, 0.9, 0.95, 1.0])
    right = pairwise_rank_loss(torch.tensor([0.1, 0.5, 0.6, 0.7]), labels)
    wrong = pairwise_rank_loss(torch.tensor([0.7, 0.6, 0.5, 0.1]), labels)
    assert 0 <= float(right) < float(wrong)
    ties = torch.tensor([0.5, 0.5], requires_grad=True)
    loss = pairwise_rank_loss(ties * 2, torch.tensor([0.9, 0.9]))
    loss.backward()  # no ordered pair: zero, and still differentiable
    assert float(loss.detach()) == 0.0 and ties.grad is not None
    assert Recipe.from_config({"rank_weight": 0.5}).rank_weight == 0.5
