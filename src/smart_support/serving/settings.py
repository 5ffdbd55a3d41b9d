"""Typed, frozen serving settings built from conf/serve (the rest of the code receives these)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from smart_support.features.embeddings import BACKENDS
from smart_support.routing.dedup import DEFAULT_MIN_MATCHES, DEFAULT_RULE, GroupingRule
from smart_support.routing.skills import Agent


@dataclass(frozen=True)
class UrgencySettings:
    alert_threshold: float = 0.8
    levels: tuple[tuple[str, float], ...] = (
        ("critical", 0.8),
        ("high", 0.6),
        ("medium", 0.35),
        ("low", 0.0),
    )  # highest cut-off first

    def level(self, score: float) -> str:
        """The first level whose cut-off the score reaches (S >= cut-off)."""
        for name, cut_off in self.levels:
            if score >= cut_off:
                return name
        return self.levels[-1][0]

    def is_alert(self, score: float) -> bool:
        return score > self.alert_threshold


@dataclass(frozen=True)
class WebhookSettings:
    url: str | None = None
    timeout_s: float = 2.0
    retries: int = 3
    backoff_s: float = 0.5


@dataclass(frozen=True)
class DedupSettings:
    threshold: float = 0.85  # measured in docs/dedup_threshold.md
    window_s: float = 300.0
    incident_after: int = 9  # an incident opens at the 10th ticket in the window
    max_seq_length: int = 32
    backend: str = "onnx-int8"  # torch | onnx | onnx-int8 (features/embeddings.BACKENDS)
    finetuned: str | None = "models/encoder"  # fine-tuned encoder dir; packaged while not built
    rule: str = DEFAULT_RULE.value  # a GroupingRule: dense | link | nearest | centroid
    min_matches: int = DEFAULT_MIN_MATCHES  # members a ticket must match under "dense"

    def __post_init__(self) -> None:
        try:
            GroupingRule(self.rule)
        except ValueError:
            known = [r.value for r in GroupingRule]
            raise ValueError(f"unknown dedup rule {self.rule!r}; known: {known}") from None
        if self.min_matches < 1:
            raise ValueError(f"dedup.min_matches must be at least 1, got {self.min_matches}")
        if self.backend not in BACKENDS:
            raise ValueError(f"unknown dedup backend {self.backend!r}; known: {list(BACKENDS)}")


@dataclass(frozen=True)
class BreakerSettings:
    latency_threshold_ms: float = 500.0
    slow_calls_to_open: int = 3
    cooldown_s: float = 30.0

    @property
    def latency_threshold_s(self) -> float:
        return self.latency_threshold_ms / 1000.0


@dataclass(frozen=True)
class StoreSettings:
    path: str = "state/smart_support.db"
    busy_timeout_s: float = 10.0


@dataclass(frozen=True)
class JobSettings:
    lease_s: float = 60.0
    poll_interval_s: float = 0.2
    max_attempts: int = 3


@dataclass(frozen=True)
class RoutingSettings:
    min_affinity: float = 0.0


@dataclass(frozen=True)
class ServeSettings:
    review_threshold: float = 0.5
    max_body_chars: int = 20000
    max_subject_chars: int = 1000
    max_batch: int = 100
    encoder_threads: int = 1  # intra-op threads of each encoder run (0: all cores)
    encoder_parallel: int = 2  # dedup encoder runs at a time (ONNX backends)
    blas_threads: int = 1  # BLAS threads per service process (0: the library's default)
    urgency: UrgencySettings = UrgencySettings()
    webhook: WebhookSettings = WebhookSettings()
    dedup: DedupSettings = DedupSettings()
    breaker: BreakerSettings = BreakerSettings()
    store: StoreSettings = StoreSettings()
    jobs: JobSettings = JobSettings()
    routing: RoutingSettings = RoutingSettings()
    agents: tuple[Agent, ...] = ()

    @classmethod
    def from_config(cls, config: Any) -> ServeSettings:
        """Build from the `serve` node: a dict or an OmegaConf DictConfig (resolved here)."""
        raw = _plain(config)
        unknown = set(raw) - {f.name for f in fields(cls)} - {"_target_"}
        if unknown:
            raise ValueError(f"unknown serve settings {sorted(unknown)}; check conf/serve")
        sections = {
            "urgency": _urgency(raw.get("urgency", {})),
            "webhook": _section(WebhookSettings, raw.get("webhook")),
            "dedup": _section(DedupSettings, raw.get("dedup")),
            "breaker": _section(BreakerSettings, raw.get("breaker")),
            "store": _section(StoreSettings, raw.get("store")),
            "jobs": _section(JobSettings, raw.get("jobs")),
            "routing": _section(RoutingSettings, raw.get("routing")),
            "agents": tuple(_agent(a) for a in raw.get("agents", [])),
        }
        scalars = {k: v for k, v in raw.items() if k not in sections and k != "_target_"}
        return cls(**scalars, **sections)


def limit_threads(settings: ServeSettings) -> None:
    """BLAS and tokenizer thread pools of this process (every service), as conf/serve sets them.

    Tokenizers run one ticket at a time here: their thread pool only adds hand-offs (0.35 vs
    0.22 ms per ticket); the environment can still turn it back on.
    """
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if settings.blas_threads > 0:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=settings.blas_threads, user_api="blas")


def limit_encoder_threads(settings: ServeSettings) -> None:
    """torch's threads, where the models run (the M3 encoder); imports torch, so only there."""
    if settings.encoder_threads > 0:
        import torch

        torch.set_num_threads(settings.encoder_threads)


def serve_settings(**config: Any) -> ServeSettings:
    """The `_target_` of conf/serve: `hydra.utils.instantiate(cfg.serve)` lands here."""
    return ServeSettings.from_config(config)


def _plain(config: Any) -> dict[str, Any]:
    from omegaconf import DictConfig, OmegaConf

    if isinstance(config, DictConfig):
        config = OmegaConf.to_container(config, resolve=True)
    return {k: _plain_value(v) for k, v in dict(config or {}).items()}


def _plain_value(value: Any) -> Any:
    from omegaconf import DictConfig, ListConfig, OmegaConf

    if isinstance(value, DictConfig | ListConfig):
        return OmegaConf.to_container(value, resolve=True)
    return value


def _section(kind: type, values: Mapping[str, Any] | None) -> Any:
    known = {f.name for f in fields(kind)}
    unknown = set(values or {}) - known
    if unknown:
        raise ValueError(f"unknown {kind.__name__} keys {sorted(unknown)}; known: {sorted(known)}")
    return kind(**(values or {}))


def _urgency(values: Mapping[str, Any]) -> UrgencySettings:
    levels = values.get("levels")
    if levels is None:
        return UrgencySettings(**{k: v for k, v in values.items() if k != "levels"})
    ordered = tuple(sorted(((str(k), float(v)) for k, v in levels.items()), key=lambda x: -x[1]))
    rest = {k: v for k, v in values.items() if k != "levels"}
    return UrgencySettings(levels=ordered, **rest)


def _agent(values: Mapping[str, Any]) -> Agent:
    return Agent(
        id=str(values["id"]),
        name=str(values.get("name", values["id"])),
        capacity=int(values["capacity"]),
        skills={str(k): float(v) for k, v in (values.get("skills") or {}).items()},
        languages={str(k): float(v) for k, v in (values.get("languages") or {}).items()},
    )
