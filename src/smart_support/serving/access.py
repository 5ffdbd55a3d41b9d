"""API keys and roles: who may call which endpoint.

Keys are never stored, only their SHA-256 (hex). They come from the environment
(`SMART_SUPPORT_API_KEYS="<sha256>:<role>,…"`) and/or a keys file (one `<sha256> <role> [name]`
per line, `#` comments), re-read whenever the file changes: a key is rotated by adding the new
hash, moving the clients over and deleting the old line, with no restart.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

log = logging.getLogger(__name__)

ENV_KEYS = "SMART_SUPPORT_API_KEYS"
ENV_KEYS_FILE = "SMART_SUPPORT_API_KEYS_FILE"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class Role(StrEnum):
    ROUTER = "router"
    AGENT = "agent"
    ADMIN = "admin"
    METRICS = "metrics"  # a Prometheus scraper: GET /metrics only

    def allows(self, needed: Role) -> bool:
        return self is Role.ADMIN or self is needed


# Paths anyone may read: probes, the static dashboard shell (it asks for a key) and the schema.
OPEN_PATHS = frozenset({"/health", "/readyz", "/livez", "/docs.json", "/docs", "/ui"})
OPEN_PREFIXES = ("/ui/",)
_ROUTER_POSTS = frozenset({"/route", "/route/batch", "/route/async"})
_AGENT_READS = frozenset({"/triage", "/agents", "/incidents", "/stats", "/drift"})


def required_role(method: str, path: str) -> Role | None:
    """The role an endpoint needs; None for the open ones. Unknown paths need admin."""
    if path in OPEN_PATHS or path.startswith(OPEN_PREFIXES):
        return None
    if method == "POST" and path in _ROUTER_POSTS:
        return Role.ROUTER
    if method == "GET" and path.startswith("/route/async/"):
        return Role.ROUTER  # and only the key that submitted the job (or an admin)
    if method == "GET" and path == "/metrics":
        return Role.METRICS  # BentoML's and this service's metrics (no ticket content)
    if method == "GET" and (path in _AGENT_READS or path.startswith("/incidents/")):
        return Role.AGENT
    if method == "GET" and path.startswith("/tickets/") and path.endswith("/feedback"):
        return Role.AGENT  # a ticket's corrections
    if method == "POST" and path.startswith("/incidents/") and path.endswith("/resolve"):
        return Role.AGENT
    if method in {"POST", "PUT", "PATCH"} and path.startswith("/tickets/"):
        return Role.AGENT  # resolve, feedback
    return Role.ADMIN  # fault injection, anything not named above


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Caller:
    """Who is calling: `key_id` is a short prefix of the key's hash (logs, job ownership)."""

    key_id: str
    role: Role


ANONYMOUS = Caller("anonymous", Role.ADMIN)  # no keys configured: loopback development only


def parse_keys(text: str, source: str) -> dict[str, Role]:
    """`<sha256> <role>` pairs separated by newlines or commas (`:` may join hash and role)."""
    keys: dict[str, Role] = {}
    for number, raw in enumerate(re.split(r"[\n,]", text), start=1):
        line = raw.split("#", 1)[0].replace(":", " ").strip()
        if not line:
            continue
        parts = line.split()
        digest, role = parts[0].lower(), parts[1] if len(parts) > 1 else ""
        if not _SHA256.match(digest):
            raise ValueError(
                f"{source} entry {number}: expected the SHA-256 hex digest of a key "
                "(sha256sum, or python -m smart_support.serving.access KEY), not the key itself"
            )
        try:
            keys[digest] = Role(role)
        except ValueError:
            raise ValueError(
                f"{source} entry {number}: unknown role {role!r}; use one of "
                f"{[r.value for r in Role]}"
            ) from None
    return keys


class KeyRing:
    """The valid key hashes and their roles; the file is re-read when its mtime or size change."""

    def __init__(self, env_keys: str = "", keys_file: str | Path | None = None) -> None:
        self._env = parse_keys(env_keys, ENV_KEYS) if env_keys else {}
        self._file = Path(keys_file) if keys_file else None
        self._lock = threading.Lock()
        self._stamp: tuple[float, int] | None = None
        self._from_file: dict[str, Role] = {}
        self._reload()

    @classmethod
    def from_env(cls, keys_file: str | None = None) -> KeyRing:
        return cls(os.environ.get(ENV_KEYS, ""), os.environ.get(ENV_KEYS_FILE) or keys_file)

    @property
    def configured(self) -> bool:
        return bool(self._env) or self._file is not None

    def caller(self, key: str | None) -> Caller | None:
        """The caller a presented key stands for; None when it is not valid."""
        if not self.configured:
            return ANONYMOUS
        if not key:
            return None
        self._reload()
        digest = hash_key(key)
        role = self._env.get(digest) or self._from_file.get(digest)
        return Caller(digest[:12], role) if role else None

    def _reload(self) -> None:
        if self._file is None:
            return
        try:
            stat = self._file.stat()
        except OSError:
            if self._stamp is None:
                raise ValueError(f"API keys file {self._file} cannot be read") from None
            log.error("API keys file %s vanished; keeping the previous keys", self._file)
            return
        stamp = (stat.st_mtime, stat.st_size)
        if stamp == self._stamp:
            return
        with self._lock:
            try:
                keys = parse_keys(self._file.read_text(), str(self._file))
            except ValueError:
                if self._stamp is None:
                    raise
                log.exception("API keys file changed but is invalid; keeping the previous keys")
                return
            self._from_file, self._stamp = keys, stamp
            log.info("API keys loaded from %s: %d key(s)", self._file, len(keys))


if __name__ == "__main__":  # print the line to put in a keys file for a key
    import sys

    print(hash_key(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else "router")
