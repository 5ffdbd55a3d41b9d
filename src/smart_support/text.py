"""The one text-cleaning function, shared by training and serving (no skew)."""

from __future__ import annotations

import re
import unicodedata

_HTML_TAG = re.compile(r"<[^>]+>")
_WHITESPACE = re.compile(r"\s+")
# Salutation formulas: each source file of the dataset has its own, so a model could learn
# the file (and its queues) from them instead of the content. Removed from the body only.
_GREETING = re.compile(
    r"^(?:(?:hallo|hello|hi|hey|dear|liebe[rs]?|sehr geehrte[rs]?|guten (?:tag|morgen|abend)"
    r"|good (?:morning|afternoon|evening)|greetings|to whom it may concern)\b[^,.!:\n]{0,60}"
    r"|(?:customer |kunden)?support[- ]?team)[,.!:]?\s*",
    re.IGNORECASE,
)
_SIGN_OFF = re.compile(
    r"[\s,]*\b(?:mit freundlichen grüßen|freundliche grüße|beste grüße|viele grüße|"
    r"vielen dank(?: im voraus)?|danke(?: schön)?|best regards|kind regards|regards|sincerely|"
    r"thank you(?: in advance)?|thanks(?: in advance)?|cheers)\b[^.!?]{0,60}[.!]?\s*$",
    re.IGNORECASE,
)


def clean_text(text: object) -> str:
    """Normalise one free-text field: unicode NFKC, no HTML tags, single spaces."""
    if text is None or (isinstance(text, float) and text != text):  # None or NaN
        return ""
    # Lone surrogates (valid in JSON, invalid in UTF-8) would break tokenizers and storage.
    value = str(text).encode("utf-8", "replace").decode("utf-8")
    value = unicodedata.normalize("NFKC", value)
    value = _HTML_TAG.sub(" ", value).replace("\\n", " ")
    return _WHITESPACE.sub(" ", value).strip()


def strip_salutations(body: str) -> str:
    """A cleaned body without its opening greeting and closing formula (keeps the content)."""
    stripped = _SIGN_OFF.sub("", _GREETING.sub("", body, count=1), count=1).strip()
    return stripped or body


def ticket_text(subject: object, body: object) -> str:
    """The model input for a ticket: cleaned subject and body (without salutation formulas)
    joined by a period. Training and serving both call this (no skew)."""
    parts = [clean_text(subject), strip_salutations(clean_text(body))]
    return ". ".join(p for p in parts if p)


def visible_text(text: object) -> str:
    """What a reader would see: the cleaned text without control, format or unassigned
    characters (markup-only or control-only input leaves nothing)."""
    cleaned = clean_text(text)
    return "".join(ch for ch in cleaned if not unicodedata.category(ch).startswith("C")).strip()
