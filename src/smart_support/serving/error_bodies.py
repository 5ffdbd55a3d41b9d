"""ASGI middleware: every 4xx body is the API's `{"error": ...}` (docs/api.md).

BentoML validates the bodies of `@bentoml.api` routes itself and answers 400 with
`{"error": ..., "detail": [pydantic errors]}`, which breaks its own published schema (`detail`
is a string there; found by fuzzing, benchmarks/fuzz.py); this rewrites such bodies.
"""

from __future__ import annotations

import json
from typing import Any


class ErrorBodies:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start: dict[str, Any] | None = None
        chunks: list[bytes] = []

        async def capture(message: dict[str, Any]) -> None:
            nonlocal start
            if message["type"] == "http.response.start" and 400 <= message["status"] < 500:
                start = message  # hold the head until the body is known
                return
            if start is None or message["type"] != "http.response.body":
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            body = error_body(b"".join(chunks))
            headers = [
                (k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"
            ]
            await send({**start, "headers": [*headers, (b"content-length", b"%d" % len(body))]})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, capture)


def error_body(body: bytes) -> bytes:
    """`{"detail": [errors]}` → `{"error": "invalid request: ..."}`; anything else unchanged.

    (BentoML's own OpenAPI document declares `detail` a string, so the list must go.)"""
    try:
        data = json.loads(body)
    except ValueError:
        return body
    if not isinstance(data, dict) or isinstance(data.get("detail", ""), str):
        return body
    detail = data["detail"]
    if isinstance(detail, list) and detail and isinstance(detail[0], dict):
        where = ".".join(str(part) for part in detail[0].get("loc", []))
        message = f"{where}: {detail[0].get('msg', 'bad input')}" if where else detail[0].get("msg")
    else:
        message = str(detail)
    return json.dumps({"error": f"invalid request: {message}"}).encode()
