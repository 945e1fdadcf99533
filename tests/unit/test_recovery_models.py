"""C2E-S2SER compact network, its losses and the classical baselines, on constructed cases."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sppe_ray.errors import BackendUnavailableError, ImageError, UnknownInstructionError
from sppe_ray.models.recovery import create_recoverer
from sppe_ray.models.recovery.batches import crop_arrays, flip_batch, sample_rng, tag_index, to_model_batch
from sppe_ray.models.recovery.c2e_net import C2ENet, C2ENetRecoverer, load_net, save_net
from sppe_ray.models.recovery.losses import (
    LossWeights,
    c2e_loss,
    change_weight,
    cycle_loss,
    reconstruction_loss,
    tag_loss,
    weighted_l1,
)


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny tensors on a shared 2-core machine: a second OpenMP thread spin-waits and is ~50x slower."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def scene(seed: int = 0, size: int = 48) -> dict[str, np.ndarray]:
    """A textured source, a surrogate differing only inside a square mask, and a local edit on both."""
    rng = np.random.default_rng(seed)
    src = rng.integers(30, 220, (size, size, 3), dtype=np.uint8)
    mask = np.zeros((size, size), bool)
    mask[12:36, 12:36] = True
    sur = src.copy()
    sur[mask] = rng.integers(0, 255, (int(mask.sum()), 3), dtype=np.uint8)
    return {"source": src, "surrogate": sur, "mask": mask}


def randomise(net: C2ENet, seed: int = 0) -> C2ENet:
    """Give the zero-initialised output layer weights, so tests exercise a non-trivial residual."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        net.out.weight.copy_(torch.randn(net.out.weight.shape, generator=g) * 0.1)
    return net.eval()


# ---- compact network ---------------------------------------------------------------------------------------

def test_zero_edit_returns_source_exactly_even_with_a_nonzero_residual():
    s = scene()
    torch.manual_seed(0)
    rec = C2ENetRecoverer(randomise(C2ENet(width=8)))
    out = rec.recover(s["source"], s["surrogate"], s["surrogate"], s["mask"], "001")
    np.testing.assert_array_equal(out, s["source"])


def test_nonzero_edit_changes_output_only_near_the_evidence():
    s = scene()
    edit = s["surrogate"].copy()
    edit[16:24, 16:24] = 0  # a local dark patch: the only evidence
    rec = C2ENetRecoverer(randomise(C2ENet(width=8)))
    out = rec.recover(s["source"], s["surrogate"], edit, s["mask"], "001").astype(int)
    changed = np.abs(out - s["source"].astype(int)).sum(-1) > 0
    assert changed[16:24, 16:24].any()
    assert not changed[40:, 40:].any()  # far from the evidence the gate is exactly zero



def _corrections(net: C2ENet, s: dict[str, np.ndarray], edit: np.ndarray) -> np.ndarray:
    """Per-pixel |c2e output - classical transfer| of one sample (what the network changed)."""
    from sppe_ray.models.recovery.baselines import LocalTransfer

    transfer = LocalTransfer().transfer(s["source"], s["surrogate"], edit, s["mask"])
    out = C2ENetRecoverer(net).recover(s["source"], s["surrogate"], edit, s["mask"], "001")
    return np.abs(out.astype(int) - transfer.astype(int)).sum(-1)


def test_correction_stays_inside_the_mask_band_and_everywhere_without_one():
    s = scene()  # mask rows/cols 12..35
    edit = s["surrogate"].copy()
    edit[2:46, 2:46] = edit[2:46, 2:46] // 2  # evidence inside and well outside the region
    banded = _corrections(randomise(C2ENet(width=8, correction_band=2)), s, edit)
    outside = np.ones_like(s["mask"])
    outside[10:38, 10:38] = False  # mask + 2 px
    assert banded[12:36, 12:36].any()
    assert not banded[outside].any()
    free = _corrections(randomise(C2ENet(width=8, correction_band=None)), s, edit)
    assert free[outside].any()
    with pytest.raises(ValueError, match="correction_band"):
        C2ENet(width=8, correction_band=-1)


def test_models_saved_before_the_band_keep_correcting_everywhere(tmp_path):
    import json

    save_net(C2ENet(width=8, correction_band=3), tmp_path / "new")
    assert load_net(tmp_path / "new").correction_band == 3
    save_net(C2ENet(width=8), tmp_path / "old")
    meta_path = tmp_path / "old" / "c2e_net.json"
    meta = json.loads(meta_path.read_text())
    del meta["correction_band"]
    meta_path.write_text(json.dumps(meta))
    assert load_net(tmp_path / "old").correction_band is None

def test_tag_head_shape_and_gate_range():
    net = C2ENet(width=8)
    x = torch.rand(2, 3, 64, 64)
    pred, residual, gate, logits = net(x, x, x.flip(-1), torch.ones(2, 1, 64, 64))
    assert pred.shape == (2, 3, 64, 64) and residual.shape == (2, 3, 64, 64)
    assert logits.shape == (2, 3)
    assert float(gate.min()) >= 0.0 and float(gate.max()) <= 1.0
    assert float(net.evidence_gate(x, x).max()) == 0.0


def test_batch_mixes_sizes_and_checks_inputs():
    a, b = scene(0, 48), scene(1, 40)  # 40 is not a multiple of 32: exercises padding
    rec = C2ENetRecoverer(randomise(C2ENet(width=8)), max_batch=1)
    outs = rec.recover_batch([a["source"], b["source"]], [a["surrogate"], b["surrogate"]],
                             [a["surrogate"], b["surrogate"]], [a["mask"], b["mask"]], ["001", "35"])
    assert [o.shape for o in outs] == [(48, 48, 3), (40, 40, 3)]
    np.testing.assert_array_equal(outs[1], b["source"])
    with pytest.raises(ImageError):
        rec.recover(a["source"], b["surrogate"], a["surrogate"], a["mask"], "001")
    with pytest.raises(ImageError):
        rec.recover(a["source"], a["surrogate"], a["surrogate"], b["mask"], "001")
    with pytest.raises(UnknownInstructionError):
        rec.recover(a["source"], a["surrogate"], a["surrogate"], a["mask"], "999")
    with pytest.raises(ImageError):
        rec.recover_batch([a["source"]], [], [], [], [])


def test_save_load_round_trip(tmp_path):
    net = randomise(C2ENet(width=8), seed=3)
    save_net(net, tmp_path / "m", extra={"val_gt_psnr": 20.0})
    back = load_net(tmp_path / "m")
    x = torch.rand(1, 3, 32, 32)
    m = torch.ones(1, 1, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(net(x, x, 1 - x, m)[0], back(x, x, 1 - x, m)[0])
    rec = create_recoverer("c2e_net", model=str(tmp_path / "m"), device="cpu")
    assert rec.name == "c2e_net"
    with pytest.raises(BackendUnavailableError, match="recovery.model"):
        load_net(tmp_path / "missing")


# ---- losses -------------------------------------------------------------------------------------------------

def tensors(seed: int = 0, n: int = 2, size: int = 32) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    src = torch.rand(n, 3, size, size, generator=g)
    sur = src.clone()
    sur[..., 8:24, 8:24] = torch.rand(n, 3, 16, 16, generator=g)
    mask = torch.zeros(n, 1, size, size)
    mask[..., 8:24, 8:24] = 1
    sur_edit = sur.clone()
    sur_edit[..., 4:12, 4:28] *= 0.3
    src_edit = src.clone()
    src_edit[..., 4:12, 4:28] *= 0.3
    return {"source": src, "surrogate": sur, "surrogate_edit": sur_edit, "source_edit": src_edit,
            "mask": mask, "tag": torch.tensor([0, 2])[:n]}


def test_change_weight_is_one_without_change_and_grows_with_change():
    t = tensors()
    flat = change_weight(t["surrogate"], t["surrogate"], alpha=4.0)
    torch.testing.assert_close(flat, torch.ones_like(flat))
    w = change_weight(t["surrogate"], t["surrogate_edit"], alpha=4.0)
    assert float(w.max()) == pytest.approx(5.0)
    assert float(w[..., 6, 20].mean()) > float(w[..., 30, 30].mean())
    assert float(change_weight(t["surrogate"], t["surrogate_edit"], 4.0, t["mask"], 2.0).max()) > 5.0


def test_weighting_moves_the_loss_toward_changed_pixels():
    t = tensors()
    target = t["source_edit"]
    wrong_in_edit = target.clone()
    wrong_in_edit[..., 4:12, 4:28] += 0.5
    w_change = change_weight(t["surrogate"], t["surrogate_edit"], alpha=4.0)
    uniform = torch.ones_like(w_change)
    assert float(weighted_l1(wrong_in_edit, target, w_change)) > float(weighted_l1(wrong_in_edit, target, uniform))
    assert float(weighted_l1(target, target, w_change)) == 0.0


def oracle(batch):
    """A perfect model for the swapped direction too: it knows both edited images."""
    def model(src, sur, sur_edit, mask):
        out = torch.where(src.unsqueeze(0) == batch["source"].unsqueeze(0), batch["source_edit"],
                          batch["surrogate_edit"])[0]
        return out, torch.zeros(src.shape[0], 3)
    return model


def test_cycle_term_zero_for_a_perfect_model_and_equal_to_reconstruction_when_roles_are_symmetric():
    t = tensors()
    w = LossWeights()
    assert float(cycle_loss(oracle(t), t, w)) == 0.0
    assert float(reconstruction_loss(oracle(t), t, w)[0]) == 0.0
    sym = dict(t, surrogate=t["source"], surrogate_edit=t["source_edit"])  # surrogate == source
    net = randomise(C2ENet(width=8))
    with torch.no_grad():
        rec, _ = reconstruction_loss(net, sym, w)
        cyc = cycle_loss(net, sym, w)
    assert float(rec) == pytest.approx(float(cyc), rel=1e-5)
    assert float(rec) > 0


def test_total_loss_parts_and_gradients():
    t = tensors()
    net = C2ENet(width=8)
    total, parts = c2e_loss(net, t, LossWeights(lambda_cycle=0.5, lambda_tag=0.1))
    expected = parts["loss_rec"] + 0.5 * parts["loss_cycle"] + 0.1 * parts["loss_tag"]
    assert parts["loss"] == pytest.approx(expected, rel=1e-5)
    total.backward()
    assert net.tag_head[0].weight.grad is not None and net.out.weight.grad.abs().sum() > 0
    only_rec, parts2 = c2e_loss(net, t, LossWeights(lambda_cycle=0.0, lambda_tag=0.0))
    assert set(parts2) == {"loss_rec", "loss"}


def test_tag_loss_checks_head_width():
    assert float(tag_loss(torch.tensor([[10.0, 0, 0]]), torch.tensor([0]))) < 1e-3
    with pytest.raises(ValueError):
        tag_loss(torch.zeros(1, 4), torch.tensor([0]))


def test_a_few_steps_reduce_the_loss():
    torch.manual_seed(0)
    t = tensors(n=2)
    net = C2ENet(width=8)
    opt = torch.optim.Adam(net.parameters(), 3e-3)
    first = None
    for _ in range(25):
        loss, parts = c2e_loss(net, t)
        opt.zero_grad()
        loss.backward()
        opt.step()
        first = parts["loss"] if first is None else first
    assert parts["loss"] < first


# ---- batches -----------------------------------------------------------------------------------------------

def test_crops_hold_mask_pixels_and_are_reproducible():
    s = scene(size=64)
    arrays = {"source": s["source"], "surrogate": s["surrogate"]}
    a = crop_arrays(arrays, s["mask"], 32, sample_rng(0, "x", 0))
    b = crop_arrays(arrays, s["mask"], 32, sample_rng(0, "x", 0))
    assert a["source"].shape == (32, 32, 3) and a["mask"].any()
    np.testing.assert_array_equal(a["source"], b["source"])
    padded = crop_arrays({"source": s["source"][:20, :20]}, s["mask"][:20, :20], 32, None)
    assert padded["source"].shape == (32, 32, 3)
    assert tag_index("STYLE") == 2
    with pytest.raises(ValueError):
        tag_index("BOGUS")


def test_model_batch_and_flip():
    n, c = 2, 8
    raw = {k: np.random.default_rng(0).integers(0, 255, (n, c, c, 3), dtype=np.uint8)
           for k in ("source", "surrogate", "surrogate_edit", "source_edit")}
    raw["mask"] = np.ones((n, c, c), np.uint8)
    raw["tag"] = np.array([0, 1])
    b = to_model_batch(raw)
    assert b["source"].shape == (n, 3, c, c) and b["mask"].shape == (n, 1, c, c)
    f = flip_batch(b, [True, False])
    torch.testing.assert_close(f["source"][0], b["source"][0].flip(-1))
    torch.testing.assert_close(f["source"][1], b["source"][1])


# ---- baselines ---------------------------------------------------------------------------------------------

def test_edited_surrogate_and_paste_back():
    s = scene()
    edit = np.clip(s["surrogate"].astype(int) + 40, 0, 255).astype(np.uint8)
    out = create_recoverer("edited_surrogate").recover(s["source"], s["surrogate"], edit, s["mask"], "032")
    np.testing.assert_array_equal(out, edit)
    pb = create_recoverer("paste_back", feather=3.0)
    out = pb.recover(s["source"], s["surrogate"], edit, s["mask"], "032")
    np.testing.assert_array_equal(out[s["mask"]], s["source"][s["mask"]])
    far = np.ones_like(s["mask"])
    far[8:40, 8:40] = False
    np.testing.assert_array_equal(out[far], edit[far])
    seam = out[36, 20].astype(int)  # 1 px outside the mask: a blend of both
    assert not np.array_equal(seam, edit[36, 20]) or np.array_equal(edit[36, 20], s["source"][36, 20])


def test_local_transfer_recovers_a_global_colour_shift():
    rng = np.random.default_rng(5)
    yy, xx = np.mgrid[0:64, 0:64]
    src = np.stack([yy * 3, xx * 3, (yy + xx) * 1.5], -1).astype(np.float32) + rng.normal(0, 8, (64, 64, 3))
    src = np.clip(src + 20, 0, 230).astype(np.uint8)
    mask = np.zeros((64, 64), bool)
    mask[20:44, 18:46] = True
    sur = src.copy()
    sur[mask] = rng.integers(0, 255, (int(mask.sum()), 3), dtype=np.uint8)

    def shift(img):
        return np.clip(img.astype(np.float32) * [0.8, 1.1, 0.9] + [25, -10, 15], 0, 255).round().astype(np.uint8)

    out = create_recoverer("local_transfer").recover(src, sur, shift(sur), mask, "019")
    gt = shift(src)
    err_in = np.abs(out[mask].astype(int) - gt[mask].astype(int)).mean()
    baseline_err = np.abs(shift(sur)[mask].astype(int) - gt[mask].astype(int)).mean()
    assert err_in < 4.0 < baseline_err
    np.testing.assert_array_equal(out[~np.pad(mask, 0)][:10], shift(sur)[~mask][:10])


def test_local_transfer_copies_a_local_added_object_and_keeps_the_rest_of_the_source():
    s = scene(2, 64)
    edit = s["surrogate"].copy()
    edit[18:24, 14:34] = [10, 10, 10]  # "sunglasses" across the region
    out = create_recoverer("local_transfer").recover(s["source"], s["surrogate"], edit, s["mask"], "001")
    assert np.abs(out[19:23, 16:32].astype(int) - 10).mean() < 20  # the object arrived
    untouched = np.zeros_like(s["mask"])
    untouched[28:34, 16:32] = True  # inside the mask, away from the object
    assert np.abs(out[untouched].astype(int) - s["source"][untouched].astype(int)).mean() < 10


def test_unknown_recoverer_and_bad_inputs():
    with pytest.raises(ValueError, match="unknown recovery method"):
        create_recoverer("nope")
    s = scene()
    with pytest.raises(ImageError):
        create_recoverer("paste_back").recover(s["source"].astype(np.float32), s["surrogate"], s["surrogate"],
                                               s["mask"], "001")


def test_decode_and_crop_reads_benchmark_bytes():
    from sppe_ray.imageio import encode_mask, encode_png
    from sppe_ray.models.recovery.batches import decode_and_crop

    s = scene(size=64)
    row = {"sample_id": np.array(["a", "b"], dtype=object), "task_tag": np.array(["EDIT", "STYLE"], dtype=object),
           "instruction_code": np.array(["007", "032"], dtype=object),
           "category": np.array(["a105_face_all", "a111_name_all"], dtype=object),
           "mask": np.array([encode_mask(s["mask"])] * 2, dtype=object)}
    for k in ("source", "surrogate", "surrogate_edit", "source_edit"):
        row[k] = np.array([encode_png(s["source"] if "source" in k else s["surrogate"])] * 2, dtype=object)
    out = decode_and_crop(row, crop=32, seed=1, crops_per_row=3)
    assert out["source"].shape == (6, 32, 32, 3) and out["mask"].shape == (6, 32, 32)
    assert out["tag"].tolist() == [1, 1, 1, 2, 2, 2] and all(out["mask"][i].any() for i in range(6))
    val = decode_and_crop(row, crop=32, random=False, with_text=True)
    assert val["source"].shape[0] == 2 and val["category"].tolist() == ["a105_face_all", "a111_name_all"]
    with_base = decode_and_crop(row, crop=32, random=False, with_transfer=True)
    assert with_base["transfer"].shape == (2, 32, 32, 3) and with_base["transfer_swap"].dtype == np.uint8
    # no evidence in this row (surrogate_edit == surrogate): the transfer keeps the source's crop
    np.testing.assert_array_equal(with_base["transfer"], with_base["source"])
    batch = to_model_batch(with_base)
    assert batch["transfer"].shape == (2, 3, 32, 32) and "transfer_swap" in batch


def test_c2e_net_without_model_or_champion_names_the_setting(sppe_home):
    with pytest.raises(BackendUnavailableError, match="recovery.model"):
        create_recoverer("c2e_net", device="cpu")


def test_untrained_network_returns_the_classical_transfer():
    """The correction starts at zero: an untrained network is the local_transfer baseline (its starting point)."""
    s = scene()
    edit = np.clip(s["surrogate"].astype(int) + 25, 0, 255).astype(np.uint8)
    out = C2ENetRecoverer(C2ENet(width=8)).recover(s["source"], s["surrogate"], edit, s["mask"], "019")
    expected = create_recoverer("local_transfer").recover(s["source"], s["surrogate"], edit, s["mask"], "019")
    np.testing.assert_array_equal(out, expected)


def test_small_corrections_are_exactly_zero_but_still_learn():
    """Soft-shrink in value (exact 'keep the transfer' pixels), straight-through in gradient (a zero-initialised
    output layer must still get a gradient)."""
    from sppe_ray.models.recovery.c2e_net import SHRINK, shrink

    r = torch.tensor([0.0, SHRINK / 2, -SHRINK / 2, 3 * SHRINK, -3 * SHRINK], requires_grad=True)
    out = shrink(r)
    torch.testing.assert_close(out.detach(), torch.tensor([0.0, 0.0, 0.0, 2 * SHRINK, -2 * SHRINK]))
    out.sum().backward()
    torch.testing.assert_close(r.grad, torch.ones(5))

