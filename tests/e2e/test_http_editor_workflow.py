"""The workflow of a user with a cloud editor we did not write: build the labels through the HTTP editor
protocol (`editor.name=http`), fit ERMA on them, register it and serve it, all on loopback.

Editor B stands behind the reference server here, so the labels come from an editor whose code ERMA does not
import; the test also checks that every stored edit is exactly what that editor returns for the row's seed.
"""

from __future__ import annotations

import json
import time

import httpx
import numpy as np
import pyarrow.parquet as pq
import pytest

from sppe_ray.imageio import decode_image, encode_png
from tests.conftest import SMALL_BUILD

pytestmark = pytest.mark.slow
TOKEN = "workflow-token-0123456789"


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=10).status_code == 200
    except httpx.HTTPError:  # the proxy is still starting
        return False


@pytest.fixture(scope="module")
def editor_server():
    from sppe_ray.editors import create_editor
    from sppe_ray.serve.run import EditorServer

    server = EditorServer(editor=create_editor("procedural_b")).start()
    yield server
    server.stop()


def test_build_through_http_fit_and_serve(ray_local, sppe_home, editor_server, tmp_path):
    from ray import serve

    from sppe_ray.config import ERMAConfig, load_config
    from sppe_ray.editors import create_editor
    from sppe_ray.pipelines.build import build_benchmark
    from sppe_ray.serve.run import deploy, free_port
    from sppe_ray.shards import read_manifest
    from sppe_ray.train.erma import fit_erma

    cfg = load_config(overrides=[*SMALL_BUILD, "build.n_scenes=12", "build.name=via-http", "editor.name=http",
                                 f"editor.url={editor_server.url}", "editor.retries=1"], environ={})
    out = tmp_path / "via-http"
    build_benchmark(cfg, out, progress=False)

    rows = [r for s in read_manifest(out)["shards"] for r in pq.read_table(
        out / s["name"], columns=["sample_id", "instruction_code", "source", "source_edit", "editability",
                                  "provenance"]).to_pylist()]
    assert rows and all(r["editability"] is not None for r in rows)
    local = create_editor("procedural_b")
    for r in rows[::7]:  # the stored edits are editor B's, byte for byte, for the row's own seed
        seed = json.loads(r["provenance"])["seed"]
        expected = local.edit(decode_image(r["source"]), r["instruction_code"], seed)
        assert np.array_equal(decode_image(r["source_edit"]), expected), r["sample_id"]

    erma = ERMAConfig(text_encoder="hashing", hidden=[32], dropout=0.0, steps=60, warmup=5, batch_size=16,
                      eval_every=30)
    fit = fit_erma(out, erma, register=True, actors=1)
    assert fit["version"] == "1" and fit["promoted"]

    overrides = [f"serve.editor_url={editor_server.url}", "serve.recovery_method=local_transfer"]
    try:
        url = deploy(None, overrides, TOKEN, host="127.0.0.1", port=free_port())
        deadline = time.monotonic() + 300
        while not _ready(url):
            assert time.monotonic() < deadline, "the Serve application never became ready"
            time.sleep(1)
        row = rows[0]
        source = decode_image(row["source"])
        surrogate = np.clip(source.astype(int) + 20, 0, 255).astype(np.uint8)
        files = {"source": ("s.png", encode_png(source), "image/png"),
                 "surrogate": ("u.png", encode_png(surrogate), "image/png")}
        resp = httpx.post(f"{url}/v1/editability", files=files, data={"instruction": row["instruction_code"]},
                          headers={"Authorization": f"Bearer {TOKEN}"}, timeout=120)
        assert resp.status_code == 200, resp.text
        body = resp.json()
        assert 0.0 <= body["editability"] <= 1.0 and body["model_version"] == fit["version"]
    finally:
        serve.shutdown()
