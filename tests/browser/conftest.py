"""The browser test reuses the serving fixtures (tiny real models, a real `bentoml serve`)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from typing import Any

import pytest

from tests.local_server import CHROMIUM, CHROMIUM_ARGS
from tests.serving.conftest import bento_models, served, tracking  # noqa: F401 - fixtures


@pytest.fixture
def browser_page() -> Iterator[Any]:
    """A headless Debian Chromium page (fresh profile), driven by Playwright."""
    if shutil.which(CHROMIUM) is None:
        message = f"{CHROMIUM} missing: apt-get install -y chromium chromium-driver"
        if os.environ.get("CI"):  # .ci/run installs it: a missing browser is a failure there
            pytest.fail(message)
        pytest.skip(message)
    sync_api = pytest.importorskip("playwright.sync_api")
    with (
        tempfile.TemporaryDirectory(prefix="smart-support-chromium-") as profile,
        sync_api.sync_playwright() as playwright,
    ):
        context = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 900},
        )
        try:
            yield context.pages[0] if context.pages else context.new_page()
        finally:
            context.close()
