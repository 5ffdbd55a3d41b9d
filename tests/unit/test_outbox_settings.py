"""conf/serve's retention and outbox settings (issue 13, items 5 and 6)."""

from __future__ import annotations

import pytest

from smart_support.config import compose_config
from smart_support.serving.settings import RetentionSettings, ServeSettings, WebhookSettings


def test_conf_serve_sets_retention_and_the_outbox_lease() -> None:
    settings = ServeSettings.from_config(compose_config().serve)
    assert settings.retention.tickets_days == 90
    assert settings.retention.interval_s == 3600
    assert settings.webhook.lease_s > 2 * settings.webhook.timeout_s


def test_a_lease_shorter_than_two_timeouts_is_refused() -> None:
    with pytest.raises(ValueError, match="lease_s"):
        WebhookSettings(timeout_s=2.0, lease_s=3.0)


def test_a_sender_claims_no_more_than_can_time_out_within_its_lease() -> None:
    assert WebhookSettings(timeout_s=2.0, lease_s=30.0).batch == 7
    assert WebhookSettings(timeout_s=10.0, lease_s=21.0).batch == 1


@pytest.mark.parametrize("field", ["tickets_days", "jobs_days", "interval_s"])
def test_a_retention_that_is_not_positive_is_refused(field: str) -> None:
    with pytest.raises(ValueError, match=field):
        RetentionSettings(**{field: 0})
