"""PLACEHOLDER (branch issue13b): the personal-data redaction of issue 13 item 5 lives in the
access-control/redaction branch, whose `smart_support.redaction.redact` replaces this module at
merge. Only the name and signature are fixed here; this stand-in masks e-mail addresses."""

from __future__ import annotations

import re

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def redact(text: str) -> str:
    return _EMAIL.sub("[email]", text)
