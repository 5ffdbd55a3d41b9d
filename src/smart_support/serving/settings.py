"""Typed, frozen serving settings built from conf/serve (the rest of the code receives these).

conf/serve/default.yaml is the one source of defaults: a section or key left out is filled
from it, so `DedupSettings(threshold=0.6)` is the configured dedup with one change. Unknown keys
are errors. Environment variables override any value:
`SMART_SUPPORT_SERVE__<SECTION>__<KEY>` (e.g. `SMART_SUPPORT_SERVE__LIMITS__RATE_PER_S=5`).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import yaml
from pydantic import BaseModel, ConfigDict, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from smart_support.features.embeddings import BACKENDS
from smart_support.routing.dedup import GroupingRule
from smart_support.routing.skills import Agent

DEFAULTS_FILE = Path(__file__).resolve().parents[3] / "conf" / "serve" / "default.yaml"
ENV_PREFIX = "SMART_SUPPORT_SERVE__"


@functools.cache
def yaml_defaults() -> dict[str, Any]:
    """conf/serve/default.yaml as plain data (shipped in the Bento beside src/)."""
    if not DEFAULTS_FILE.exists():
        return {}
    data = yaml.safe_load(DEFAULTS_FILE.read_text()) or {}
    data.pop("_target_", None)
    return data


PROJECT_ROOT = Path(__file__).resolve().parents[3]  # the checkout, or the Bento's src/


def project_file(path: str) -> Path:
    """A configured file: as given when absolute, else under the project root, else under the
    working directory (a Bento's `src/`); the project root's path when neither has it."""
    given = Path(path)
    if given.is_absolute():
        return given
    found = [p for p in (PROJECT_ROOT / given, Path.cwd() / given) if p.exists()]
    return found[0] if found else PROJECT_ROOT / given


class Section(BaseModel):
    """A frozen settings section whose missing keys come from its part of the YAML."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    section: ClassVar[str] = ""

    @model_validator(mode="before")
    @classmethod
    def _fill_from_yaml(cls, data: Any) -> Any:
        if data is None:
            data = {}
        if not isinstance(data, Mapping):
            return data
        return {**yaml_defaults().get(cls.section, {}), **data}


class UrgencySettings(Section):
    section: ClassVar[str] = "urgency"
    alert_threshold: float
    levels: tuple[tuple[str, float], ...]  # highest cut-off first

    @field_validator("levels", mode="before")
    @classmethod
    def _ordered(cls, levels: Any) -> Any:
        if isinstance(levels, Mapping):
            levels = levels.items()
        return tuple(sorted(((str(k), float(v)) for k, v in levels), key=lambda x: -x[1]))

    def level(self, score: float) -> str:
        """The first level whose cut-off the score reaches (S >= cut-off)."""
        for name, cut_off in self.levels:
            if score >= cut_off:
                return name
        return self.levels[-1][0]

    def is_alert(self, score: float) -> bool:
        return score > self.alert_threshold


class WebhookSettings(Section):
    section: ClassVar[str] = "webhook"
    url: str | None
    timeout_s: float
    retries: int  # attempts after the first, then the outbox marks the message failed
    backoff_s: float  # doubled after each failed attempt, up to max_backoff_s
    max_backoff_s: float
    lease_s: float  # a sender's claim on a message; must outlast the HTTP timeout
    poll_interval_s: float

    @model_validator(mode="after")
    def _lease_outlasts_timeout(self) -> WebhookSettings:
        if self.lease_s <= 2 * self.timeout_s:
            raise ValueError(
                f"webhook.lease_s ({self.lease_s}) must exceed twice webhook.timeout_s "
                f"({self.timeout_s}): a message in flight must not be claimed again"
            )
        return self

    @property
    def batch(self) -> int:
        """Messages one sender claims at a time: all can time out within one lease."""
        return max(1, min(10, int(self.lease_s / (2 * self.timeout_s))))


class RetentionSettings(Section):
    section: ClassVar[str] = "retention"
    tickets_days: float  # resolved tickets (subjects, vectors) and their incidents
    jobs_days: float  # finished jobs (their payload is deleted when they finish)
    outbox_days: float  # sent or failed webhook messages
    idempotency_hours: float  # how long a retried request gets the first answer
    interval_s: float  # time between purges

    @model_validator(mode="after")
    def _positive(self) -> RetentionSettings:
        for name in ("tickets_days", "jobs_days", "outbox_days", "idempotency_hours", "interval_s"):
            if getattr(self, name) <= 0:
                raise ValueError(f"retention.{name} must be positive, got {getattr(self, name)}")
        return self


# The dedup rule served before the significant-burst rule (README "Significant bursts"): a
# ticket joins any ticket above 0.85, groups chain. Catches near copies only; needs no reference.
PAIRWISE_LINK: dict[str, Any] = {
    "rule": "link",
    "threshold": 0.85,
    "significance": None,
    "near_copy": None,
    "cohesion": None,
}


class DedupSettings(Section):
    section: ClassVar[str] = "dedup"
    threshold: float  # measured in docs/dedup_threshold.md
    window_s: float
    incident_after: int
    max_seq_length: int
    backend: str  # torch | onnx | onnx-int8 (features/embeddings.BACKENDS)
    finetuned: str | None  # the encoder stage's output dir; None: the packaged model
    rule: str  # a GroupingRule: dense | link | nearest | centroid | burst
    min_matches: int  # members a ticket must match under "dense" and "burst"
    reference: str | None  # burst: the dedup_reference stage's vectors (a topic's usual rate)
    significance: float | None  # burst: a burst is this unlikely in usual traffic (-log10)
    near_copy: float | None  # burst: outside a burst, tickets above this cosine still link
    cohesion: float | None  # burst: share of a burst's close tickets' pairs above threshold

    @model_validator(mode="after")
    def _known(self) -> DedupSettings:
        try:
            GroupingRule(self.rule)
        except ValueError:
            known = [r.value for r in GroupingRule]
            raise ValueError(f"unknown dedup rule {self.rule!r}; known: {known}") from None
        if self.min_matches < 1:
            raise ValueError(f"dedup.min_matches must be at least 1, got {self.min_matches}")
        if self.backend not in BACKENDS:
            raise ValueError(f"unknown dedup backend {self.backend!r}; known: {list(BACKENDS)}")
        if self.significance is not None and not self.reference:
            raise ValueError("dedup.significance needs dedup.reference (the usual rate's vectors)")
        if self.significance is not None and self.significance <= 0:
            raise ValueError(f"dedup.significance must be positive, got {self.significance}")
        if self.cohesion is not None and not 0 < self.cohesion <= 1:
            raise ValueError(f"dedup.cohesion must be a share in (0, 1], got {self.cohesion}")
        if self.near_copy is not None and not 0 < self.near_copy <= 1:
            raise ValueError(f"dedup.near_copy must be a cosine in (0, 1], got {self.near_copy}")
        return self


class BreakerSettings(Section):
    section: ClassVar[str] = "breaker"
    latency_threshold_ms: float  # one ticket's deadline; past it the fallback answers
    slow_calls_to_open: int
    cooldown_s: float
    batch_ticket_ms: float  # added to the deadline for each further ticket of a batch
    max_pending_calls: int  # champion calls that may be running (hung) at once

    @property
    def latency_threshold_s(self) -> float:
        return self.latency_threshold_ms / 1000.0


class StoreSettings(Section):
    section: ClassVar[str] = "store"
    path: str  # the SQLite file, used when `url` is not set
    url: str | None  # sqlite:///<file> or postgresql://user@host/db (overrides path)
    busy_timeout_s: float  # longest wait for a lock or a statement, then HTTP 503
    connect_timeout_s: float  # PostgreSQL: longest wait for a connection


class JobSettings(Section):
    section: ClassVar[str] = "jobs"
    lease_s: float
    poll_interval_s: float
    max_attempts: int


class RoutingSettings(Section):
    section: ClassVar[str] = "routing"
    min_affinity: float


class SecuritySettings(Section):
    section: ClassVar[str] = "security"
    api_keys_file: str | None  # `<sha256> <role>` lines, re-read on change (serving/access.py)
    allowed_hosts: tuple[str, ...]  # Host header names (any port); "*" allows every host
    cors_origins: tuple[str, ...]  # origins a browser may call from; none by default
    allow_open_network: bool  # serve a non-loopback address without API keys (never in prod)


class LimitSettings(Section):
    section: ClassVar[str] = "limits"
    rate_per_s: float  # per API key (per client address without keys): token refill rate
    burst: int  # token bucket size
    max_in_flight: int  # guarded requests being served at once; more → 429
    max_queued_jobs: int  # async jobs queued or running; more → 429
    queue_retry_after_s: float


class DriftSettings(Section):
    """Drift of traffic from the training reference (monitoring/drift.py, docs/api.md)."""

    section: ClassVar[str] = "drift"
    enabled: bool
    reference: str | None  # the drift_reference stage's JSON, relative to the project root
    window: int  # the last N routed tickets of this worker are compared with the reference
    min_tickets: int  # fewer in the window: "warming_up", nothing judged
    evaluate_every: int  # tickets between two evaluations (and points of the history)
    psi_threshold: float  # PSI above this: drifted (category, confidence, language, length)
    embedding_threshold: float  # centroid shift (in units of the reference spread) above this
    clear_ratio: float  # back to ok when every score is below clear_ratio x its threshold
    epsilon: float  # added to every share before the PSI (empty bins stay finite)
    history_points: int  # evaluations kept for GET /drift and the dashboard

    @model_validator(mode="after")
    def _sane(self) -> DriftSettings:
        if not 0 < self.min_tickets <= self.window:
            raise ValueError(
                f"drift.min_tickets ({self.min_tickets}) must be between 1 and drift.window "
                f"({self.window})"
            )
        if not 0 < self.clear_ratio <= 1:
            raise ValueError(f"drift.clear_ratio must be in (0, 1], got {self.clear_ratio}")
        if self.evaluate_every < 1 or self.history_points < 1 or self.epsilon <= 0:
            raise ValueError("drift.evaluate_every, history_points and epsilon must be positive")
        return self

    def threshold(self, feature: str) -> float:
        return self.embedding_threshold if feature == "embedding" else self.psi_threshold


class ServeSettings(BaseSettings):
    model_config = SettingsConfigDict(
        frozen=True,
        extra="forbid",
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
    )

    review_threshold: float
    max_body_chars: int
    max_subject_chars: int
    max_batch: int
    encoder_threads: int  # intra-op threads of each encoder run (0: all cores)
    encoder_parallel: int  # dedup encoder runs at a time (ONNX backends)
    blas_threads: int  # BLAS threads per service process (0: the library's default)
    urgency: UrgencySettings
    webhook: WebhookSettings
    dedup: DedupSettings
    breaker: BreakerSettings
    store: StoreSettings
    jobs: JobSettings
    routing: RoutingSettings
    retention: RetentionSettings
    security: SecuritySettings
    limits: LimitSettings
    drift: DriftSettings
    agents: tuple[Agent, ...]

    @model_validator(mode="before")
    @classmethod
    def _fill_from_yaml(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        merged = {**yaml_defaults(), **{k: v for k, v in data.items() if k != "_target_"}}
        return merged

    @field_validator("agents", mode="before")
    @classmethod
    def _agents(cls, agents: Any) -> Any:
        return tuple(
            {"name": a.get("id"), **a} if isinstance(a, Mapping) else a for a in agents or ()
        )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (env_settings, init_settings)  # the environment wins over conf/ (deploy time)

    @classmethod
    def from_config(cls, config: Any) -> ServeSettings:
        """Build from the `serve` node: a dict or an OmegaConf DictConfig (resolved here)."""
        return cls(**_plain(config))


def limit_threads(settings: ServeSettings) -> None:
    """BLAS, faiss and tokenizer thread pools of this process (every service), as conf/serve
    sets them.

    Tokenizers run one ticket at a time here: their thread pool only adds hand-offs (0.35 vs
    0.22 ms per ticket); the environment can still turn it back on.
    """
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if settings.blas_threads > 0:
        import faiss
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=settings.blas_threads, user_api="blas")
        faiss.omp_set_num_threads(settings.blas_threads)  # the dedup window's code search


def limit_encoder_threads(settings: ServeSettings) -> None:
    """torch's threads, where the models run (the M3 encoder); imports torch, so only there."""
    if settings.encoder_threads > 0:
        import torch

        torch.set_num_threads(settings.encoder_threads)


def serve_settings(**config: Any) -> ServeSettings:
    """The `_target_` of conf/serve: `hydra.utils.instantiate(cfg.serve)` lands here."""
    return ServeSettings.from_config(config)


def _plain(config: Any) -> dict[str, Any]:
    from omegaconf import DictConfig, ListConfig, OmegaConf

    if isinstance(config, DictConfig):
        config = OmegaConf.to_container(config, resolve=True)
    return {
        k: OmegaConf.to_container(v, resolve=True) if isinstance(v, DictConfig | ListConfig) else v
        for k, v in dict(config or {}).items()
    }
