"""Ticket language (ISO 639-1) with lingua, restricted to the languages support sees."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

UNKNOWN = "unknown"
SUPPORTED = ("en", "de", "es", "fr", "pt", "it", "nl")
MAX_CHARS = 1000  # the opening of a ticket is plenty, and keeps detection fast


@lru_cache(maxsize=1)
def _detector() -> Any:
    """Built once per process, with every language's models loaded (the first ticket of each
    language costs what the rest cost)."""
    from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

    languages = [
        Language.from_iso_code_639_1(getattr(IsoCode639_1, code.upper())) for code in SUPPORTED
    ]
    return (
        LanguageDetectorBuilder.from_languages(*languages).with_preloaded_language_models().build()
    )


def detect_language(text: str | None) -> str:
    """ISO 639-1 code of the text's language, or "unknown" (empty or undetectable)."""
    if not text or not any(ch.isalpha() for ch in text):
        return UNKNOWN
    language = _detector().detect_language_of(text[:MAX_CHARS])
    if language is None:
        return UNKNOWN
    return str(language.iso_code_639_1.name).lower()
