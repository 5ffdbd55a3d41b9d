"""The Bento on its own: built by the package stage's code, served from the BentoML store by
tag from a directory that is not the checkout, with a fresh cache (the ONNX dedup encoder is
exported offline from what the Bento installs)."""

from __future__ import annotations

import getpass
import os
import shutil
import subprocess
import sys
from pathlib import Path

import bentoml
import httpx
import pytest
import yaml

from smart_support.tracking.packaging import CHAMPION_TAG, FALLBACK_TAG, build_bento
from tests.helpers import dedup_reference
from tests.local_server import LocalServer

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
CONF = ROOT / "conf" / "serve" / "default.yaml"


@pytest.fixture(scope="module")
def bento(bento_models, tmp_path_factory) -> str:
    """Built from a copy of the checkout's tracked files plus the pipeline output the Bento
    needs and a fresh clone lacks (the dedup reference: the test services' one)."""
    project = tmp_path_factory.mktemp("project")
    tracked = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.decode()
    for name in filter(None, tracked.split("\0")):
        if (ROOT / name).is_file():
            (project / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, project / name)
    reference = project / yaml.safe_load(CONF.read_text())["dedup"]["reference"]
    reference.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(dedup_reference(), reference)
    return build_bento(project)


def test_the_bento_carries_its_code_config_static_files_and_models(bento: str) -> None:
    built = bentoml.get(bento)
    src = Path(built.path) / "src"
    for part in (
        "params.yaml",
        "bentos/service.py",
        "src/smart_support/serving/runtime.py",
        "src/smart_support/serving/static/index.html",
        "src/smart_support/serving/static/drift.js",
    ):
        assert (src / part).is_file(), part
    assert not (src / "tests").exists()
    # of conf/ only the serving defaults travel (ServeSettings fills missing keys from them)
    assert [p.relative_to(src).as_posix() for p in (src / "conf").rglob("*.yaml")] == [
        "conf/serve/default.yaml"
    ]
    assert {m.tag.name for m in built.info.all_models} == {CHAMPION_TAG, FALLBACK_TAG}
    reference = yaml.safe_load(CONF.read_text())["dedup"]["reference"]
    assert (src / reference).is_file()  # the burst rule's usual traffic travels with it


def test_the_bento_imports_its_own_copy_of_the_code(bento: str, tmp_path: Path) -> None:
    script = (
        f"import bentoml; bentoml.load({bento!r}); "
        "import smart_support; print(smart_support.__file__)"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    module = Path(out.stdout.strip().splitlines()[-1])
    assert module.is_relative_to(Path(bentoml.get(bento).path)), module


def test_the_image_setup_script_makes_the_volume_directories(bento: str, tmp_path: Path) -> None:
    built = bentoml.get(bento)
    script = next((Path(built.path) / "env" / "docker").glob("script__*"))
    assert script.read_text() == (ROOT / "bentos" / "docker_setup.sh").read_text()
    env = {
        **os.environ,
        "BENTO_PATH": str(tmp_path / "bento"),
        "BENTO_USER": getpass.getuser(),
        "SMART_SUPPORT_CACHE": str(tmp_path / "cache"),
    }
    subprocess.run([str(script)], env=env, check=True)
    assert (tmp_path / "bento" / "src" / "state").is_dir() and (tmp_path / "cache").is_dir()


def test_the_bento_serves_from_the_store_outside_the_checkout(bento: str, tmp_path: Path) -> None:
    """`bentoml serve <tag>` from another directory, with the Bento's own params.yaml and
    default store, exporting the ONNX dedup encoder offline into a fresh cache."""
    path = Path(bentoml.get(bento).path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    cache = tmp_path / "cache"
    server = LocalServer(env={"SMART_SUPPORT_CACHE": str(cache)}, cwd=elsewhere, service=bento,
                         log_path=tmp_path / "serve.log")  # fmt: skip
    for name in ("SMART_SUPPORT_PARAMS", "SMART_SUPPORT_STORE", "SMART_SUPPORT_API_KEYS"):
        server.env.pop(name, None)
    with server.start(timeout_s=300), httpx.Client(base_url=server.url, timeout=30) as http:
        routed = http.post(
            "/route",
            json={"subject": "Invoice charged twice", "body": "Please refund invoice 1042."},
        )
        assert routed.status_code == 200, routed.text
        assert routed.json()["category"] in {"Billing", "Technical", "Legal"}
        assert http.get("/health").json()["models"]["champion"]["milestone"] == "m2"
        assert "<html" in http.get("/ui").text.lower()
    assert list(cache.rglob("model.onnx"))
    assert list((path / "src" / "state").iterdir())  # the default store, where the volume mounts
    assert not list(elsewhere.iterdir())
