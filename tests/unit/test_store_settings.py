"""Which database the service's state store opens: conf/serve and the environment."""

from __future__ import annotations

from smart_support.serving.database import Database
from smart_support.serving.runtime import ENV_STORE, ENV_STORE_URL, load_serve_settings
from smart_support.serving.settings import StoreSettings


def test_without_a_url_the_store_is_the_sqlite_file_at_path() -> None:
    db = Database.from_settings(StoreSettings(path="state/x.db"))
    assert (db.is_postgres, db.where) == (False, "sqlite:///state/x.db")


def test_the_environment_url_overrides_the_configured_store(monkeypatch) -> None:
    monkeypatch.setenv(ENV_STORE_URL, "postgresql://app:pw@db.internal/smart_support")
    db = Database.from_settings(load_serve_settings().store)
    assert db.is_postgres
    assert db.where == "postgresql+psycopg://app:***@db.internal/smart_support"


def test_the_sqlite_path_variable_alone_selects_that_file(monkeypatch) -> None:
    monkeypatch.delenv(ENV_STORE_URL, raising=False)
    monkeypatch.setenv(ENV_STORE, "/tmp/elsewhere.db")
    assert (
        Database.from_settings(load_serve_settings().store).where == "sqlite:////tmp/elsewhere.db"
    )
