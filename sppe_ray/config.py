"""Typed configuration: embedded defaults < YAML file < environment < CLI overrides.

Why layered: a user edits one YAML for a study, CI sets a few env vars, and a one-off run flips a key on the
command line; every layer is validated by the same pydantic models, so a typo fails loudly.
Environment keys are `SPPE__<SECTION>__<KEY>` (e.g. `SPPE__BUILD__N_SCENES=50`); CLI overrides are
`section.key=value` (value parsed as YAML, so `eval.methods=[ssim,psnr]` works).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sppe_ray.errors import ConfigError

ENV_PREFIX = "SPPE__"


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BuildConfig(Section):
    name: str = "sppe-mini"
    size: int = Field(256, ge=32, le=2048)
    n_scenes: int = Field(320, ge=1, description="private scenes; each yields 2 strategies x instructions samples")
    instructions_per_scene: int = Field(5, ge=1, le=65)
    strategies: list[str] = Field(default_factory=lambda: ["default", "blur", "pixelate", "fill", "inpaint"])
    splits: dict[str, float] = Field(default_factory=lambda: {"train": 0.7, "val": 0.1, "test": 0.2})
    shard_size: int = Field(64, ge=1)
    seed: int = 0
    images: str | None = None
    default_category: str = "a109_person_body"
    surrogate_attempts: int = 3


class EditorConfig(Section):
    name: str = "procedural"
    model: str | None = None
    url: str | None = None
    steps: int = 20
    guidance: float = 7.5
    image_guidance: float = 1.5
    timeout_s: float = 60.0
    retries: int = 3
    audit_log: str | None = None


class EmbedConfig(Section):
    image: str = "classic"
    text: str = "minilm"
    model: str | None = None


class EvalConfig(Section):
    benchmark: str | None = None
    split: str = "test"
    iqa_metrics: list[str] = Field(
        default_factory=lambda: ["ssim", "ms_ssim", "fsim", "vif", "gmsd", "vsi", "nlpd", "psnr", "cw_ssim",
                                 "piqe", "brisque", "niqe"]
    )
    slow_iqa_metrics: list[str] = Field(default_factory=lambda: ["mad"])
    include_slow: bool = False
    recovery_methods: list[str] = Field(default_factory=lambda: ["edited_surrogate", "paste_back", "local_transfer"])
    bootstrap: int = 1000
    batch_size: int = 16
    #: OCR detector resolution for text checks ("fast" or "full"; see privacy.detectors.weights.OCR_DETAIL).
    ocr_detail: Literal["fast", "full"] = "fast"
    output: str | None = None
    report_grid_rows: int = 6


class ERMAConfig(Section):
    image_encoder: str = "classic"
    text_encoder: str = "minilm"
    model: str | None = None
    hidden: list[int] = Field(default_factory=lambda: [512, 256, 64])
    dropout: float = 0.3
    use_relation: bool = True
    use_instruction: bool = True
    use_mask: bool = True
    use_detectors: bool = True
    face_detector: Literal["haar", "lbp"] = "haar"  # lbp: 3x cheaper face search, a bit less accurate (models.md)
    lr: float = 1e-3
    weight_decay: float = 1e-2
    steps: int = 1500
    warmup: int = 100
    batch_size: int = 64
    eval_every: int = 100
    num_workers: int = 1
    use_gpu: bool = False
    seed: int = 0
    image_size: int = 224


class RecoveryConfig(Section):
    backend: str = "c2e_net"
    model: str | None = None
    lora: str | None = None
    width: int = 32
    correction_band: int | None = 4  # px around the mask where c2e_net may correct the transfer; None: anywhere
    lr: float = 2e-3
    steps: int = 300  # c2e_net starts at the classical transfer: 300 steps beat it on val, fit <= 10 min on 2 cores
    batch_size: int = 16
    crop: int = 128
    lambda_cycle: float = 0.5
    lambda_tag: float = 0.1
    eval_every: int = 250
    num_workers: int = 1
    use_gpu: bool = False
    seed: int = 0
    lora_rank: int = 4


class RayConfig(Section):
    num_cpus: int | None = None
    actor_cpus: float = 0.5
    actors: int = 2


class TrackingConfig(Section):
    uri: str | None = None
    log_private_images: bool = False


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
        return SPPEConfig.model_validate(tree)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"invalid config at {where}: {first['msg']}") from exc


def _deep_merge(base: dict, extra: dict) -> None:
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _deep_merge(base[key], value)
        else:
            base[key] = value


def config_to_yaml(cfg: SPPEConfig) -> str:
    return yaml.safe_dump(cfg.model_dump(), sort_keys=True)
