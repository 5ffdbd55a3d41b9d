"""The two router models in the BentoML model store, loaded for serving."""

from __future__ import annotations

import logging
from typing import Any

import bentoml

from smart_support.features.embeddings import Embedder, dedup_encoder_model, shared_embedder
from smart_support.models.fast_linear import accelerate
from smart_support.models.pyfunc import unwrap
from smart_support.models.router_model import RouterModel
from smart_support.routing.breaker import CircuitBreaker
from smart_support.serving.database import Database, StoreUnavailable
from smart_support.serving.model_router import SAMPLE_TICKETS, ModelInfo, ModelRouter
from smart_support.serving.settings import ServeSettings, limit_encoder_threads, limit_threads
from smart_support.serving.statistics import Statistics
from smart_support.tracking.packaging import CHAMPION_TAG, FALLBACK_TAG

log = logging.getLogger(__name__)

CHAMPION = bentoml.models.BentoModel(f"{CHAMPION_TAG}:latest")
FALLBACK = bentoml.models.BentoModel(f"{FALLBACK_TAG}:latest")


class ModelLoadError(RuntimeError):
    """A model the service needs is missing or unreadable; the service must not start."""


def load_bento_router(ref: Any) -> tuple[RouterModel, ModelInfo]:
    tag = str(getattr(ref, "tag", ref))
    try:
        stored = bentoml.models.get(tag)
        router = accelerate(unwrap(bentoml.mlflow.load_model(stored)), SAMPLE_TICKETS)
    except Exception as exc:  # noqa: BLE001 - any failure here means: refuse to start
        raise ModelLoadError(
            f"cannot load model {tag!r} ({type(exc).__name__}: {exc}); run the pipeline's "
            "package stage (make repro) to import it from the MLflow registry"
        ) from exc
    meta = stored.info.metadata
    info = ModelInfo(
        milestone=str(meta.get("milestone", router.name)),
        version=str(meta.get("registry_version", "")),
        source=str(stored.tag),
        behaviour_floor_passed=str(meta.get("behaviour_floor_passed", "true")) != "false",
        labels=list(router.labels),
    )
    return router, info


def count_trip(statistics: Statistics) -> None:
    try:
        statistics.increment("breaker_trips")
    except StoreUnavailable as exc:  # the breaker trips all the same
        log.warning("breaker trip not counted: %s", exc)


def dedup_encoder(settings: ServeSettings) -> Embedder:
    """The dedup encoder the service runs; an ONNX backend is exported offline on first use
    into SMART_SUPPORT_CACHE (default ~/.cache/smart-support) and reused afterwards."""
    return shared_embedder(
        dedup_encoder_model(settings.dedup.finetuned),
        max_seq_length=settings.dedup.max_seq_length,
        backend=settings.dedup.backend,
        threads=settings.encoder_threads,
        parallel=settings.encoder_parallel,
    )


def build_model_router(
    settings: ServeSettings, champion_ref: Any, fallback_ref: Any
) -> ModelRouter:
    limit_threads(settings)
    limit_encoder_threads(settings)
    champion, champion_info = load_bento_router(champion_ref)
    fallback, fallback_info = load_bento_router(fallback_ref)
    statistics = Statistics(Database.from_settings(settings.store))
    breaker = CircuitBreaker(
        latency_threshold_s=settings.breaker.latency_threshold_s,
        slow_calls_to_open=settings.breaker.slow_calls_to_open,
        cooldown_s=settings.breaker.cooldown_s,
        on_trip=lambda: count_trip(statistics),
        batch_ticket_s=settings.breaker.batch_ticket_ms / 1000.0,
    )
    router = ModelRouter(
        champion,
        fallback,
        breaker,
        dedup_encoder(settings),
        info={"champion": champion_info, "fallback": fallback_info},
        max_pending_calls=settings.breaker.max_pending_calls,
    )
    router.warm_up()
    log.info("serving %s (champion) and %s (fallback)", champion_info.source, fallback_info.source)
    return router
