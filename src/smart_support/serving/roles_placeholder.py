"""PLACEHOLDER (branch issue13b) for the access control of issue 13 item 1, which another
branch builds: at merge, `require_role` and `caller_id` are replaced by that branch's API-key
checks (401 without a key, 403 with the wrong role). Here they only name what each endpoint
needs and who called it; every request passes."""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request

ANONYMOUS = "anonymous"


def require_role(role: str) -> Callable[[Request], None]:
    """A FastAPI dependency: the caller must hold `role` (placeholder: not yet enforced)."""

    def check(request: Request) -> None:
        request.state.required_role = role

    return check


def caller_id(request: Request) -> str:
    """Who sent the request (the API key's id once keys exist), scoping idempotency keys."""
    return str(getattr(request.state, "api_key_id", None) or ANONYMOUS)
