import math

import pytest

from smart_support.text import clean_text, ticket_text


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("  Hello\n\n world ", "Hello world"),
        ("<p>Server <b>down</b></p>", "Server down"),
        ("ﬁle", "file"),
        (None, ""),
        (math.nan, ""),
        ("line\\nbreak", "line break"),
        ("bad \udd4f surrogate", "bad ? surrogate"),
    ],
)
def test_clean_text(raw: object, clean: str) -> None:
    assert clean_text(raw) == clean


def test_ticket_text_joins_subject_and_body() -> None:
    assert ticket_text(" Invoice ", "charged twice") == "Invoice. charged twice"


def test_ticket_text_without_subject_is_the_body() -> None:
    assert ticket_text(None, "charged twice") == "charged twice"


@pytest.mark.parametrize(
    ("body", "content"),
    [
        (
            "Liebes Support-Team, die Rechnung ist falsch. Vielen Dank, Max",
            "die Rechnung ist falsch.",
        ),
        (
            "Sehr geehrte Damen und Herren,\\n\\nich kündige. Mit freundlichen Grüßen",
            "ich kündige.",
        ),
        ("Support-Team,\\n\\nDer Server steht.", "Der Server steht."),
        (
            "Dear support team, my invoice is wrong. Best regards, Anna Smith",
            "my invoice is wrong.",
        ),
        ("Hello, the app crashes. Thanks in advance!", "the app crashes."),
        ("The app crashes after the update.", "The app crashes after the update."),
        (
            "Thank you for the quick fix last week, but it broke again.",
            "Thank you for the quick fix last week, but it broke again.",
        ),
    ],
)
def test_salutation_formulas_leave_the_body(body: str, content: str) -> None:
    assert ticket_text("", body) == content


def test_a_body_that_is_only_a_greeting_is_kept() -> None:
    assert ticket_text("Hi", "Hello!") == "Hi. Hello!"
