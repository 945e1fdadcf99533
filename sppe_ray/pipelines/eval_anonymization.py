"""Evaluate dataset anonymization: run every method on one data set, measure the four metric groups per
image on Ray Data, aggregate with bootstrap intervals, write a report and an MLflow run.

Stage 1 runs once (with the first method that uses it); every other method reuses its flags, captions and
regions (``stage1_from``), so methods differ only in stage 2. The originals are scored as a method of their
own ("original": the anonymized image is the original), the reference row of every table.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

from sppe_ray.anonymize import manifest
from sppe_ray.config import SPPEConfig, sppe_home
from sppe_ray.errors import SPPEError
from sppe_ray.metrics.privacy import mean_ci

log = logging.getLogger(__name__)
EXPERIMENT = "sppe-anonymization"
ORIGINAL = "original"
#: per-image numeric metrics averaged per method (orientation and group: docs/anonymization.md)
MEAN_METRICS = ("ssim", "gmsd", "embed_sim", "clip_score", "directional", "phash_bits", "region_phash_bits",
                "outside_change", "face_sim", "text_sim", "rubric_score")


def evaluation_mask(data: Path, stage1: Path, rel: str, shape: tuple[int, int]) -> np.ndarray | None:
    """The private pixels an image is judged on: the data set's ground truth (``.truth/<rel stem>.mask.png``,
    as anon-mini has) when there is one, else the union of stage 1's regions, else None (nothing private)."""
    from sppe_ray.imageio import decode_mask

    if (data / ".truth").is_dir():  # a labelled data set: no truth file means nothing private in the image
        truth = data / ".truth" / f"{Path(rel).with_suffix('').as_posix()}.mask.png"
        return decode_mask(truth.read_bytes(), shape) if truth.is_file() else None
    regions = manifest.load_regions(stage1, rel)
    return np.any([r.mask for r in regions], axis=0) if regions else None


class OriginalWorker:
    """Ray Data actor: faces and private text of each original image (read once, reused by every method)."""

    def __init__(self, data: str, stage1: str, max_pixels: int) -> None:
        from sppe_ray.pipelines.build import _limit_threads

        _limit_threads()
        self.data, self.stage1, self.max_pixels = Path(data), Path(stage1), max_pixels

    def __call__(self, batch: dict) -> dict:
        from sppe_ray.imageio import load_image
        from sppe_ray.metrics.anonymization.analysis import look

        out = []
        for rel in batch["rel"]:
            image = load_image(self.data / str(rel), max_pixels=self.max_pixels)
            mask = evaluation_mask(self.data, self.stage1, str(rel), image.shape[:2])
            out.append(json.dumps(look(image, mask).to_dict()))
        return {"rel": batch["rel"], "seen": np.array(out, dtype=object)}


class PairWorker:
    """Ray Data actor: every per-image metric of one (method, image) row."""

    def __init__(self, data: str, folders: dict[str, str], stage1: str, copy_bits: int, max_pixels: int) -> None:
        from sppe_ray.pipelines.build import _limit_threads

        _limit_threads()
        self.data, self.folders, self.stage1 = Path(data), folders, Path(stage1)
        self.copy_bits, self.max_pixels = copy_bits, max_pixels

    def __call__(self, batch: dict) -> dict:
        from sppe_ray.imageio import load_image
        from sppe_ray.metrics.anonymization.analysis import Seen, pair_metrics

        rows = []
        for method, rel, seen in zip(batch["method"], batch["rel"], batch["seen"], strict=True):
            original = load_image(self.data / str(rel), max_pixels=self.max_pixels)
            anonymized = original if method == ORIGINAL else load_image(
                manifest.output_path(Path(self.folders[str(method)]), str(rel)), max_pixels=self.max_pixels)
            mask = evaluation_mask(self.data, self.stage1, str(rel), original.shape[:2])
            m = pair_metrics(original, anonymized, Seen.from_dict(json.loads(seen)), mask, self.copy_bits)
            rows.append(json.dumps({"method": str(method), "file": str(rel), **m}))
        return {"row": np.array(rows, dtype=object)}


def _map(items: list[dict], worker: type, args: tuple, cfg: SPPEConfig, desc: str, progress: bool) -> list[dict]:
    import ray
    from tqdm.auto import tqdm

    from sppe_ray.runtime import actor_cpus

    n = max(1, min(cfg.ray.actors, len(items), int(ray.cluster_resources().get("CPU", 1))))
    ds = ray.data.from_items(items, override_num_blocks=len(items))  # one row per block: a free actor takes it
    pool = ray.data.ActorPoolStrategy(size=n, max_tasks_in_flight_per_actor=1)
    ds = ds.map_batches(worker, batch_size=1, compute=pool, fn_constructor_args=args,
                        num_cpus=actor_cpus(cfg.ray.actor_cpus))
    out = []
    with tqdm(total=len(items), desc=desc, unit="img", disable=not progress) as bar:
        for row in ds.iter_rows():
            out.append(row)
            bar.update(1)
    return out


def run_methods(cfg: SPPEConfig, data: Path, root: Path, methods: list[str], progress: bool
                ) -> tuple[dict[str, Path], dict[str, str], Path]:
    """Anonymize ``data`` with every method; returns (folders, skipped methods with reasons, stage 1 folder)."""
    from sppe_ray.anonymize.rewrite import unavailable
    from sppe_ray.pipelines.anonymize import anonymize_folder, fingerprint, run_identity

    folders: dict[str, Path] = {}
    skipped: dict[str, str] = {}
    stage1: Path | None = None
    for method in sorted(methods, key=lambda m: m != "surrogate"):  # the default method runs stage 1
        reason = unavailable(method, cfg.anonymize)
        if reason:
            skipped[method] = reason
            log.warning("method %s skipped: %s", method, reason)
            continue
        # One folder per method and settings: a re-run with the same settings resumes, other settings get theirs.
        folder = root / f"{method}-{fingerprint(run_identity(cfg, method, data, stage1))[:8]}"
        anonymize_folder(cfg, data, folder, method=method, stage1_from=stage1, progress=progress)
        folders[method] = folder
        stage1 = stage1 or folder
    if stage1 is None:
        raise SPPEError(f"no anonymization method could run: {skipped}")
    return folders, skipped, stage1


def _ratio_ci(num: np.ndarray, den: np.ndarray, n_boot: int, seed: int = 0) -> dict[str, Any]:
    """sum(num) / sum(den) with a bootstrap over images (faces or tokens re-identified per image)."""
    num, den = np.asarray(num, float), np.asarray(den, float)
    keep = den > 0  # images with nothing to re-identify carry no information about the rate
    num, den = num[keep], den[keep]
    if den.sum() == 0:
        return {"mean": float("nan"), "ci": (float("nan"), float("nan")), "n": 0}
    idx = np.random.default_rng(seed).integers(0, len(den), size=(n_boot, len(den)))
    boot = num[idx].sum(1) / np.maximum(den[idx].sum(1), 1e-12)
    lo, hi = np.quantile(boot, [0.025, 0.975])
    return {"mean": float(num.sum() / den.sum()), "ci": (float(lo), float(hi)), "n": int(den.sum())}


def _entropy_ci(tones: list[list[str | None]], n_boot: int, seed: int = 0) -> dict[str, Any]:
    """Normalised entropy of the skin-tone classes of all faces, with a basic bootstrap interval over the images
    that have a classified face (the plug-in entropy is biased low in small samples; the basic interval
    2 x estimate - quantiles corrects its centre). NaN without any classified face."""
    from sppe_ray.metrics.anonymization.privacy import ITA_CLASSES, normalised_entropy

    per_image = [[t for t in ts if t in ITA_CLASSES] for ts in tones]
    per_image = [ts for ts in per_image if ts]
    if not per_image:
        return {"mean": float("nan"), "ci": (float("nan"), float("nan")), "n": 0}
    est = normalised_entropy([t for ts in per_image for t in ts])
    idx = np.random.default_rng(seed).integers(0, len(per_image), size=(n_boot, len(per_image)))
    boot = [normalised_entropy([t for i in row for t in per_image[i]]) for row in idx]
    lo, hi = np.quantile(boot, [0.025, 0.975])
    return {"mean": est, "ci": (float(np.clip(2 * est - hi, 0, 1)), float(np.clip(2 * est - lo, 0, 1))),
            "n": sum(len(ts) for ts in per_image)}


def aggregate(per: Any, cfg: SPPEConfig) -> dict[str, dict[str, Any]]:
    """Per method: every metric's mean (or rate) with a 95% bootstrap interval over images."""
    a = cfg.anonymize
    out: dict[str, dict[str, Any]] = {}
    for method, part in per.groupby("method", sort=False):
        row: dict[str, Any] = {}
        for key in MEAN_METRICS:
            row[key] = mean_ci(part[key].astype(float).to_numpy(), n_boot=a.n_boot)
        flagged = part[part["flagged"]]
        copies = flagged["near_copy"].dropna().astype(float).to_numpy()
        row["near_copy_rate"] = mean_ci(copies, n_boot=a.n_boot)
        outside = part["outside_change"].dropna()  # NaN: the regions cover the whole image
        row["overreach_rate"] = mean_ci((outside > a.overreach_share).astype(float).to_numpy(), n_boot=a.n_boot)
        row["identity_reid_rate"] = _ratio_ci(part["faces_reidentified"], part["faces_orig"], a.n_boot)
        row["text_reid_rate"] = _ratio_ci(part["text_tokens_reidentified"], part["text_tokens"], a.n_boot)
        row["skin_tone_entropy"] = _entropy_ci(list(part["skin_tones"]), a.n_boot)
        row["faces_orig"] = int(part["faces_orig"].sum())
        row["faces_without_counterpart"] = int(part["faces_without_counterpart"].sum())
        row["no_face_images"] = int((part["faces_orig"] == 0).sum())
        row["no_text_images"] = int(part["text_sim"].isna().sum())
        out[str(method)] = row
    return out


def _labels(data: Path, rels: list[str], seed: int) -> dict[str, dict[str, Any]]:
    """class, split and (when known) ground-truth privacy per image: labels.csv, else the parent folder and a
    seeded 70/30 split by file name."""
    from sppe_ray.anonymize.runner import image_seed
    from sppe_ray.datasets.anon_mini import TEST_SHARE, read_labels

    known = {r["file"]: r for r in read_labels(data)}
    out = {}
    for rel in rels:
        if rel in known:
            out[rel] = known[rel]
        else:
            split = "test" if image_seed(seed, rel) % 1000 < TEST_SHARE * 1000 else "train"
            out[rel] = {"file": rel, "class": manifest.image_class(rel), "split": split}
    return out


def utility(cfg: SPPEConfig, labels: dict[str, dict], flagged: dict[str, bool],
            embed_of: dict[str, dict[str, np.ndarray]]) -> dict[str, dict[str, Any]]:
    """Downstream accuracy per method: trained on the method's data set (ImageMAEDataset rule), tested on the
    held-out originals; ``relative`` is the accuracy over the one of training on the originals."""
    from sppe_ray.metrics.anonymization.utility import downstream_accuracy, training_view

    train = [r for r in embed_of[ORIGINAL] if labels[r]["split"] == "train"]
    test = [r for r in embed_of[ORIGINAL] if labels[r]["split"] == "test"]
    if len({labels[r]["class"] for r in train}) < 2 or not test:
        return {m: {"skipped": "needs two classes in train and a test image"} for m in embed_of}
    test_x = np.stack([embed_of[ORIGINAL][r] for r in test])
    test_y = [labels[r]["class"] for r in test]
    orig_x = np.stack([embed_of[ORIGINAL][r] for r in train])
    out = {}
    for method, emb in embed_of.items():
        x = training_view([flagged.get(r, False) for r in train], orig_x, np.stack([emb[r] for r in train]))
        acc, correct = downstream_accuracy(x, [labels[r]["class"] for r in train], test_x, test_y, cfg.anonymize.seed)
        out[method] = {"accuracy": {**mean_ci(correct.astype(float), n_boot=cfg.anonymize.n_boot), "mean": acc}}
    base = out[ORIGINAL]["accuracy"]["mean"]
    for row in out.values():
        row["relative"] = row["accuracy"]["mean"] / base if base else float("nan")
    return out


def stage1_scores(cfg: SPPEConfig, stage1: Path, labels: dict[str, dict], rels: list[str]) -> dict[str, Any]:
    """Flag accuracy against ground truth (when the data set has it) and public-to-private caption similarity."""
    from sppe_ray.embed import create_text_embedder
    from sppe_ray.metrics.anonymization.utility import caption_similarity, flag_scores

    records = [manifest.read_record(stage1, r) for r in rels]
    records = [r for r in records if r and r["status"] == "ok"]
    out: dict[str, Any] = {"coverage": records[0]["stage1"]["coverage"] if records else ""}
    truth = [(labels[r["file"]]["private"], r["columns"]["PRIVACY_FLAG"] == "TRUE") for r in records
             if "private" in labels[r["file"]]]
    if truth:
        out["flags"] = flag_scores([t for t, _ in truth], [p for _, p in truth])
    flagged = [r["columns"] for r in records if r["columns"]["PRIVACY_FLAG"] == "TRUE"]
    if flagged:
        text = create_text_embedder(cfg.erma.text_encoder)
        sims = caption_similarity(text.embed_text([c["PRIVATE_CAPTION"] for c in flagged]),
                                  text.embed_text([c["PUBLIC_CAPTION"] for c in flagged]))
        out["caption_similarity"] = {**mean_ci(sims, n_boot=cfg.anonymize.n_boot), "embedder": cfg.erma.text_encoder}
    return out


def _embeddings(cfg: SPPEConfig, data: Path, folders: dict[str, Path], rels: list[str]
                ) -> dict[str, dict[str, np.ndarray]]:
    """Image embeddings (``embed.image``) of the originals and of every method's outputs."""
    from tqdm.auto import tqdm

    from sppe_ray.imageio import load_image
    from sppe_ray.models.erma.predictor import make_image_embedder

    embedder = make_image_embedder(cfg.embed.image, cfg.embed.model)
    sources = {ORIGINAL: lambda r: data / r, **{m: (lambda r, f=f: manifest.output_path(f, r))
                                                 for m, f in folders.items()}}
    out = {}
    for method, path_of in tqdm(sources.items(), desc="embed", unit="method"):
        out[method] = {}
        for i in range(0, len(rels), 32):  # in chunks: the driver holds no more than 32 images at a time
            chunk = rels[i:i + 32]
            images = [load_image(path_of(r), max_pixels=cfg.anonymize.max_pixels) for r in chunk]
            out[method].update(zip(chunk, embedder.embed(images), strict=True))
    return out


def _clip_quality(cfg: SPPEConfig, per: Any, embed_of: dict, stage1: Path) -> None:
    """With a CLIP image embedder: image-caption score and directional similarity per row (else NaN)."""
    from sppe_ray.metrics.anonymization.quality import cosine, directional_similarity

    per["clip_score"] = per["directional"] = float("nan")
    if cfg.embed.image != "clip":
        return
    from sppe_ray.embed.clip import CLIPTextEmbedder

    text = CLIPTextEmbedder(cfg.embed.model)
    for i, row in per.iterrows():
        cols = manifest.read_record(stage1, row["file"])["columns"]
        priv, pub = text.embed_text([cols["PRIVATE_CAPTION"], cols["PUBLIC_CAPTION"]])
        img_o, img_a = embed_of[ORIGINAL][row["file"]], embed_of[row["method"]][row["file"]]
        per.at[i, "clip_score"] = cosine(img_a, pub)
        per.at[i, "directional"] = directional_similarity(img_o, img_a, priv, pub)


def _usable_images(data: Path, folders: dict[str, Path]) -> list[str]:
    """Images every evaluated method anonymized (a method may skip an image stage 1 kept)."""
    rels = [r for r in manifest.list_inputs(data)
            if all((manifest.read_record(f, r) or {}).get("status") == "ok" for f in folders.values())]
    if not rels:
        raise SPPEError(f"no image of {data} was anonymized by every method; see the records.jsonl of "
                        f"{', '.join(str(f) for f in folders.values())}")
    return rels


def _measure(cfg: SPPEConfig, data: Path, folders: dict[str, Path], stage1: Path, rels: list[str],
             progress: bool) -> Any:
    """Per-image metrics of every method (and of the originals) as a DataFrame in a fixed order (original
    first, then the methods as configured, files sorted), so bootstraps do not depend on completion order."""
    import pandas as pd

    a = cfg.anonymize
    seen = {r["rel"]: r["seen"] for r in _map([{"rel": r} for r in rels], OriginalWorker,
                                              (str(data), str(stage1), a.max_pixels), cfg, "originals", progress)}
    items = [{"method": m, "rel": r, "seen": seen[r]} for m in (ORIGINAL, *folders) for r in rels]
    rows = _map(items, PairWorker, (str(data), {m: str(f) for m, f in folders.items()}, str(stage1),
                                    a.phash_copy_bits, a.max_pixels), cfg, "metrics", progress)
    per = pd.DataFrame([json.loads(r["row"]) for r in rows])
    order = {m: k for k, m in enumerate((ORIGINAL, *folders))}
    per = per.sort_values(["method", "file"], key=lambda c: c.map(order) if c.name == "method" else c)
    return per.reset_index(drop=True)


def run_anonymization_eval(cfg: SPPEConfig, data: str | Path | None = None, out: str | Path | None = None,
                           progress: bool = True) -> dict[str, Any]:
    """The whole evaluation; returns the summary (also written to <out>/summary.json)."""
    from sppe_ray.pipelines.anonymize import default_dataset
    from sppe_ray.report.anonymization import write_report
    from sppe_ray.runtime import init_ray

    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    data = Path(data).resolve() if data else default_dataset(cfg)
    out = Path(out) if out else sppe_home() / "anonymization" / "eval" / f"{data.name}-{time.strftime('%Y%m%d-%H%M%S')}"
    out.mkdir(parents=True, exist_ok=True)
    init_ray(cfg.ray.num_cpus)
    folders, skipped, stage1 = run_methods(cfg, data, sppe_home() / "anonymization" / data.name,
                                           list(dict.fromkeys(cfg.anonymize.methods)), progress)
    timings["anonymize"] = round(time.perf_counter() - t0, 2)
    t = time.perf_counter()
    rels = _usable_images(data, folders)
    per = _measure(cfg, data, folders, stage1, rels, progress)
    timings["metrics"] = round(time.perf_counter() - t, 2)
    t = time.perf_counter()
    flagged = {r: manifest.read_record(stage1, r)["columns"]["PRIVACY_FLAG"] == "TRUE" for r in rels}
    per["flagged"] = per["file"].map(flagged)
    embed_of = _embeddings(cfg, data, folders, rels)
    per["embed_sim"] = [float(np.dot(embed_of[ORIGINAL][f], embed_of[m][f]))
                        for m, f in zip(per["method"], per["file"], strict=True)]
    _clip_quality(cfg, per, embed_of, stage1)
    labels = _labels(data, rels, cfg.anonymize.seed)
    methods = aggregate(per, cfg)
    for method, row in utility(cfg, labels, flagged, embed_of).items():
        methods[method]["utility"] = row
    summary = {"dataset": str(data), "images": len(rels), "methods": methods, "skipped_methods": skipped,
               "stage1": stage1_scores(cfg, stage1, labels, rels), "output": str(out),
               "folders": {m: str(f) for m, f in folders.items()}}
    timings["aggregate"] = round(time.perf_counter() - t, 2)
    per.to_csv(out / "per_image.csv", index=False)
    t = time.perf_counter()
    write_report(out, summary, per, data, folders, cfg.anonymize.max_pixels)
    timings["report"] = round(time.perf_counter() - t, 2)
    timings["total"] = round(time.perf_counter() - t0, 2)
    summary["timings_s"] = timings
    (out / "summary.json").write_text(json.dumps(summary, indent=2, sort_keys=True, default=_jsonable))
    summary["mlflow_run_id"] = _track(cfg, summary, out)
    (out / "summary.json").write_text(json.dumps(summary, indent=2, sort_keys=True, default=_jsonable))
    return summary


def _jsonable(v: Any) -> Any:
    if isinstance(v, (np.floating, np.integer, np.bool_)):
        return v.item()
    if isinstance(v, Path):
        return str(v)
    raise TypeError(f"cannot write {type(v).__name__} to summary.json")


def flat_metrics(summary: dict[str, Any]) -> dict[str, float]:
    """``<method>.<metric>`` (and ``_lo``/``_hi`` bounds) for MLflow."""
    out = {}
    for method, row in summary["methods"].items():
        for key, value in row.items():
            cell = value.get("accuracy", value) if key == "utility" and isinstance(value, dict) else value
            if isinstance(cell, dict) and "mean" in cell:
                out[f"{method}.{key}"] = cell["mean"]
                out[f"{method}.{key}_lo"], out[f"{method}.{key}_hi"] = cell["ci"]
            elif isinstance(cell, (int, float)):
                out[f"{method}.{key}"] = cell
    return {k: float(v) for k, v in out.items() if v is not None and np.isfinite(v)}


def _track(cfg: SPPEConfig, summary: dict[str, Any], out: Path) -> str:
    """One MLflow run: parameters, every metric with its bounds, the summary and the scatter; the per-image
    table and the HTML report (original images in its grid) only with tracking.log_private_images."""
    import mlflow

    from sppe_ray import tracking

    tracking.configure()
    with tracking.start_run(EXPERIMENT, f"anonymization-{Path(summary['dataset']).name}", config=cfg,
                            params={"dataset": summary["dataset"], "images": summary["images"]}) as run:
        tracking.log_metrics(flat_metrics(summary))
        if (out / "privacy_utility.png").is_file():
            mlflow.log_artifact(str(out / "privacy_utility.png"))
        mlflow.log_dict(json.loads(json.dumps(summary, default=_jsonable)), "summary.json")
        if cfg.tracking.log_private_images:  # file names, skin-tone classes per face, the original images
            mlflow.log_artifact(str(out / "per_image.csv"))
            mlflow.log_artifact(str(out / "report.html"))
        return run.info.run_id
