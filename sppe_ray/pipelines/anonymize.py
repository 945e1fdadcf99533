"""Dataset anonymization on Ray Data: list the images → (actor pool) both stages per image → manifest.

Why one record per image: each actor writes the image, its masks and its record itself and returns only the
record's summary, so the driver never holds pixels; a killed run keeps every finished image and a re-run
skips them; the order of completion does not matter because names are the input's relative paths.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

from sppe_ray.anonymize import manifest
from sppe_ray.config import SPPEConfig, sppe_home
from sppe_ray.errors import BenchmarkError, ConfigError

log = logging.getLogger(__name__)
RUN_RECORD = ".anonymize.json"


class AnonymizeWorker:
    """Ray Data actor: one ImageAnonymizer per worker (models load once), one image per row."""

    def __init__(self, cfg_json: str, method: str, src: str, out: str, stage1_from: str | None) -> None:
        from sppe_ray.anonymize.runner import ImageAnonymizer
        from sppe_ray.pipelines.build import _limit_threads

        _limit_threads()
        cfg = SPPEConfig.model_validate_json(cfg_json)
        self.src, self.out = Path(src), Path(out)
        self.worker = ImageAnonymizer(cfg.anonymize, method, stage1_from)

    def __call__(self, batch: dict) -> dict:
        results = []
        for rel in batch["rel"]:
            rec = self.worker.process(self.src, str(rel), self.out)
            results.append(json.dumps({"status": rec["status"], "seconds": rec["seconds"]}))
        return {"rel": batch["rel"], "result": np.array(results, dtype=object)}


def run_identity(cfg: SPPEConfig, method: str, src: Path, stage1_from: Path | None) -> dict[str, Any]:
    """What decides an output folder's contents: the input, the method, the settings that method and stage 1
    read, and (when reused) the stage 1 folder's own identity. Settings nothing reads (an editor model for a
    blur) do not count, so turning on one method does not orphan the others' folders."""
    a = cfg.anonymize
    ident: dict[str, Any] = {"src": str(src), "method": method, "seed": a.seed, "max_pixels": a.max_pixels,
                             "surrogate_attempts": a.surrogate_attempts}
    if method == "instruct_pix2pix":
        ident["editor_model"] = a.editor_model
    if stage1_from is not None:
        ident["stage1"] = stage1_identity(stage1_from, src)
    else:
        ident.update(detector=a.detector, work_side=a.work_side, captioner=a.captioner)
        if a.captioner == "vlm":
            ident.update(vlm_model=a.vlm_model, lm_model=a.lm_model, max_new_tokens=a.max_new_tokens)
    return ident


def fingerprint(identity: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:16]


def stage1_identity(folder: Path, src: Path) -> str:
    """The fingerprint of an output folder whose stage 1 is reused; ConfigError unless it anonymized ``src``."""
    record = Path(folder) / RUN_RECORD
    if not record.is_file():
        raise ConfigError(f"--stage1-from {folder} is not an anonymization output folder (no {RUN_RECORD})")
    theirs = json.loads(record.read_text())
    if theirs.get("identity", {}).get("src") != str(src):
        raise ConfigError(f"--stage1-from {folder} anonymized {theirs.get('identity', {}).get('src')}, not {src}")
    return theirs["fingerprint"]


def _claim(out: Path, identity: dict[str, Any]) -> None:
    """Refuse to resume into a folder written by another input, method or setting (mixed outputs)."""
    record = out / RUN_RECORD
    if record.is_file():
        theirs = json.loads(record.read_text())
        if theirs.get("fingerprint") != fingerprint(identity):
            differ = sorted(k for k in set(identity) | set(theirs.get("identity", {}))
                            if identity.get(k) != theirs.get("identity", {}).get(k))
            raise ConfigError(f"{out} holds the output of another input, method or setting (differs in: "
                              f"{', '.join(differ) or 'unknown'}); choose another output folder or delete it")
    out.mkdir(parents=True, exist_ok=True)
    record.write_text(json.dumps({"fingerprint": fingerprint(identity), "identity": identity}, sort_keys=True))


def anonymize_folder(cfg: SPPEConfig, src: str | Path, out: str | Path, *, method: str | None = None,
                     stage1_from: str | Path | None = None, actors: int | None = None,
                     progress: bool = True) -> dict[str, Any]:
    """Anonymize every image under ``src`` into ``out`` (resumable); returns the run's summary."""
    import ray

    from sppe_ray.anonymize.rewrite import ANONYMIZERS
    from sppe_ray.runtime import actor_cpus, init_ray

    started = time.perf_counter()
    src, out = Path(src).resolve(), Path(out).resolve()
    method = method or cfg.anonymize.method
    ANONYMIZERS.check(method, "anonymize.method")
    if not src.is_dir():
        raise BenchmarkError(f"input folder not found: {src}")
    if out == src or src in out.parents:
        raise ConfigError(f"the output folder {out} must not be inside the input folder {src}")
    rels = manifest.list_inputs(src)
    if not rels:
        raise BenchmarkError(f"no images found under {src} (suffixes: {', '.join(sorted(manifest.IMAGE_SUFFIXES))})")
    s1 = Path(stage1_from).resolve() if stage1_from else None
    _claim(out, run_identity(cfg, method, src, s1))
    # Finished images are kept; skipped ones are tried again (a file fixed or a transient error gone).
    todo = _heaviest_first([r for r in rels if (manifest.read_record(out, r) or {}).get("status") != "ok"], src, s1)
    log.info("anonymize %s -> %s with %s: %d images, %d already done", src, out, method, len(rels),
             len(rels) - len(todo))
    if todo:
        init_ray(cfg.ray.num_cpus)
        n_actors = actors or max(1, min(cfg.ray.actors, len(todo), int(ray.cluster_resources().get("CPU", 1))))
        ds = ray.data.from_items([{"rel": r} for r in todo], override_num_blocks=len(todo))
        ds = ds.map_batches(AnonymizeWorker, batch_size=1, compute=ray.data.ActorPoolStrategy(
                                size=n_actors, max_tasks_in_flight_per_actor=1),
                            fn_constructor_args=(cfg.model_dump_json(), method, str(src), str(out),
                                                 str(s1) if s1 else None),
                            num_cpus=actor_cpus(cfg.ray.actor_cpus))
        bar = _progress(len(todo), f"anonymize ({method})", progress)
        for row in ds.iter_rows():
            bar.update(1)
            bar.set_postfix(last=json.loads(row["result"])["status"])
        bar.close()
    summary = manifest.collect(out, rels, extra={"method": method, "input": str(src), "output": str(out),
                                                 "seconds": round(time.perf_counter() - started, 2),
                                                 "processed_now": len(todo)})
    return summary


def _heaviest_first(rels: list[str], src: Path, stage1_from: Path | None) -> list[str]:
    """Likely slowest images first (most stage 1 regions, else the largest files), so the last images to finish
    are short ones and no actor idles at the end; with one image in flight per actor, a free actor takes the
    next image (an image costs from 0.1 s to 30 s here, by its number of regions)."""
    def weight(rel: str) -> float:
        prior = manifest.read_record(stage1_from, rel) if stage1_from else None
        if prior and prior.get("status") == "ok":
            return len(prior["stage1"]["regions"])
        return (src / rel).stat().st_size / 1e6

    return sorted(rels, key=weight, reverse=True)


def _progress(total: int, desc: str, enabled: bool):  # noqa: ANN202 - tqdm bar
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="img", disable=not enabled)


def default_dataset(cfg: SPPEConfig) -> Path:
    """anon-mini under <home>/datasets/anon-mini-<size>, built when missing (seconds)."""
    from sppe_ray.datasets.anon_mini import build_anon_mini

    a = cfg.anonymize
    name = f"anon-mini-{a.dataset_size}" + (f"-seed{a.seed}" if a.seed else "")
    return build_anon_mini(sppe_home() / "datasets" / name, a.dataset_size, a.seed)


def benchmark_sources(benchmark: str | Path, dst: str | Path) -> Path:
    """Write a benchmark's distinct source images as a folder (class = the source group) to anonymize."""
    from sppe_ray.imageio import decode_image, save_image
    from sppe_ray.shards import read_benchmark

    table = read_benchmark(benchmark, columns=["source", "source_group"]).to_pydict()
    dst = Path(dst)
    seen: set[str] = set()
    for data, group in zip(table["source"], table["source_group"], strict=True):
        key = hashlib.sha1(data).hexdigest()[:16]
        if key not in seen:
            seen.add(key)
            target = dst / group.replace("/", "_") / f"{key}.png"
            if not target.is_file():
                save_image(target, decode_image(data))
    return dst
