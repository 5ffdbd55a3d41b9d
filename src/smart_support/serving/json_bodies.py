"""ASGI middleware: JSON request bodies with lone UTF-16 surrogate escapes (`"\\udd4f"`) are
valid JSON but pydantic's parser refuses them, so BentoML would answer 400 to a readable ticket
with one broken character. Such escapes are replaced by U+FFFD (as `clean_text` would) before
the body is parsed; every other body passes untouched.
"""

from __future__ import annotations

import json
import re
from typing import Any

_MAYBE_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")
# 100 tickets of 21,000 characters, each written as a 6-byte \uXXXX escape, fit in 13 MB.
MAX_BODY_BYTES = 16 * 1024 * 1024
_TOO_LARGE = json.dumps({"error": f"request body over {MAX_BODY_BYTES} bytes"}).encode()


def without_lone_surrogates(body: bytes) -> bytes:
    if not _MAYBE_SURROGATE.search(body):
        return body
    try:
        data = json.loads(body)
    except ValueError:
        return body  # invalid JSON: the parser's own 4xx names the problem
    return json.dumps(_replace(data)).encode()


def _replace(value: Any) -> Any:
    if isinstance(value, str):
        # a valid pair was decoded to one code point by json.loads; what is left is lone
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_replace(v) for v in value]
    if isinstance(value, dict):
        return {_replace(k): _replace(v) for k, v in value.items()}
    return value


class SurrogateSafeBodies:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] not in {"POST", "PUT", "PATCH"}:
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                await self.app(scope, _replay(message, receive), send)
                return
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > MAX_BODY_BYTES:
                await _too_large(send)
                return
            if not message.get("more_body"):
                break
        body = without_lone_surrogates(b"".join(chunks))
        headers = [(k, v) for k, v in scope["headers"] if k.lower() != b"content-length"]
        scope = {**scope, "headers": [*headers, (b"content-length", b"%d" % len(body))]}
        await self.app(scope, _replay({"type": "http.request", "body": body}, receive), send)


def _replay(first: dict[str, Any], receive: Any) -> Any:
    """`first`, then whatever the server sends next (a disconnect)."""
    pending = [first]

    async def replay() -> dict[str, Any]:
        return pending.pop() if pending else await receive()

    return replay


async def _too_large(send: Any) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(_TOO_LARGE))]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": _TOO_LARGE})
