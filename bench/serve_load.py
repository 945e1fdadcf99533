"""Serve under a bounded loopback load: latency and throughput per endpoint, Serve's own overhead, batching,
autoscaling, and where one gateway call spends its time.

    python bench/serve_load.py [--requests 48] [--scale-seconds 20]

Starts local Ray, the reference editor on loopback and the Serve application (autoscaling delays shortened for
the bench). Models: the registry's champions under SPPE_HOME when there are any, else tiny ones fitted here
through the real fit paths (the ERMA features and the recovery network cost the same either way). Prints one
JSON object last with `overhead_ms_p50` and, per endpoint and concurrency, `p50_ms`, `p95_ms`, `p99_ms`, `rps`,
`errors`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("RAY_AUTH_MODE", "disabled")
os.environ.setdefault("TQDM_DISABLE", "1")

TOKEN = "bench-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
#: short delays and a low target, for the autoscaling timeline only (the load figures use the app's defaults).
SCALING = {"min_replicas": 1, "max_replicas": 3, "target_ongoing_requests": 2, "upscale_delay_s": 1,
           "downscale_delay_s": 6, "metrics_interval_s": 0.5, "look_back_period_s": 2}


def _photo(side: int) -> np.ndarray:
    import cv2
    from skimage import data

    return cv2.resize(data.astronaut(), (side, side), interpolation=cv2.INTER_AREA)


def _inputs(n: int = 16) -> list[dict]:
    """``n`` distinct (source, surrogate, edited, mask) sets: ERMA computes features once per distinct pair, so
    repeating one pair would measure its cache, not the model."""
    from sppe_ray.imageio import encode_mask, encode_png
    from sppe_ray.privacy.region import Region
    from sppe_ray.privacy.surrogates import make_surrogate

    big = _photo(448)
    rng = np.random.default_rng(0)
    out = []
    for i in range(n):
        y, x = (int(v) for v in rng.integers(0, 224, size=2))
        src = np.ascontiguousarray(big[y:y + 224, x:x + 224])
        mask = np.zeros(src.shape[:2], bool)
        my, mx = (int(v) for v in rng.integers(10, 120, size=2))
        mask[my:my + 90, mx:mx + 80] = True
        sur = make_surrogate(src, Region("a105_face_all", mask), ("blur", "fill", "pixelate")[i % 3], i)
        edited = np.clip(sur.astype(int) * 0.9 + 20, 0, 255).astype(np.uint8)
        out.append({"src": encode_png(src), "sur": encode_png(sur), "edited": encode_png(edited),
                    "mask": encode_mask(mask)})
    return out


def _requests(inputs: list[dict]) -> dict[str, tuple[str, list[dict], dict]]:
    """Per endpoint: route, one multipart file set per distinct input, form data."""
    from sppe_ray.imageio import encode_png

    def files(keys: dict[str, str]) -> list[dict]:
        return [{field: (f"{field}.png", item[key], "image/png") for field, key in keys.items()} for item in inputs]

    face = encode_png(_photo(224))
    return {
        "/v1/editability": ("/v1/editability", files({"source": "src", "surrogate": "sur", "mask": "mask"}),
                            {"instruction": "001"}),
        "/v1/recover": ("/v1/recover", files({"source": "src", "surrogate": "sur", "edited": "edited", "mask": "mask"}),
                        {"instruction": "019"}),
        "/v1/protect": ("/v1/protect", [{"image": ("p.png", face, "image/png")}], {"strategy": "blur"}),
        "/v1/edit": ("/v1/edit", [{"image": ("p.png", face, "image/png")}], {"instruction": "019"}),
    }


async def _load(url: str, route: str, files: list[dict], data: dict, concurrency: int, total: int) -> dict:
    import httpx

    lat, codes = [], []
    todo = list(range(total))

    async def worker(client: httpx.AsyncClient) -> None:
        while todo:
            i = todo.pop()
            t = time.perf_counter()
            resp = await client.post(f"{url}{route}", files=files[i % len(files)], data=data, headers=AUTH)
            lat.append((time.perf_counter() - t) * 1e3)
            codes.append(resp.status_code)

    start = time.perf_counter()
    async with httpx.AsyncClient(timeout=300) as client:
        await asyncio.gather(*[worker(client) for _ in range(concurrency)])
    wall = time.perf_counter() - start
    q = np.percentile(lat, [50, 95, 99])
    return {"p50_ms": round(q[0], 1), "p95_ms": round(q[1], 1), "p99_ms": round(q[2], 1),
            "rps": round(len(lat) / wall, 2), "n": len(lat), "errors": sum(c != 200 for c in codes),
            "errors_5xx": sum(c >= 500 for c in codes)}


def in_process(inputs: list[dict], repeats: int = 48) -> dict:
    """The same predictor on the same bytes, decoding included: one pair at a time (cycling over the distinct
    inputs, as the HTTP load does), and all distinct pairs as one batch."""
    from sppe_ray import tracking
    from sppe_ray.imageio import decode_image, decode_mask
    from sppe_ray.models.erma import ERMAPredictor

    folder = tracking.download_version("sppe-erma", tracking.resolve_alias("sppe-erma"))
    predictor = ERMAPredictor.load(folder, workers=1)

    def decoded(item: dict) -> tuple:
        return decode_image(item["src"]), decode_image(item["sur"]), decode_mask(item["mask"])

    def run(items: list[dict]) -> None:
        rows = [decoded(item) for item in items]
        predictor.predict([r[0] for r in rows], [r[1] for r in rows], ["001"] * len(rows), [r[2] for r in rows],
                          batch_size=len(rows))

    run(inputs[:1])
    times = []
    for k in range(repeats):
        t = time.perf_counter()
        run([inputs[k % len(inputs)]])
        times.append((time.perf_counter() - t) * 1e3)
    t = time.perf_counter()
    rounds = 3
    for _ in range(rounds):
        run(inputs)
    batched = len(inputs) * rounds / (time.perf_counter() - t)
    return {"p50_ms": round(float(np.median(times)), 2), "batched_per_s": round(batched, 1)}


def autoscaling_timeline(url: str, files: list[dict], data: dict, seconds: float) -> list[dict]:
    """Replica counts of Editability (and Ingress) while a load above target runs, then after it stops."""
    from ray import serve

    timeline, stop = [], threading.Event()

    def sample(t0: float) -> None:
        while not stop.is_set():
            st = serve.status().applications["sppe"].deployments
            timeline.append({"t_s": round(time.perf_counter() - t0, 1),
                             "editability": sum(st["Editability"].replica_states.values()),
                             "ingress": sum(st["Ingress"].replica_states.values())})
            time.sleep(0.5)

    t0 = time.perf_counter()
    sampler = threading.Thread(target=sample, args=(t0,))
    sampler.start()
    load = asyncio.run(_load(url, "/v1/editability", files, data, 16, int(seconds * 40)))
    timeline.append({"t_s": round(time.perf_counter() - t0, 1), "event": "load stopped", **{"rps": load["rps"]}})
    time.sleep(seconds)
    stop.set()
    sampler.join()
    return timeline


def fixed_costs(url: str, n: int = 60) -> dict:
    """p50 of routes that do no model work: the proxy + ingress (/healthz), plus two handle calls (/v1/models)."""
    import httpx

    out = {}
    with httpx.Client(timeout=30) as client:
        for route, headers in (("/healthz", {}), ("/v1/models", AUTH)):
            client.get(f"{url}{route}", headers=headers)
            times = []
            for _ in range(n):
                t = time.perf_counter()
                client.get(f"{url}{route}", headers=headers).raise_for_status()
                times.append((time.perf_counter() - t) * 1e3)
            out[route] = round(float(np.median(times)), 2)
    return out


def gateway_breakdown(url: str) -> dict:
    import httpx

    from sppe_ray.imageio import encode_png

    out = {}
    for side in (256, 1024):
        png = encode_png(_photo(side))
        runs = []
        for _ in range(3):
            resp = httpx.post(f"{url}/v1/edit", files={"image": ("p.png", png, "image/png")},
                              data={"instruction": "019"}, headers=AUTH, timeout=300)
            resp.raise_for_status()
            runs.append(resp.json()["timings_ms"])
        out[f"{side}px"] = {k: round(float(np.median([r[k] for r in runs])), 1) for k in runs[0]}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=48, help="requests per endpoint and concurrency")
    ap.add_argument("--scale-seconds", type=float, default=20.0, help="seconds of load for the autoscaling run")
    args = ap.parse_args()
    from ray import serve

    from sppe_ray import tracking
    from sppe_ray.runtime import init_ray
    from sppe_ray.serve.run import EditorServer, deploy, free_port

    os.environ.setdefault("SPPE_HOME", tempfile.mkdtemp(prefix="sppe-serve-bench-"))
    if tracking.resolve_alias("sppe-erma") is None or tracking.resolve_alias("sppe-c2e-s2ser") is None:
        init_ray(2)
        from tests.e2e.serve_fixtures import fit_champions

        fit_champions(Path(os.environ["SPPE_HOME"]))
    init_ray(2)
    editor = EditorServer().start()
    overrides, port = [f"serve.editor_url={editor.url}"], free_port()
    url = deploy(None, overrides, TOKEN, host="127.0.0.1", port=port)  # the application's own autoscaling
    import httpx

    while httpx.get(f"{url}/readyz", timeout=10).status_code != 200:
        time.sleep(0.5)
    inputs = _inputs()
    reqs = _requests(inputs)
    local = in_process(inputs)
    fixed = fixed_costs(url)
    endpoints: dict[str, dict] = {}
    for name, (route, files, data) in reqs.items():
        asyncio.run(_load(url, route, files, data, 1, 2))  # warm
        for conc in (1, 4, 16):
            total = args.requests if name in ("/v1/editability", "/v1/recover") else max(8, args.requests // 3)
            endpoints.setdefault(name, {})[f"c{conc}"] = asyncio.run(_load(url, route, files, data, conc, total))
            print(name, conc, endpoints[name][f"c{conc}"], file=sys.stderr)
    breakdown = gateway_breakdown(url)
    deploy(None, overrides, TOKEN, host="127.0.0.1", port=port, autoscaling=SCALING)  # lightweight update
    timeline = autoscaling_timeline(url, *reqs["/v1/editability"][1:], args.scale_seconds)
    serve.shutdown()
    editor.stop()
    ed = endpoints["/v1/editability"]
    result = {
        "cpus": os.cpu_count(), "load_avg_start": os.getloadavg()[0],
        "overhead_ms_p50": round(ed["c1"]["p50_ms"] - local["p50_ms"], 2),
        "in_process": local, "fixed_route_p50_ms": fixed,
        "batching_ratio_c16": round(ed["c16"]["rps"] / local["batched_per_s"], 3),
        "endpoints": endpoints, "gateway_breakdown_ms": breakdown, "autoscaling": timeline,
        "errors_5xx": sum(v["errors_5xx"] for e in endpoints.values() for v in e.values()),
    }
    print(json.dumps(result, sort_keys=True))


if __name__ == "__main__":
    main()
