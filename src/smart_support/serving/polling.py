"""The background loops of a service worker (jobs, outbox, retention): poll the store until
stopped, each pass in a worker thread so the event loop stays free."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from smart_support.serving.database import StoreUnavailable

log = logging.getLogger(__name__)


async def poll_forever(
    run_once: Callable[[], object], stop: threading.Event, interval_s: float, name: str
) -> None:
    """Call `run_once` until `stop` is set; sleep `interval_s` after a pass that found nothing
    to do (a falsy result) or failed. A lost store or any other error is logged, never fatal:
    what a pass had claimed is claimed again after its lease."""
    import anyio

    while not stop.is_set():
        try:
            busy = await anyio.to_thread.run_sync(run_once)
        except StoreUnavailable as exc:
            log.warning("%s: %s", name, exc)
            busy = False
        except Exception:  # noqa: BLE001 - e.g. database busy: retry on the next poll
            log.exception("%s: pass failed", name)
            busy = False
        if not busy:
            await anyio.sleep(interval_s)
