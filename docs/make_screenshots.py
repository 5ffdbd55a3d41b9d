"""Screenshots for docs/experiments.md (rerunnable): MLflow UI, `dvc exp show`, `dvc plots show`.

Run from the repository root once the pipeline has run (mlflow.db, reports/ exist):

    .venv/bin/python docs/make_screenshots.py            # every view
    .venv/bin/python docs/make_screenshots.py mlflow     # or some of: mlflow dvc-exp dvc-plots dashboard

Headless Debian Chromium (/usr/bin/chromium) driven by Playwright. `dashboard` copies the
screenshot that the browser test (tests/browser/test_dashboard.py) leaves in reports/screenshots/.
`dvc plots show` writes dvc_plots/index.html, which loads Vega from a CDN; the page's CDN
requests are answered from the npm packages (`npm pack`, cached in reports/screenshots/.vega/).
"""

from __future__ import annotations

import argparse
import html
import os
import re
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout: tests/ scaffolding
from tests.local_server import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "screenshots"
BIN = Path(sys.executable).parent
EXPERIMENT = "smart-support"
REGISTERED_MODEL = "smart-support-router"
MLFLOW_METRICS = (
    "cv_macro_f1_mean",
    "test_macro_f1",
    "test_accuracy",
    "test_urgency_spearman",
    "test_latency_ms_p95",
)
MLFLOW_HIDDEN = ("Dataset", "Source")
# `dvc exp show` columns: the headline metrics of each milestone and the registration outcome.
DVC_COLUMNS = (
    r"Experiment|Created|scores\.m[123]|best_milestone|champion_milestone|"
    r"champion_version|fallback_version|registered_model|.*m2\.json:(accuracy|urgency_spearman)"
)
VEGA_CACHE = ROOT / "reports" / "screenshots" / ".vega"


def log(message: str) -> None:
    print(f"[screenshots] {message}", flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def browser(width: int = 1600, height: int = 1000) -> Iterator[Any]:
    """A page in headless Chromium with a fresh profile."""
    from playwright.sync_api import sync_playwright

    with (
        tempfile.TemporaryDirectory(prefix="screenshots-chromium-") as profile,
        sync_playwright() as playwright,
    ):
        context = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": width, "height": height},
        )
        try:
            page = context.pages[0] if context.pages else context.new_page()
            page.set_default_timeout(60_000)
            yield page
        finally:
            context.close()


def save(page_or_locator: Any, name: str, **kwargs: Any) -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / name
    page_or_locator.screenshot(path=str(path), **kwargs)
    log(f"wrote {path.relative_to(ROOT)} ({path.stat().st_size // 1024} KiB)")
    return path


# ---------- MLflow UI ----------
@contextmanager
def mlflow_ui(port: int) -> Iterator[str]:
    url = f"http://127.0.0.1:{port}"
    command = [
        str(BIN / "mlflow"), "ui", "--backend-store-uri", "sqlite:///mlflow.db",
        "--host", "127.0.0.1", "--port", str(port),
    ]  # fmt: skip
    log(" ".join(command))
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"mlflow ui did not start on {url}")
            time.sleep(0.5)
        yield url
    finally:
        os.killpg(process.pid, 15)
        process.wait(30)


def experiment_id() -> str:
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{ROOT / 'mlflow.db'}")
    experiment = client.get_experiment_by_name(EXPERIMENT)
    if experiment is None:
        raise SystemExit(f"no MLflow experiment {EXPERIMENT!r}: run the pipeline first")
    return str(experiment.experiment_id)


def close_assistant(page: Any) -> None:
    close = page.get_by_role("button", name="Close", exact=True)
    if close.count():
        close.first.click()


def mlflow_views(port: int) -> None:
    exp_id = experiment_id()
    with mlflow_ui(port) as url, browser(1700, 760) as page:
        # Runs table: the three milestone runs with headline metrics, one opened to its trials.
        page.goto(f"{url}/#/experiments/{exp_id}/runs?workflowType=machine_learning")
        page.get_by_text("m2-three_way").first.wait_for()
        close_assistant(page)
        page.get_by_role("button", name="Columns").click()
        menu = page.locator("[data-radix-popper-content-wrapper]").last
        for name in (*MLFLOW_METRICS, *MLFLOW_HIDDEN):
            menu.get_by_text(name, exact=True).first.click()
        page.keyboard.press("Escape")
        for metric in MLFLOW_METRICS:
            page.get_by_role("columnheader", name=metric).first.wait_for()
        parent = page.get_by_role("row").filter(has_text="m2-three_way").first
        parent.get_by_role("button").first.click()  # expand: nested Optuna trial runs
        page.get_by_role("row").nth(8).wait_for()
        page.wait_for_timeout(1000)  # let the table settle after the expansion
        save(page, "mlflow_runs.png")

        # Registered model: versions with their aliases (champion, fallback, m1/m2/m3).
        page.goto(f"{url}/#/models/{REGISTERED_MODEL}")
        page.get_by_text("champion").first.wait_for()
        close_assistant(page)
        page.get_by_text("fallback").first.wait_for()
        page.wait_for_timeout(500)
        save(page, "mlflow_registered_model.png")


# ---------- terminal output as an image ----------
def terminal_png(page: Any, title: str, text: str, name: str) -> None:
    page.set_content(
        "<!doctype html><meta charset=utf-8><style>"
        "body{margin:0;background:#fff}"
        ".term{display:inline-block;margin:12px;background:#1e1e2e;color:#e4e4ef;"
        "border-radius:8px;padding:14px 18px;font:13px/1.35 'DejaVu Sans Mono',monospace}"
        ".cmd{color:#8bd5ca;margin:0 0 8px}pre{margin:0}</style>"
        f"<div class=term><p class=cmd>$ {html.escape(title)}</p>"
        f"<pre>{html.escape(text)}</pre></div>"
    )
    save(page.locator(".term"), name)


def dvc_exp_view() -> None:
    drop = f"^(?!({DVC_COLUMNS})$).*"
    command = [str(BIN / "dvc"), "exp", "show", "--no-pager", "--drop", drop]
    shown = f"dvc exp show --no-pager --drop '{drop}'"
    log(shown)
    env = {**os.environ, "COLUMNS": "400"}
    out = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    text = "\n".join(line.rstrip() for line in out.stdout.splitlines())
    with browser(2400, 600) as page:
        terminal_png(page, shown, text, "dvc_exp_show.png")


# ---------- dvc plots show ----------
def vega_bundle(spec: str) -> bytes:
    """The file a CDN serves for `name@version` (package.json's jsdelivr field), via npm pack."""
    name, version = spec.rsplit("@", 1)
    VEGA_CACHE.mkdir(parents=True, exist_ok=True)
    tarball = VEGA_CACHE / f"{name}-{version}.tgz"
    if not tarball.exists():
        log(f"npm pack {spec}")
        subprocess.run(
            ["npm", "pack", spec, "--silent"], cwd=VEGA_CACHE, check=True, capture_output=True
        )
    import json

    with tarfile.open(tarball) as tar:
        meta = json.load(tar.extractfile("package/package.json"))  # type: ignore[arg-type]
        entry = meta.get("jsdelivr") or meta.get("unpkg") or meta["main"]
        return tar.extractfile(f"package/{entry.lstrip('./')}").read()  # type: ignore[union-attr]


def dvc_plots_view() -> None:
    log("dvc plots show")
    subprocess.run([str(BIN / "dvc"), "plots", "show"], cwd=ROOT, check=True, capture_output=True)
    index = ROOT / "dvc_plots" / "index.html"
    cdn = re.compile(r"https://cdn\.jsdelivr\.net/npm/([^/?#]+@[^/?#]+)$")

    def answer(route: Any) -> None:
        match = cdn.match(route.request.url)
        if not match or shutil.which("npm") is None:
            route.abort()
            return
        route.fulfill(body=vega_bundle(match.group(1)), content_type="application/javascript")

    with browser(1500, 900) as page:
        page.route("https://**/*", answer)
        page.goto(index.as_uri())
        page.wait_for_function(
            "() => document.querySelectorAll('img').length === 0 || "
            "[...document.querySelectorAll('img')].every((i) => i.complete && i.naturalWidth)"
        )
        if "vega" in index.read_text():
            try:
                page.locator("svg.marks, canvas.marks").first.wait_for(timeout=30_000)
            except Exception:  # noqa: BLE001 - no npm: the PNG plots still render
                log("vega plots did not render (npm unavailable?); PNG plots only")
            for toggle in page.locator("input[type=checkbox]").all():  # showValues
                toggle.check()
        page.wait_for_timeout(1000)
        save(page, "dvc_plots.png", full_page=True)


def dashboard_copy() -> None:
    source = ROOT / "reports" / "screenshots" / "dashboard.png"
    if not source.exists():
        raise SystemExit(f"{source} missing: run `pytest tests/browser` first")
    OUT.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, OUT / "dashboard.png")
    log(f"copied {source.relative_to(ROOT)} -> docs/screenshots/dashboard.png")


VIEWS = {
    "mlflow": lambda port: mlflow_views(port or free_port()),
    "dvc-exp": lambda port: dvc_exp_view(),
    "dvc-plots": lambda port: dvc_plots_view(),
    "dashboard": lambda port: dashboard_copy(),
}
DEFAULT_VIEWS = ("mlflow", "dvc-exp", "dvc-plots")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("views", nargs="*", metavar="VIEW", help=f"any of {', '.join(VIEWS)}")
    parser.add_argument("--port", type=int, default=0, help="mlflow ui port (default: a free one)")
    args = parser.parse_args(argv)
    unknown = set(args.views) - set(VIEWS)
    if unknown:
        parser.error(f"unknown view(s) {sorted(unknown)}; choose from {list(VIEWS)}")
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"{CHROMIUM} missing: apt-get install -y chromium chromium-driver")
    for view in args.views or DEFAULT_VIEWS:
        VIEWS[view](args.port)


if __name__ == "__main__":
    main()
