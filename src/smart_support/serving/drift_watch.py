"""Routed tickets → the drift monitor; a turn to `drifted` → one webhook message in the outbox.

Drift monitoring never fails a request: an error here is logged and routing goes on. An
alert whose message cannot be stored (the store is down) is offered again with the next
routed tickets.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from smart_support.clock import Clock
from smart_support.monitoring.drift import DriftMonitor, DriftObservation
from smart_support.monitoring.reference import load_reference
from smart_support.serving.alerts import drift_message
from smart_support.serving.outbox import Outbox
from smart_support.serving.records import NewTicket
from smart_support.serving.settings import DriftSettings, project_file

log = logging.getLogger(__name__)


def build_drift_monitor(settings: DriftSettings, clock: Clock) -> DriftMonitor:
    """The monitor with the configured reference (a relative path is looked for under the
    project root, then the working directory: a Bento's `src/`); without one (disabled, or not
    built yet) it reports `disabled`."""
    path = None
    if settings.enabled and settings.reference:
        path = project_file(settings.reference)
    return DriftMonitor(load_reference(path), settings, clock)


class DriftWatch:
    def __init__(self, monitor: DriftMonitor, outbox: Outbox) -> None:
        self.monitor = monitor
        self.outbox = outbox

    def __call__(self, tickets: Sequence[NewTicket], texts: Sequence[str]) -> None:
        if not self.monitor.enabled:
            return
        try:
            self.monitor.observe(
                [
                    DriftObservation(t.category, t.confidence, t.language, len(text), t.embedding)
                    for t, text in zip(tickets, texts, strict=True)
                ]
            )
            self._send_alert()
        except Exception:  # noqa: BLE001 - monitoring must never fail a routed request
            log.exception("drift monitoring failed; routing is unaffected")

    def _send_alert(self) -> None:
        alert = self.monitor.take_alert()
        if alert is None:
            return
        log.warning("drift: %s over threshold %s", alert.features, alert.scores)
        try:
            self.outbox.add([drift_message(alert)])
        except Exception as exc:  # noqa: BLE001 - the store is down: try again next time
            log.warning("drift alert not stored yet (%s); retrying with the next tickets", exc)
            self.monitor.restore_alert(alert)
