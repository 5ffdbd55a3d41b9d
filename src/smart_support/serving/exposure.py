"""Refuse to serve a network without API keys: a worker that listens on a non-loopback address
with no keys configured stops at start-up unless `security.allow_open_network` says otherwise."""

from __future__ import annotations

import logging
import os

import psutil

from smart_support.serving.access import KeyRing
from smart_support.serving.edge import is_loopback
from smart_support.serving.settings import ServeSettings

log = logging.getLogger(__name__)


class OpenNetworkError(RuntimeError):
    """Serving beyond loopback without API keys."""


def listening_addresses(pid: int | None = None) -> list[str]:
    """The addresses this process listens on (BentoML hands its workers the bound socket)."""
    try:
        connections = psutil.Process(pid or os.getpid()).net_connections(kind="inet")
    except (psutil.Error, OSError):
        return []
    return [c.laddr.ip for c in connections if c.status == psutil.CONN_LISTEN and c.laddr]


def refuse_open_network(settings: ServeSettings, addresses: list[str] | None = None) -> None:
    """At start-up: without API keys, warn loudly on loopback and refuse any other address."""
    if KeyRing.from_env(settings.security.api_keys_file).configured:
        return
    addresses = listening_addresses() if addresses is None else addresses
    exposed = [a for a in addresses if not is_loopback(a)]
    if not exposed or settings.security.allow_open_network:
        log.warning(
            "\n%s\nNO API KEYS CONFIGURED: every endpoint is open to anyone who can reach %s. "
            "Set SMART_SUPPORT_API_KEYS or SMART_SUPPORT_API_KEYS_FILE (docs/api.md) before "
            "serving anything but loopback.\n%s",
            "!" * 78,
            ", ".join(sorted(set(addresses))) or "this service",
            "!" * 78,
        )
        return
    raise OpenNetworkError(
        f"refusing to serve {', '.join(sorted(set(exposed)))} without API keys: set "
        "SMART_SUPPORT_API_KEYS or SMART_SUPPORT_API_KEYS_FILE (docs/api.md), bind to "
        "127.0.0.1, or set serve.security.allow_open_network=true "
        "(SMART_SUPPORT_SERVE__SECURITY__ALLOW_OPEN_NETWORK=true) to accept the risk"
    )
