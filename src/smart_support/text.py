"""The one text-cleaning function, shared by training and serving (no skew)."""

from __future__ import annotations

import re
import unicodedata

_HTML_TAG = re.compile(r"<[^>]+>")
_WHITESPACE = re.compile(r"\s+")


def clean_text(text: object) -> str:
    """Normalise one free-text field: unicode NFKC, no HTML tags, single spaces."""
    if text is None or (isinstance(text, float) and text != text):  # None or NaN
        return ""
    # Lone surrogates (valid in JSON, invalid in UTF-8) would break tokenizers and storage.
    value = str(text).encode("utf-8", "replace").decode("utf-8")
    value = unicodedata.normalize("NFKC", value)
    value = _HTML_TAG.sub(" ", value).replace("\\n", " ")
    return _WHITESPACE.sub(" ", value).strip()


def ticket_text(subject: object, body: object) -> str:
    """The model input for a ticket: cleaned subject and body joined by a period."""
    parts = [clean_text(subject), clean_text(body)]
    return ". ".join(p for p in parts if p)


def visible_text(text: object) -> str:
    """What a reader would see: the cleaned text without control, format or unassigned
    characters (markup-only or control-only input leaves nothing)."""
    cleaned = clean_text(text)
    return "".join(ch for ch in cleaned if not unicodedata.category(ch).startswith("C")).strip()
