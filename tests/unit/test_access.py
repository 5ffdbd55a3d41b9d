"""API keys, roles and the front door's decisions, without a server (injected clock)."""

from __future__ import annotations

import os

import pytest

from smart_support.serving.access import KeyRing, Role, hash_key, parse_keys, required_role
from smart_support.serving.edge import EdgePolicy, Rejection, Request, host_allowed, is_loopback
from smart_support.serving.exposure import OpenNetworkError, refuse_open_network
from smart_support.serving.rate_limit import RateLimiter
from smart_support.serving.settings import ServeSettings
from tests.fakes import FakeClock


def line(key: str, role: str) -> str:
    return f"{hash_key(key)} {role}\n"


@pytest.mark.parametrize(
    ("method", "path", "role"),
    [
        ("GET", "/health", None),
        ("GET", "/readyz", None),
        ("GET", "/ui/app.js", None),
        ("POST", "/route", Role.ROUTER),
        ("POST", "/route/batch", Role.ROUTER),
        ("GET", "/route/async/abc", Role.ROUTER),
        ("GET", "/triage", Role.AGENT),
        ("GET", "/incidents/xyz", Role.AGENT),
        ("POST", "/tickets/abc/resolve", Role.AGENT),
        ("POST", "/tickets/abc/feedback", Role.AGENT),
        ("GET", "/tickets/abc/feedback", Role.AGENT),
        ("DELETE", "/tickets/abc", Role.ADMIN),
        ("POST", "/admin/faults", Role.ADMIN),
        ("GET", "/metrics", Role.METRICS),
        ("GET", "/drift", Role.AGENT),
        ("GET", "/something-new", Role.ADMIN),  # unknown paths are closed
    ],
)
def test_each_endpoint_needs_its_role(method: str, path: str, role: Role | None) -> None:
    assert required_role(method, path) == role


def test_admin_implies_every_role_and_the_others_only_their_own() -> None:
    assert all(Role.ADMIN.allows(r) for r in Role)
    assert not Role.ROUTER.allows(Role.AGENT) and not Role.AGENT.allows(Role.ROUTER)


def test_a_plain_key_in_the_key_list_is_refused_with_a_hint() -> None:
    with pytest.raises(ValueError, match="SHA-256"):
        parse_keys("my-secret-key:router", "SMART_SUPPORT_API_KEYS")
    with pytest.raises(ValueError, match="unknown role 'root'"):
        parse_keys(f"{hash_key('k')}:root", "SMART_SUPPORT_API_KEYS")


def test_keys_rotate_by_editing_the_file_without_a_restart(tmp_path) -> None:
    keys = tmp_path / "keys"
    keys.write_text("# rotation test\n" + line("old-key", "router"))
    ring = KeyRing(keys_file=keys)
    assert ring.caller("old-key").role is Role.ROUTER
    keys.write_text(line("old-key", "router") + line("new-key", "admin"))
    os.utime(keys, (1, 1))  # a new mtime even within the file system's resolution
    assert ring.caller("new-key").role is Role.ADMIN and ring.caller("old-key") is not None
    keys.write_text(line("new-key", "admin"))
    os.utime(keys, (2, 2))
    assert ring.caller("old-key") is None and ring.caller("new-key") is not None
    keys.write_text("not a hash\n")  # a broken edit keeps the last good keys
    os.utime(keys, (3, 3))
    assert ring.caller("new-key") is not None


def test_without_keys_every_caller_is_let_in() -> None:
    ring = KeyRing()
    assert not ring.configured and ring.caller(None).role is Role.ADMIN


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("localhost", True),
        ("localhost:3000", True),
        ("127.0.0.1:8080", True),
        ("[::1]:3000", True),
        ("[::1]", True),
        ("evil.example", False),
        ("localhost.evil.example", False),
        ("127.0.0.2", False),
    ],
)
def test_the_default_host_allowlist(host: str, allowed: bool) -> None:
    hosts = ServeSettings.from_config({}).security.allowed_hosts
    assert host_allowed(host, hosts) is allowed


def test_host_allowlist_suffixes_and_wildcard() -> None:
    assert host_allowed("api.ops.example.com:443", (".ops.example.com",))
    assert host_allowed("anything", ("*",))


@pytest.mark.parametrize(("address", "loopback"), [("127.0.0.1", True), ("::1", True),
                                                  ("0.0.0.0", False), ("10.1.2.3", False)])  # fmt: skip
def test_loopback_addresses(address: str, loopback: bool) -> None:
    assert is_loopback(address) is loopback


def test_the_token_bucket_refills_at_its_rate() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rate_per_s=2, burst=3, clock=clock)
    assert [limiter.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.take("a") == pytest.approx(0.5)  # next token in half a second
    assert limiter.take("b") == 0.0  # buckets are per key
    clock.advance(0.5)
    assert limiter.take("a") == 0.0 and limiter.take("a") > 0


def policy(**limits) -> EdgePolicy:
    settings = ServeSettings.from_config({"limits": limits})
    return EdgePolicy(settings.security, settings.limits, KeyRing(), FakeClock())


def request(**headers: str) -> Request:
    return Request("POST", "/route", {"host": "localhost:3000", **headers}, client="10.0.0.9")


def test_without_keys_the_rate_limit_is_per_client_address() -> None:
    edge = policy(rate_per_s=1, burst=1)
    assert not isinstance(edge.check(request(**{"content-type": "application/json"})), Rejection)
    limited = edge.check(request(**{"content-type": "application/json"}))
    assert isinstance(limited, Rejection) and limited.status == 429
    assert dict(limited.headers)["retry-after"] == "1"


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"content-type": "text/plain"}, 415),
        ({"content-length": "12"}, 415),  # a body without a type
        ({"content-type": "application/json; charset=utf-8"}, None),
        ({"content-type": "application/merge-patch+json"}, None),
        ({}, None),  # a bare POST (resolve, faults)
        ({"origin": "https://evil.example", "content-type": "application/json"}, 403),
        ({"origin": "http://localhost:3000", "content-type": "application/json"}, None),
        ({"host": "evil.example"}, 421),
        ({"host": ""}, 400),
    ],
)
def test_front_door_decisions(headers: dict, status: int | None) -> None:
    verdict = policy().check(request(**headers))
    assert (verdict.status if isinstance(verdict, Rejection) else None) == status


def test_concurrency_beyond_the_limit_is_refused_then_freed() -> None:
    edge = policy(max_in_flight=2)
    assert edge.enter() is None and edge.enter() is None
    busy = edge.enter()
    assert busy is not None and busy.status == 429 and dict(busy.headers)["retry-after"]
    edge.leave()
    assert edge.enter() is None


def test_a_network_address_without_keys_refuses_to_start(monkeypatch) -> None:
    monkeypatch.delenv("SMART_SUPPORT_API_KEYS", raising=False)
    monkeypatch.delenv("SMART_SUPPORT_API_KEYS_FILE", raising=False)
    settings = ServeSettings.from_config({})
    refuse_open_network(settings, ["127.0.0.1", "::1"])  # loopback: fine
    with pytest.raises(OpenNetworkError, match="0.0.0.0"):
        refuse_open_network(settings, ["0.0.0.0"])
    allowed = ServeSettings.from_config({"security": {"allow_open_network": True}})
    refuse_open_network(allowed, ["0.0.0.0"])
    monkeypatch.setenv("SMART_SUPPORT_API_KEYS", f"{hash_key('k')}:admin")
    refuse_open_network(settings, ["0.0.0.0"])
