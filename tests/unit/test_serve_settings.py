"""Serving settings: conf/serve builds typed settings, urgency levels, clear errors."""

from __future__ import annotations

from pathlib import Path

import hydra.utils
import pytest
from omegaconf import OmegaConf
from pydantic import ValidationError

from smart_support.config import compose_config
from smart_support.serving.settings import DedupSettings, ServeSettings

CONF = Path(__file__).resolve().parents[2] / "conf" / "serve" / "default.yaml"


@pytest.fixture(scope="module")
def settings() -> ServeSettings:
    return ServeSettings.from_config(OmegaConf.load(CONF))


def test_the_composed_serve_config_instantiates_to_settings() -> None:
    built = hydra.utils.instantiate(compose_config().serve)
    assert isinstance(built, ServeSettings)
    assert built == ServeSettings.from_config(compose_config().serve)


def test_defaults_match_the_service_contract(settings: ServeSettings) -> None:
    assert settings.review_threshold == 0.65  # chosen on the champion's validation coverage curve
    assert settings.max_batch == 100
    assert settings.urgency.alert_threshold == 0.8
    assert settings.dedup.window_s == 300
    assert settings.dedup.incident_after == 9  # the seed: 10 or more tickets in 5 minutes
    assert settings.breaker.latency_threshold_s == 0.5
    assert settings.webhook.url is None


def test_roster_covers_every_category_and_language(settings: ServeSettings) -> None:
    skills = {s for agent in settings.agents for s in agent.skills}
    languages = {lang for agent in settings.agents for lang in agent.languages}
    assert {"Billing", "Technical", "Legal", "Triage"} <= skills
    assert {"en", "de", "es", "fr", "pt"} <= languages
    assert all(3 <= agent.capacity <= 8 for agent in settings.agents)
    assert len({agent.id for agent in settings.agents}) == len(settings.agents)


@pytest.mark.parametrize(
    ("score", "level"),
    [
        (1.0, "critical"),
        (0.8, "critical"),
        (0.79, "high"),
        (0.6, "high"),
        (0.4, "medium"),
        (0.1, "low"),
    ],
)
def test_urgency_level_is_the_highest_cut_off_reached(
    settings: ServeSettings, score: float, level: str
) -> None:
    assert settings.urgency.level(score) == level


def test_alert_fires_only_above_the_threshold(settings: ServeSettings) -> None:
    assert settings.urgency.is_alert(0.81)
    assert not settings.urgency.is_alert(0.8)


def test_an_unknown_key_is_named_in_the_error() -> None:
    with pytest.raises(ValueError, match="threshhold"):
        ServeSettings.from_config({"dedup": {"threshhold": 0.5}})


def test_a_section_left_out_is_filled_from_the_yaml(settings: ServeSettings) -> None:
    assert settings.dedup == DedupSettings()  # the YAML is the one source of defaults
    partial = DedupSettings(threshold=0.6)
    assert partial.threshold == 0.6 and partial.window_s == settings.dedup.window_s
    assert ServeSettings.from_config({"max_batch": 7}).breaker == settings.breaker


def test_the_environment_overrides_the_config(monkeypatch, settings: ServeSettings) -> None:
    monkeypatch.setenv("SMART_SUPPORT_SERVE__LIMITS__RATE_PER_S", "5")
    monkeypatch.setenv("SMART_SUPPORT_SERVE__MAX_BATCH", "9")
    built = ServeSettings.from_config(OmegaConf.load(CONF))
    assert (built.limits.rate_per_s, built.max_batch) == (5.0, 9)
    assert built.limits.burst == settings.limits.burst  # the rest of the section stays


@pytest.mark.parametrize(
    ("dedup", "message"),
    [
        ({"rule": "single-link"}, "unknown dedup rule"),
        ({"min_matches": 0}, "min_matches"),
        ({"backend": "tensorrt"}, "unknown dedup backend 'tensorrt'"),
        ({"significance": 6, "reference": None}, "significance needs dedup.reference"),
        ({"significance": 0}, "significance must be positive"),
        ({"near_copy": 1.5}, "near_copy must be a cosine"),
        ({"cohesion": 0}, "cohesion must be a share"),
        ({"cohesion": 1.2}, "cohesion must be a share"),
    ],
)
def test_a_bad_dedup_rule_is_rejected(dedup: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ServeSettings.from_config({"dedup": dedup})


@pytest.mark.parametrize("section", ["urgency", "dedup", "breaker", "security", "limits", "store"])
def test_settings_are_frozen_at_every_depth(settings: ServeSettings, section: str) -> None:
    with pytest.raises(ValidationError, match="frozen"):
        settings.max_batch = 5  # type: ignore[misc]
    part = getattr(settings, section)
    name = next(iter(type(part).model_fields))
    with pytest.raises(ValidationError, match="frozen"):
        setattr(part, name, getattr(part, name))
    assert isinstance(settings.agents, tuple) and isinstance(settings.urgency.levels, tuple)
