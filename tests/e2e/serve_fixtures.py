"""What the Serve tests share: tiny registered champions fitted through the real fit paths, and a controllable
reference editor server (a real HTTP server on loopback standing in for the untrusted cloud editor)."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from sppe_ray.schema import table_from_rows
from sppe_ray.shards import build_manifest, write_manifest, write_shard


def tiny_benchmark(folder: Path, row_fn, n: int, splits: tuple[int, int], per_shard: int) -> Path:
    """A benchmark of ``n`` rows made by ``row_fn(rng, i, split)``; the first splits[0] train, then val, test."""
    rng = np.random.default_rng(0)
    rows = [row_fn(rng, i, "train" if i < splits[0] else "val" if i < splits[1] else "test") for i in range(n)]
    infos = [write_shard(table_from_rows(rows[a:a + per_shard]), folder, f"part-{a // per_shard:03d}")
             for a in range(0, n, per_shard)]
    write_manifest(folder, build_manifest(infos))
    return folder


@contextlib.contextmanager
def champion_home(tmp_path_factory, name: str) -> Iterator[tuple[Path, dict[str, str]]]:
    """A fresh SPPE_HOME with its own SQLite registry (set in the environment for the block) holding tiny
    fitted champions; yields (home, name -> version). A cluster started inside reads the same registry."""
    import pytest

    mp = pytest.MonkeyPatch()
    home = tmp_path_factory.mktemp(name)
    mp.setenv("SPPE_HOME", str(home))
    mp.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{home}/m.db")
    try:
        yield home, fit_champions(home)
    finally:
        mp.undo()


def fit_champions(tmp: Path) -> dict[str, str]:
    """Fit and register a tiny ERMA and a tiny C2E-S2SER (real Ray Train fits); returns name -> version."""
    from sppe_ray.config import ERMAConfig, RecoveryConfig
    from sppe_ray.train.erma import fit_erma
    from sppe_ray.train.recovery import fit_recovery
    from tests.e2e.test_erma_train import _row as erma_row
    from tests.e2e.test_recovery_train import _row as recovery_row

    erma_bench = tiny_benchmark(tmp / "erma-bench", erma_row, 100, (64, 88), 50)
    fit_erma(erma_bench, ERMAConfig(text_encoder="hashing", hidden=[64, 32], dropout=0.0, lr=3e-3, steps=60,
                                    warmup=10, batch_size=32, eval_every=30, seed=0))
    rec_bench = tiny_benchmark(tmp / "rec-bench", recovery_row, 32, (24, 32), 16)
    fit_recovery(rec_bench, RecoveryConfig(width=8, lr=3e-3, steps=6, batch_size=8, crop=32, eval_every=3, seed=0))
    from sppe_ray import tracking

    return {name: tracking.resolve_alias(name) for name in ("sppe-erma", "sppe-c2e-s2ser")}


def register_learned_anonymizer(home: Path) -> Path:
    """A small non-identity anonymizer registered as the `sppe-anonymizer-editor` champion (what `sppe train
    anonymizer --setting 2` registers), so the gateway's `learned` strategy finds it; returns its folder."""
    import torch
    from torch.nn.utils import parameters_to_vector

    from sppe_ray import tracking
    from sppe_ray.blackbox.networks import TinyUNet
    from sppe_ray.train.anonymizer import EXPERIMENT, save_model

    torch.manual_seed(0)
    net = TinyUNet()
    torch.nn.init.normal_(net.out.weight, std=0.5)
    folder = save_model(home / "learned-anonymizer", parameters_to_vector(net.parameters()).detach().numpy(),
                        {"note": "test weights"})
    with tracking.start_run(EXPERIMENT, "learned-for-serve-tests", home=home):
        tracking.register_model(folder, "sppe-anonymizer-editor", 0.5)
    return folder


class ControlledEditor:
    """The procedural editor behind a switch the test flips: ok, garbage, wrong_size, slow. It records every
    image it receives, so the test checks what reached the 'cloud' from the editor's side."""

    name = "controlled"
    version = "test"

    def __init__(self, slow_s: float = 6.0) -> None:
        from sppe_ray.editors import create_editor

        self.inner = create_editor("procedural")
        self.mode = "ok"
        self.slow_s = slow_s
        self.received: list[np.ndarray] = []
        self._lock = threading.Lock()

    def edit(self, image: np.ndarray, instruction_code: str, seed: int) -> np.ndarray:
        with self._lock:
            self.received.append(image.copy())
        if self.mode == "slow":
            time.sleep(self.slow_s)
        if self.mode == "wrong_size":
            return np.zeros((image.shape[0] // 2, image.shape[1] // 2, 3), np.uint8)
        return self.inner.edit(image, instruction_code, seed)


def controlled_editor_app(editor: ControlledEditor):
    """The reference editor server's app around ``editor``; in mode "garbage" it answers 200 with a body
    that is not an image."""
    from fastapi import Request
    from fastapi.responses import JSONResponse

    from sppe_ray.editors.http_server import create_app

    app = create_app(editor)

    @app.middleware("http")
    async def garbage(request: Request, call_next):
        if editor.mode == "garbage" and request.url.path == "/edit":
            await request.body()
            return JSONResponse({"image_png_b64": "bm90IGFuIGltYWdl", "editor": "x", "version": "x"})
        return await call_next(request)

    return app
