"""Language detection: ISO 639-1 codes for the languages support sees, "unknown" otherwise."""

from __future__ import annotations

import pytest

from smart_support.routing.language import UNKNOWN, detect_language


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
    text = "Die Rechnung ist falsch und ich bitte um Korrektur. " * 500
    assert detect_language(text) == "de"
