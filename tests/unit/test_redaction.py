"""Personal data redaction: EN and DE formats found, look-alikes (ids, dates, prices) kept."""

from __future__ import annotations

import logging

import pytest

from smart_support.redaction import (
    iban_is_valid,
    install_log_redaction,
    luhn_is_valid,
    redact,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Reach me at jane.doe+billing@example.co.uk today", "Reach me at [email] today"),
        ("Kontakt: max.mustermann@firma-gmbh.de", "Kontakt: [email]"),
        ("Call +1 415 555 0132 please", "Call [phone] please"),
        ("Call (415) 555-0132 please", "Call [phone] please"),
        ("call 415-555-0132", "call [phone]"),
        ("London office +44 20 7946 0958", "London office [phone]"),
        ("Rückruf unter +49 30 12345678", "Rückruf unter [phone]"),
        ("Rückruf unter 030 12345678", "Rückruf unter [phone]"),
        ("Handy 0171/1234567", "Handy [phone]"),
        ("Tel. 0049 89 123456", "Tel. [phone]"),
        ("IBAN DE89 3704 0044 0532 0130 00 bitte", "IBAN [iban] bitte"),
        ("IBAN DE89370400440532013000", "IBAN [iban]"),
        ("pay to GB82 WEST 1234 5698 7654 32", "pay to [iban]"),
        ("Karte 4111 1111 1111 1111 abgelehnt", "Karte [card] abgelehnt"),
        ("card 5500-0000-0000-0004 declined", "card [card] declined"),
    ],
)
def test_personal_data_is_replaced(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Invoice 1042 was charged twice",
        "Rechnung Nr. 2024-000123 vom 15.03.2024",
        "Order 10423456 of 2024-03-15, version 2.13.0",
        "Kundennummer 0012345",
        "Betrag 1.234,56 EUR, Termin 14:30",
        "ticket #123456789 and build 20240315",
        "IBAN DE00 3704 0044 0532 0130 00",  # wrong check digits
        "card 4111 1111 1111 1112",  # fails the Luhn check
    ],
)
def test_look_alikes_are_kept(text: str) -> None:
    assert redact(text) == text


def test_the_checksums() -> None:
    assert iban_is_valid("DE89 3704 0044 0532 0130 00") and not iban_is_valid(
        "DE88370400440532013000"
    )
    assert luhn_is_valid("4111111111111111") and not luhn_is_valid("4111111111111121")


def test_log_records_of_the_package_are_redacted(caplog) -> None:
    install_log_redaction()
    with caplog.at_level(logging.INFO):
        logging.getLogger("smart_support.anything").info("ticket from %s", "jane@example.com")
        logging.getLogger("other.library").info("kept %s", "jane@example.com")
    messages = [r.getMessage() for r in caplog.records]
    assert messages == ["ticket from [email]", "kept jane@example.com"]
