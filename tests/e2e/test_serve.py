"""The Serve application over real HTTP on loopback: real Ray Serve, real MLflow registry (SQLite) with tiny
champions fitted through the real fit paths, and a real editor server standing in for the cloud editor.

One deployment for the module (deploying costs about 20 s); tests run in file order where one changes state
(editor faults restore the editor; the model swap runs last but one, the browser last).
"""

from __future__ import annotations

import asyncio
import threading
import time

import httpx
import numpy as np
import pytest

from sppe_ray.imageio import decode_image, decode_mask, encode_mask, encode_png
from tests.e2e.serve_fixtures import ControlledEditor, controlled_editor_app, fit_champions, register_learned_anonymizer

pytestmark = pytest.mark.slow
TOKEN = "test-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
MAX_UPLOAD = 4 * 2**20


def _face_photo(side: int = 384) -> np.ndarray:
    import cv2
    from skimage import data

    return cv2.resize(data.astronaut(), (side, side), interpolation=cv2.INTER_AREA)


def _text_scene():
    from sppe_ray.privacy import photos
    from sppe_ray.privacy.synthetic import render_scene

    base = dict(photos.background_photos())["skimage/coffee"]
    return render_scene("a111_name_all", base, np.random.default_rng(3), size=256)


class Stack:
    def __init__(self, url, editor, server, versions, overrides):
        self.url, self.editor, self.server, self.versions, self.overrides = url, editor, server, versions, overrides

    def post(self, route, files, data=None, headers=AUTH, timeout=120):
        return httpx.post(f"{self.url}{route}", files=files, data=data or {}, headers=headers, timeout=timeout)


@pytest.fixture(scope="module")
def stack(ray_local, tmp_path_factory):
    from ray import serve

    from sppe_ray.serve.run import EditorServer, deploy, free_port

    mp = pytest.MonkeyPatch()
    home = tmp_path_factory.mktemp("serve-home")
    mp.setenv("SPPE_HOME", str(home))
    mp.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{home / 'mlflow.db'}")
    versions = fit_champions(home)
    learned_folder = register_learned_anonymizer(home)
    editor = ControlledEditor(slow_s=5.0)
    server = EditorServer(app=controlled_editor_app(editor)).start()
    overrides = [f"serve.editor_url={server.url}", "serve.editor_timeout_s=2", "serve.editor_retries=0",
                 "serve.max_queued_requests=4", f"serve.max_upload_bytes={MAX_UPLOAD}", "serve.max_pixels=4000000"]
    url = deploy(None, overrides, TOKEN, host="127.0.0.1", port=free_port())
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/readyz", timeout=5).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    else:
        raise AssertionError("the Serve application never became ready")
    stack = Stack(url, editor, server, versions, overrides)
    stack.learned_folder = learned_folder
    yield stack
    serve.shutdown()
    server.stop()
    mp.undo()


def _png(img: np.ndarray) -> tuple[str, bytes, str]:
    return ("x.png", encode_png(img), "image/png")


def test_open_routes_docs_and_model_versions(stack):
    assert httpx.get(f"{stack.url}/healthz").json() == {"status": "ok"}
    ready = httpx.get(f"{stack.url}/readyz").json()
    assert ready["status"] == "ready" and ready["models"]["sppe-erma"] == stack.versions["sppe-erma"]
    assert "swagger" in httpx.get(f"{stack.url}/docs").text.lower()
    paths = httpx.get(f"{stack.url}/openapi.json").json()["paths"]
    assert {"/v1/edit", "/v1/protect", "/v1/editability", "/v1/recover", "/v1/models"} <= set(paths)
    models = httpx.get(f"{stack.url}/v1/models", headers=AUTH).json()["models"]
    assert models == {"sppe-erma": stack.versions["sppe-erma"], "sppe-c2e-s2ser": stack.versions["sppe-c2e-s2ser"]}


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}])
def test_every_v1_route_needs_the_token(stack, headers):
    resp = httpx.get(f"{stack.url}/v1/models", headers=headers)
    assert resp.status_code == 401 and resp.headers["www-authenticate"] == "Bearer"
    assert "token" in resp.json()["detail"]
    resp = stack.post("/v1/edit", {"image": _png(_face_photo(64))}, {"instruction": "001"}, headers=headers)
    assert resp.status_code == 401


def _check_nothing_private_reached_the_editor(stack, source, mask, body, received_before):
    assert len(stack.editor.received) == received_before + 1, "exactly one editor call"
    sent = stack.editor.received[-1]
    assert sent.shape == source.shape
    assert int(np.all(sent[mask] == source[mask], axis=-1).sum()) == 0, "a private source pixel reached the editor"
    assert not np.array_equal(sent[mask], source[mask])
    import hashlib

    assert hashlib.sha256(encode_png(sent)).hexdigest() == body["decision"]["sent_sha256"]
    assert body["decision"]["private_pixels_sent"] == 0
    assert body["decision"]["sent_bytes"] == len(encode_png(sent))


def test_gateway_face_round_trip_sends_no_private_pixel(stack):
    source = _face_photo()
    before = len(stack.editor.received)
    resp = stack.post("/v1/edit", {"image": _png(source)}, {"instruction": "Let the person wear sunglasses"})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    decision = body["decision"]
    assert any(r["category"] == "a105_face_all" for r in decision["regions"])
    assert decision["strategy"] and 0.0 <= decision["editability"] <= 1.0 and decision["instruction_code"] == "001"
    assert all(c["passed_checks"] is False or c["editability"] is not None for c in decision["candidates"])
    mask = decode_mask(__import__("base64").b64decode(body["mask_png_base64"]))
    _check_nothing_private_reached_the_editor(stack, source, mask, body, before)
    out = decode_image(__import__("base64").b64decode(body["image_png_base64"]))
    assert out.shape == source.shape
    assert body["models"] == {"sppe-erma": stack.versions["sppe-erma"],
                              "sppe-c2e-s2ser": stack.versions["sppe-c2e-s2ser"]}
    assert {"protect_ms", "score_ms", "editor_ms", "recover_ms"} <= set(body["timings_ms"])


def test_gateway_text_sample_with_a_given_mask_sends_no_private_pixel(stack):
    scene = _text_scene()
    mask = scene.union_mask()
    before = len(stack.editor.received)
    resp = stack.post("/v1/edit", {"image": _png(scene.image), "mask": ("m.png", encode_mask(mask), "image/png")},
                      {"instruction": "019", "categories": "a111_name_all"})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["decision"]["regions"][0]["category"] == "a111_name_all"
    _check_nothing_private_reached_the_editor(stack, scene.image, mask, body, before)


def test_protect_editability_and_recover_endpoints(stack):
    source = _face_photo(256)
    resp = stack.post("/v1/protect", {"image": _png(source)}, {"strategy": "blur"})
    assert resp.status_code == 200, resp.text
    prot = resp.json()
    assert prot["strategies"] == ["blur"] * len(prot["regions"])
    assert prot["passed_checks"] is all(c["ok"] for c in prot["checks"]) and prot["passed_checks"]
    assert {"identity_distance", "text_similarity", "pixel_leak"} <= set(prot["checks"][0])
    b64 = __import__("base64").b64decode
    surrogate, mask = decode_image(b64(prot["surrogate_png_base64"])), decode_mask(b64(prot["mask_png_base64"]))
    assert surrogate.shape == source.shape and mask.any() and prot["checks"][0]["pixel_leak"] == 0.0
    files = {"source": _png(source), "surrogate": _png(surrogate), "mask": ("m.png", encode_mask(mask), "image/png")}
    score = stack.post("/v1/editability", files, {"instruction": "001"}).json()
    assert 0.0 <= score["editability"] <= 1.0 and score["model_version"] == stack.versions["sppe-erma"]
    edited = np.clip(surrogate.astype(int) + 30, 0, 255).astype(np.uint8)
    files["edited"] = _png(edited)
    rec = stack.post("/v1/recover", files, {"instruction": "019"}).json()
    assert rec["method"] == "c2e_s2ser" and rec["model_version"] == stack.versions["sppe-c2e-s2ser"]
    out = decode_image(b64(rec["image_png_base64"]))
    assert out.shape == source.shape and out.dtype == np.uint8
    base = stack.post("/v1/recover", files, {"instruction": "019", "method": "paste_back"}).json()
    pasted = decode_image(b64(base["image_png_base64"]))
    assert base["method"] == "paste_back" and np.array_equal(pasted[mask], source[mask])


def test_protect_with_the_learned_strategy_uses_the_registered_anonymizer(stack):
    source = _face_photo(256)
    resp = stack.post("/v1/protect", {"image": _png(source)}, {"strategy": "learned"})
    assert resp.status_code == 200, resp.text
    prot = resp.json()
    assert prot["strategies"] == ["learned"] * len(prot["regions"])
    assert prot["passed_checks"] is all(c["ok"] for c in prot["checks"])
    b64 = __import__("base64").b64decode
    surrogate, mask = decode_image(b64(prot["surrogate_png_base64"])), decode_mask(b64(prot["mask_png_base64"]))
    assert np.array_equal(surrogate[~mask], source[~mask])  # the network's output is kept inside the regions only
    from sppe_ray.blackbox import learned

    learned.use(stack.learned_folder)
    try:
        expected = learned.learned(source, None, None)  # the registered network's own output
    finally:
        learned.use(None)
    assert np.abs(surrogate[mask].astype(int) - expected[mask]).max() <= 3  # up to the tie-break nudge


def test_refusal_below_the_minimum_calls_no_editor(stack):
    before = len(stack.editor.received)
    resp = stack.post("/v1/edit", {"image": _png(_face_photo(256))}, {"instruction": "001", "min_editability": "1"})
    assert resp.status_code == 422
    body = resp.json()
    assert body["detail"].startswith("refused") and body["decision"]["refused"] is True
    assert body["decision"]["private_pixels_sent"] == 0 and body["decision"]["sent_bytes"] == 0
    assert any(c["editability"] is not None for c in body["decision"]["candidates"])
    assert len(stack.editor.received) == before


def _blank_png(width: int, height: int) -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (width, height)).save(buf, format="PNG")
    return buf.getvalue()


def test_bad_input_gets_the_right_code_and_a_json_body(stack):
    img = _face_photo(64)
    cases = [
        (415, {"image": ("x.png", b"this is not an image", "image/png")}, {"instruction": "001"}),
        (413, {"image": ("big.png", _blank_png(2500, 2000), "image/png")}, {"instruction": "001"}),  # 5 MP > 4 MP
        (413, {"image": ("big.bin", b"\x89PNG" + bytes(MAX_UPLOAD + 10), "image/png")}, {"instruction": "001"}),
        (422, {"image": _png(img)}, {"instruction": "999"}),
        (422, {"image": _png(img)}, {"instruction": "make it nice"}),
        (422, {"image": _png(img), "mask": ("m.png", encode_mask(np.ones((32, 32), bool)), "image/png")},
         {"instruction": "001"}),
        (422, {"image": _png(img), "mask": ("m.png", encode_mask(np.zeros((64, 64), bool)), "image/png")},
         {"instruction": "001"}),
        (422, {"image": _png(img)}, {"instruction": "001", "min_editability": "2"}),
        (422, {"image": _png(img)}, {"instruction": "001", "strategies": "blurr"}),
        (422, {}, {"instruction": "001"}),
    ]
    for status, files, data in cases:
        resp = stack.post("/v1/edit", files, data)
        assert resp.status_code == status, (status, data, resp.text)
        assert isinstance(resp.json()["detail"], str) and resp.json()["detail"]
    huge = httpx.post(f"{stack.url}/v1/edit", content=bytes(4 * MAX_UPLOAD + 70_000), headers=AUTH)
    assert huge.status_code == 413 and "limit" in huge.json()["detail"]


def test_editor_faults_become_502_and_504_and_nothing_hangs(stack):
    img = _face_photo(256)
    try:
        for mode, status in (("garbage", 502), ("wrong_size", 502), ("slow", 504)):
            stack.editor.mode = mode
            start = time.monotonic()
            resp = stack.post("/v1/edit", {"image": _png(img)}, {"instruction": "019"})
            assert resp.status_code == status, (mode, resp.text)
            assert "editor" in resp.json()["detail"] and time.monotonic() - start < 60
    finally:
        stack.editor.mode = "ok"
    port = stack.server.port
    stack.server.stop()
    try:
        resp = stack.post("/v1/edit", {"image": _png(img)}, {"instruction": "019"})
        assert resp.status_code == 502 and "editor" in resp.json()["detail"]
    finally:
        from sppe_ray.serve.run import EditorServer

        stack.server = EditorServer(app=controlled_editor_app(stack.editor), port=port).start()
    assert stack.post("/v1/edit", {"image": _png(img)}, {"instruction": "019"}).status_code == 200


def test_a_full_queue_answers_503_with_retry_after(stack):
    img = encode_png(_face_photo(256))

    async def burst(n: int) -> list[httpx.Response]:
        async with httpx.AsyncClient(timeout=180) as client:
            return await asyncio.gather(*[
                client.post(f"{stack.url}/v1/protect", files={"image": ("x.png", img, "image/png")},
                            data={"strategy": "fill"}, headers=AUTH) for _ in range(n)])

    answers = asyncio.run(burst(48))
    codes = [r.status_code for r in answers]
    assert 503 in codes and 200 in codes, codes
    assert set(codes) <= {200, 503}, codes
    busy = next(r for r in answers if r.status_code == 503)
    assert busy.headers["retry-after"].isdigit() and "capacity" in busy.json()["detail"]


def test_sppe_edit_command_against_the_gateway(stack, tmp_path):
    from PIL import Image
    from typer.testing import CliRunner

    from sppe_ray.cli import app

    photo = tmp_path / "me.jpg"
    Image.fromarray(_face_photo(256)).save(photo, quality=92)
    res = CliRunner().invoke(app, ["edit", str(photo), "019", "--url", stack.url, "--token", TOKEN])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "me.edited.png").is_file() and '"private_pixels_sent": 0' in res.output


def test_sppe_serve_command_prints_the_url_and_serves_until_interrupted(stack, tmp_path):
    """The embedded default as a user starts it: its own local Ray, its own reference editor, a new token."""
    import os
    import signal
    import subprocess
    import sys

    from sppe_ray.serve.run import free_port

    port = free_port()
    env = {**os.environ, "RAY_ADDRESS": "", "SPPE_SERVE_TOKEN": ""}
    env.pop("RAY_ADDRESS")
    env.pop("SPPE_SERVE_TOKEN")
    log = (tmp_path / "serve.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "sppe_ray.cli", "serve", "--port", str(port)], env=env,
                            stdout=subprocess.PIPE, stderr=log, text=True, start_new_session=True)
    try:
        line = proc.stdout.readline()  # blocks until ready (or the process ends)
        tail = (tmp_path / "serve.log").read_text()[-2000:]
        assert line.strip() == f"serving at http://127.0.0.1:{port}", (line, tail)
        from sppe_ray.config import sppe_home

        token = (sppe_home() / "serve" / "token").read_text().strip()
        resp = httpx.post(f"http://127.0.0.1:{port}/v1/edit", files={"image": _png(_face_photo(256))},
                          data={"instruction": "019"}, headers={"Authorization": f"Bearer {token}"}, timeout=120)
        assert resp.status_code == 200, resp.text
        assert resp.json()["decision"]["private_pixels_sent"] == 0
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


def test_moving_the_alias_and_redeploying_swaps_the_model_with_no_failed_request(stack, tmp_path):
    from sppe_ray import tracking
    from sppe_ray.serve.run import deploy

    old = stack.versions["sppe-erma"]
    folder = tracking.download_version("sppe-erma", old)
    with tracking.start_run("sppe-erma-swap"):
        new, promoted = tracking.register_model(folder, "sppe-erma", score=10.0)
    assert promoted and new != old
    source = _face_photo(96)
    surrogate = source.copy()
    surrogate[30:60, 30:60] = 127
    files = {"source": _png(source), "surrogate": _png(surrogate)}
    seen, replicas, failures, stop = [], {}, [], threading.Event()

    def hammer() -> None:
        with httpx.Client(timeout=60) as client:
            while not stop.is_set():
                resp = client.post(f"{stack.url}/v1/editability", files=files, data={"instruction": "001"},
                                   headers=AUTH)
                if resp.status_code == 200:
                    seen.append(resp.json()["model_version"])
                    replicas.setdefault(resp.json()["replica"], set()).add(seen[-1])
                else:
                    failures.append((resp.status_code, resp.text[:200]))

    worker = threading.Thread(target=hammer)
    worker.start()
    try:
        time.sleep(1.0)
        deploy(None, stack.overrides, TOKEN, host="127.0.0.1", port=int(stack.url.rsplit(":", 1)[1]))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (not seen or seen[-1] != new):
            time.sleep(0.2)
        time.sleep(1.0)
    finally:
        stop.set()
        worker.join(timeout=60)
    assert not failures, failures[:3]
    assert old in seen and seen[-1] == new, (seen[:3], seen[-3:])
    # reconfigure, not a restart: one replica answered with the old version and then with the new one
    assert any(versions == {old, new} for versions in replicas.values()), replicas
    assert httpx.get(f"{stack.url}/v1/models", headers=AUTH).json()["models"]["sppe-erma"] == new
    stack.versions["sppe-erma"] = new


def test_the_page_in_a_headless_browser(stack, tmp_path):
    """The page at / in Debian's chromium (installed by cluster/install.sh), driven by Selenium."""
    from PIL import Image
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    photo = tmp_path / "me.png"
    Image.fromarray(_face_photo(256)).save(photo)
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}"):
        opts.add_argument(flag)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    try:
        driver.get(f"{stack.url}/")
        assert "privacy gateway" in driver.title + driver.page_source
        assert len(driver.find_elements(By.CSS_SELECTOR, "#instructions option")) == 65
        driver.find_element(By.ID, "token").send_keys(TOKEN)
        driver.find_element(By.ID, "image").send_keys(str(photo))
        driver.find_element(By.ID, "instruction").send_keys("019")
        driver.find_element(By.ID, "submit").click()
        WebDriverWait(driver, 120).until(lambda d: d.find_element(By.ID, "status").text.startswith(("done", "ref")))
        status = driver.find_element(By.ID, "status").text
        assert status.startswith("done") and "private pixels sent 0" in status, status
        for name in ("surrogate", "edited", "recovered"):
            assert driver.find_element(By.ID, f"img-{name}").get_attribute("src").startswith("data:image/png")
        assert '"private_pixels_sent": 0' in driver.find_element(By.ID, "decision").text
        driver.save_screenshot(str(tmp_path / "page.png"))
    finally:
        driver.quit()
