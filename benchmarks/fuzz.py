"""Fuzz the HTTP API from its own OpenAPI document with schemathesis (`make fuzz`).

    python -m benchmarks.fuzz [--examples 200] [--url http://127.0.0.1:3000]

For every operation in /docs.json, `examples` generated requests (valid ones, then ones that
break the schema); each response must not be a 5xx and must match the documented schema.
Admin and UI routes are left out (fault injection; static files). Writes
benchmarks/results/fuzz.json; exit status 1 when any check failed.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import Any

SKIP_PATHS = ("/admin", "/ui", "/metrics", "/livez", "/readyz", "/healthz")


def fuzz_operation(
    operation: Any, url: str, examples: int, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    """`examples` generated requests (valid and schema-breaking) against one operation."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
    from schemathesis.checks import not_a_server_error
    from schemathesis.generation import GenerationMode
    from schemathesis.specs.openapi.checks import response_schema_conformance

    failures: list[str] = []
    count = 0
    strategy = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    )

    @given(case=strategy)
    @settings(
        max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    def run(case: Any) -> None:
        nonlocal count
        count += 1
        try:
            case.call_and_validate(
                base_url=url,
                checks=[not_a_server_error, response_schema_conformance],
                headers=headers,
                timeout=30,
            )
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - reported at the end
            if len(failures) < 5:
                failures.append(f"{type(exc).__name__}: {str(exc)[:600]}")

    start = time.perf_counter()
    run()
    return {
        "examples": count,
        "failures": failures,
        "seconds": round(time.perf_counter() - start, 1),
    }


def fuzz(url: str, examples: int, api_key: str | None = None) -> dict[str, Any]:
    """Every operation of /docs.json; `api_key` is sent as a Bearer token (an admin key reaches
    every endpoint)."""
    import schemathesis

    schema = schemathesis.openapi.from_url(f"{url}/docs.json")
    results: dict[str, Any] = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path.startswith(SKIP_PATHS):
            continue
        name = f"{operation.method.upper()} {operation.path}"
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else None
        results[name] = fuzz_operation(operation, url, examples, headers)
        print(
            f"{name}: {results[name]['examples']} examples, {len(results[name]['failures'])} failures"
        )
    return results


def run_fuzz(examples: int, url: str | None = None, api_key: str | None = None) -> dict[str, Any]:
    """Against `url`, or a fresh `bentoml serve` with an empty store when `url` is None."""
    if url:
        return fuzz(url, examples, api_key)
    from tests.local_server import LocalServer

    with tempfile.TemporaryDirectory() as tmp:
        env = {"SMART_SUPPORT_STORE": str(Path(tmp) / "state.db")}
        with LocalServer(env=env, log_path=Path(tmp) / "serve.log") as server:
            return fuzz(server.url, examples)


def main(argv: list[str] | None = None) -> int:
    from benchmarks.common import write_json

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=200, help="per operation")
    parser.add_argument("--url", help="an already running service (default: start one)")
    parser.add_argument(
        "--api-key", default=os.environ.get("SMART_SUPPORT_API_KEY"), help="an admin key"
    )
    args = parser.parse_args(argv)
    results = run_fuzz(args.examples, args.url, args.api_key)
    failed = {name: r["failures"] for name, r in results.items() if r["failures"]}
    summary = {"examples_per_operation": args.examples, "operations": results, "passed": not failed}
    print(write_json("fuzz.json", summary))
    for name, failures in failed.items():
        print(f"FAILED {name}:\n  " + "\n  ".join(failures))
    print("PASS" if not failed else "FAIL")
    return 0 if not failed else 1


if __name__ == "__main__":
    raise SystemExit(main())
