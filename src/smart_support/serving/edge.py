"""The service's front door: Host allowlist, cross-origin rules, API keys, rate and concurrency
limits, JSON-only bodies. Plain decisions in `EdgePolicy` (tested without a server), applied to
every HTTP request by the `EdgeGuard` ASGI middleware before any endpoint runs.

Answers, all JSON `{"error": ...}`: 400 (no Host), 421 (Host not allowed), 403 (cross-origin
request from an origin not allowed, or a key without the role), 401 (no or unknown key), 429 with
Retry-After (rate or concurrency limit), 415 (a POST body that is not application/json).
"""

from __future__ import annotations

import ipaddress
import json
import logging
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from smart_support.clock import Clock
from smart_support.serving.access import ANONYMOUS, Caller, KeyRing, required_role
from smart_support.serving.rate_limit import RateLimiter, retry_after_header
from smart_support.serving.settings import LimitSettings, SecuritySettings

log = logging.getLogger(__name__)

CALLER = "smart_support.caller"  # where the caller is put in the ASGI scope's "state"
_CORS_HEADERS = "authorization, x-api-key, content-type, idempotency-key"
_CORS_METHODS = "GET, POST, OPTIONS"


@dataclass(frozen=True)
class Rejection:
    status: int
    message: str
    headers: tuple[tuple[str, str], ...] = ()

    def body(self) -> bytes:
        return json.dumps({"error": self.message}).encode()


@dataclass
class Request:
    """What the policy looks at: method, path and lower-cased headers."""

    method: str
    path: str
    headers: dict[str, str]
    client: str = "unknown"
    scheme: str = "http"


def host_name(host: str) -> str:
    """`Host` header → the name without the port (`[::1]:3000` → `[::1]`)."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[: host.find("]") + 1] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def host_allowed(host: str, allowed: tuple[str, ...]) -> bool:
    name = host_name(host)
    for entry in allowed:
        entry = entry.lower()
        if entry == "*" or entry == name or entry == f"[{name}]" or f"[{entry}]" == name:
            return True
        if entry.startswith(".") and name.endswith(entry):
            return True
    return False


def is_loopback(host: str) -> bool:
    name = host_name(host).strip("[]")
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def api_key(headers: dict[str, str]) -> str | None:
    auth = headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip() or None
    return headers.get("x-api-key") or None


@dataclass
class EdgePolicy:
    security: SecuritySettings
    limits: LimitSettings
    keys: KeyRing
    clock: Clock | None = None
    _limiter: RateLimiter = field(init=False)
    _in_flight: int = field(init=False, default=0)
    _lock: threading.Lock = field(init=False, default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._limiter = RateLimiter(self.limits.rate_per_s, self.limits.burst, self.clock)

    def origin_allowed(self, request: Request) -> bool:
        origin = request.headers.get("origin")
        if origin is None:
            return True  # not a browser's cross-site request (curl, servers, same-origin GET)
        if origin in self.security.cors_origins:
            return True
        parts = urlsplit(origin)
        return bool(parts.netloc) and parts.netloc.lower() == request.headers.get("host", "")

    def check(self, request: Request) -> Caller | Rejection:
        """Everything but the concurrency limit, in the order a client would want to learn it."""
        host = request.headers.get("host")
        if not host:
            return Rejection(400, "a Host header is required")
        if not host_allowed(host, self.security.allowed_hosts):
            return Rejection(
                421, f"host {host_name(host)!r} is not served here (serve.security.allowed_hosts)"
            )
        if not self.origin_allowed(request):
            return Rejection(
                403,
                f"cross-origin requests from {request.headers['origin']!r} are not allowed "
                "(serve.security.cors_origins)",
            )
        needed = required_role(request.method, request.path)
        if needed is None or request.method == "OPTIONS":
            return ANONYMOUS
        caller = self.keys.caller(api_key(request.headers))
        if caller is None:
            return Rejection(
                401,
                "a valid API key is required: send 'Authorization: Bearer <key>' or 'X-API-Key'",
                (("www-authenticate", "Bearer"),),
            )
        if not caller.role.allows(needed):
            return Rejection(403, f"this key has role {caller.role}; {request.path} needs {needed}")
        bucket = caller.key_id if caller is not ANONYMOUS else f"ip:{request.client}"
        wait_s = self._limiter.take(bucket)
        if wait_s > 0:
            return Rejection(
                429,
                f"rate limit of {self.limits.rate_per_s:g} requests/s (burst "
                f"{self.limits.burst}) exceeded; retry later",
                (("retry-after", retry_after_header(wait_s)),),
            )
        if request.method in {"POST", "PUT", "PATCH"} and not _json_body(request.headers):
            return Rejection(415, "request bodies must be JSON: send Content-Type application/json")
        return caller

    def enter(self) -> Rejection | None:
        """Count one request in flight; a Rejection when `limits.max_in_flight` are already."""
        with self._lock:
            if self._in_flight >= self.limits.max_in_flight:
                return Rejection(
                    429,
                    f"the server is busy ({self.limits.max_in_flight} requests in flight); "
                    "retry shortly",
                    (("retry-after", "1"),),
                )
            self._in_flight += 1
            return None

    def leave(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def cors_headers(self, request: Request) -> list[tuple[bytes, bytes]]:
        origin = request.headers.get("origin")
        if origin is None or origin not in self.security.cors_origins:
            return []
        return [
            (b"access-control-allow-origin", origin.encode()),
            (b"vary", b"Origin"),
        ]


def _json_body(headers: dict[str, str]) -> bool:
    """A body, or a declared type, must be application/json; a bare POST has neither."""
    kind = headers.get("content-type")
    if kind is None:
        length = headers.get("content-length", "0")
        return length.strip() in {"", "0"} and "transfer-encoding" not in headers
    media = kind.split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


class EdgeGuard:
    """ASGI middleware applying an `EdgePolicy` (built lazily from the serve settings)."""

    def __init__(self, app: Any, policy: EdgePolicy | None = None) -> None:
        self.app = app
        self._policy = policy

    @property
    def policy(self) -> EdgePolicy:
        if self._policy is None:
            from smart_support.serving.runtime import build_edge_policy

            self._policy = build_edge_policy()
        return self._policy

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        request = Request(
            method=scope["method"],
            path=scope["path"],
            headers=headers,
            client=(scope.get("client") or ("unknown",))[0],
            scheme=scope.get("scheme", "http"),
        )
        policy = self.policy
        verdict = policy.check(request)
        if isinstance(verdict, Rejection):
            await _reject(send, verdict, policy.cors_headers(request))
            return
        if request.method == "OPTIONS" and "access-control-request-method" in headers:
            await _preflight(send, policy.cors_headers(request))
            return
        if required_role(request.method, request.path) is None:
            await self.app(scope, receive, _with_headers(send, policy.cors_headers(request)))
            return
        busy = policy.enter()
        if busy is not None:
            await _reject(send, busy, policy.cors_headers(request))
            return
        scope.setdefault("state", {})[CALLER] = verdict
        try:
            await self.app(scope, receive, _with_headers(send, policy.cors_headers(request)))
        finally:
            policy.leave()


def _with_headers(send: Any, extra: list[tuple[bytes, bytes]]) -> Any:
    if not extra:
        return send

    async def wrapped(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", []), *extra]}
        await send(message)

    return wrapped


async def _reject(send: Any, rejection: Rejection, extra: list[tuple[bytes, bytes]]) -> None:
    body = rejection.body()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *((k.encode(), v.encode()) for k, v in rejection.headers),
        *extra,
    ]
    await send({"type": "http.response.start", "status": rejection.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _preflight(send: Any, cors: list[tuple[bytes, bytes]]) -> None:
    headers = [
        *cors,
        (b"access-control-allow-methods", _CORS_METHODS.encode()),
        (b"access-control-allow-headers", _CORS_HEADERS.encode()),
        (b"access-control-max-age", b"600"),
        (b"content-length", b"0"),
    ]
    await send({"type": "http.response.start", "status": 204, "headers": headers})
    await send({"type": "http.response.body", "body": b""})


def caller_of(scope: Any) -> Caller:
    """The caller EdgeGuard let in, from a request's ASGI scope (ANONYMOUS where none ran)."""
    caller = (scope.get("state") or {}).get(CALLER)
    return caller if isinstance(caller, Caller) else ANONYMOUS
