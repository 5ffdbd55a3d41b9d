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
