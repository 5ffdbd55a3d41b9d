"""Personal data out of text that leaves the model path (store, API answers, webhooks, logs).

E-mail addresses, IBANs (mod-97 checked), card numbers (Luhn checked) and phone numbers (Google's
libphonenumber metadata, `phonenumbers`, in German and English/US formats) are replaced by a
placeholder. The models still read the original text; only what is kept or shown is redacted.
"""

from __future__ import annotations

import contextlib
import logging
import re
from typing import Any

import phonenumbers

EMAIL = "[email]"
IBAN = "[iban]"
CARD = "[card]"
PHONE = "[phone]"

_EMAIL = re.compile(r"[\w.%+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}")
# Country code, check digits, then 11-30 letters/digits, optionally grouped by single spaces.
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b")
# 13-19 digits, optionally grouped by single spaces or hyphens.
_CARD = re.compile(r"\b\d(?:[ -]?\d){12,18}\b")
# Regions whose national formats (no country code) are read: German and US/UK numbers.
_PHONE_REGIONS = ("DE", "US", "GB")
_MIN_PHONE_DIGITS = 7
# A number counts only in a phone's shape: international (+, 00), a national trunk 0 or an area
# code in brackets, or the US 3-3-4 grouping. ("Rechnung Nr. 2024-000123" is a valid German local
# number to libphonenumber, but not written like one.)
_PHONE_SHAPE = re.compile(r"[+(0]|\d{3}[\s.-]\d{3}[\s.-]\d{4}$")


def redact(text: str) -> str:
    """`text` with e-mail addresses, IBANs, card numbers and phone numbers replaced."""
    if not text:
        return text
    text = _EMAIL.sub(EMAIL, text)
    text = _IBAN.sub(lambda m: IBAN if iban_is_valid(m.group()) else m.group(), text)
    text = _CARD.sub(lambda m: CARD if luhn_is_valid(m.group()) else m.group(), text)
    return _redact_phones(text)


def iban_is_valid(candidate: str) -> bool:
    """ISO 13616 check: move the first four characters to the end, letters to numbers, mod 97."""
    value = candidate.replace(" ", "").upper()
    if not 15 <= len(value) <= 34:
        return False
    digits = "".join(str(int(ch, 36)) for ch in value[4:] + value[:4])
    return int(digits) % 97 == 1


def luhn_is_valid(candidate: str) -> bool:
    digits = [int(ch) for ch in candidate if ch.isdigit()]
    if not 13 <= len(digits) <= 19:
        return False
    total = 0
    for i, digit in enumerate(reversed(digits)):
        if i % 2 == 1:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def _redact_phones(text: str) -> str:
    spans: list[tuple[int, int]] = []
    for region in _PHONE_REGIONS:
        for match in phonenumbers.PhoneNumberMatcher(text, region, phonenumbers.Leniency.VALID):
            raw = match.raw_string
            if sum(ch.isdigit() for ch in raw) >= _MIN_PHONE_DIGITS and _PHONE_SHAPE.match(raw):
                spans.append((match.start, match.end))
    for start, end in sorted(_merge(spans), reverse=True):
        text = text[:start] + PHONE + text[end:]
    return text


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def install_log_redaction(prefix: str = "smart_support") -> None:
    """Redact every log record of this package's loggers when it is created (any handler).

    A record factory rather than a handler filter: BentoML configures its own handlers, and a
    logger's filter would not see its children's records."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "redacts", None) == prefix:
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        if record.name.startswith(prefix):
            # a malformed record keeps its arguments: logging reports it when formatting
            with contextlib.suppress(Exception):
                record.msg, record.args = redact(record.getMessage()), None
        return record

    factory.redacts = prefix  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)
