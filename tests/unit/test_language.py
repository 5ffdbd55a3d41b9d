"""Language detection: ISO 639-1 codes for the languages support sees, "unknown" otherwise."""

from __future__ import annotations

import pytest

from smart_support.routing.language import MAX_CHARS, UNKNOWN, detect_language


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("I was charged twice for my subscription this month.", "en"),
        ("Die App zeigt seit heute früh keine Verbindung zum Server.", "de"),
        ("No puedo acceder a mi cuenta desde ayer por la tarde.", "es"),
        ("Je n'arrive plus à me connecter à mon compte depuis hier.", "fr"),
        ("Não consigo acessar a minha conta desde ontem à noite.", "pt"),
        ("Non riesco ad accedere al mio account da ieri sera.", "it"),
        ("Ik kan sinds gisteren niet meer inloggen op mijn account.", "nl"),
    ],
)
def test_detects_each_supported_language(text: str, code: str) -> None:
    assert detect_language(text) == code


@pytest.mark.parametrize("text", ["", "   ", None, "12345 !!! 42", "#### -- 2024-01-01"])
def test_text_without_letters_is_unknown(text: str | None) -> None:
    assert detect_language(text) == UNKNOWN


def test_a_long_ticket_is_judged_by_its_opening() -> None:
    """A German opening longer than the cut, then a much longer English quote: the opening
    decides (the whole text would read as English)."""
    opening = "Die Rechnung ist falsch. " * 50  # longer than MAX_CHARS
    quoted = "Please find below the full log of the failed payment request. " * 200
    assert len(opening) > MAX_CHARS
    assert detect_language(quoted) == "en"
    assert detect_language(opening + quoted) == "de"
