"""Load test against `bentoml serve` on loopback (`make loadtest`; a short run is an e2e test).

    python -m benchmarks.loadtest [--duration 60] [--rate 5]

An open-loop asyncio/httpx driver sends requests at a fixed rate for a bounded time, mixing
POST /route (70 %), POST /route/async (15 %) and POST /route/batch of 5 (15 %), with synthetic,
deliberately unrelated background tickets (random words, never real data). A third of the way
in, 14 close paraphrases of one checkout outage arrive within a few seconds.
GET /agents is polled throughout. Pass conditions (exit status 1 when any fails): no 5xx, every
async job done, no agent ever above capacity, exactly one incident, /stats total == tickets
sent. Writes benchmarks/results/loadtest.json.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from benchmarks.common import percentiles, write_json

# One outage told 14 times in close paraphrase (a tight flood: more than 10 within 5 minutes).
FLOOD = tuple(
    (
        f"Checkout: payment gateway timeout ({subject})",
        f"Since this morning the checkout page shows 'payment gateway timeout' {detail}.",
    )
    for subject, detail in [
        ("Checkout broken", "and no order goes through"),
        ("Cannot pay", "when I try to pay for my order"),
        ("Payment gateway timeout", "for every customer in our shop"),
        ("Checkout fails", "after I enter my card details"),
        ("Orders failing", "so our customers cannot complete orders"),
        ("Checkout down", "on desktop and on mobile"),
        ("Payment error", "whenever anyone tries to check out"),
        ("Gateway timeout at checkout", "and the payment never completes"),
        ("URGENT checkout outage", "and we are losing sales"),
        ("Checkout not working", "for all payment methods"),
        ("Payments timing out", "right after clicking pay now"),
        ("Shop checkout error", "for all of our users"),
        ("Checkout timeout", "again and again, in every browser"),
        ("Cannot complete purchase", "at the last step of checkout"),
    ]
)

WORDS = re.findall(
    r"\w+",
    "invoice refund contract printer laptop warehouse shipment pallet license audit payroll "
    "vacation badge parking elevator coffee catering garden tractor violin passport visa "
    "mortgage insurance dentist bicycle helmet umbrella sofa curtain carpet paint ladder "
    "microscope telescope satellite antenna harbour ferry glacier volcano desert orchard "
    "vineyard bakery butcher tailor jeweller locksmith plumber electrician surveyor notary "
    "trademark patent copyright subpoena lawsuit arbitration tender procurement budget "
    "spreadsheet calendar newsletter webinar brochure catalogue voucher coupon loyalty "
    "subscription membership donation sponsorship scholarship tuition textbook library "
    "museum theatre stadium concert festival exhibition gallery sculpture poetry novel "
    "recipe vitamin allergy pharmacy vaccine thermometer bandage stretcher ambulance "
    "firmware router keyboard monitor headset webcam scanner projector battery charger",
)


def background_ticket(rng: random.Random) -> dict[str, str]:
    """A ticket about random, unrelated things: background traffic must not form incidents."""
    words = rng.sample(WORDS, 10)
    return {
        "subject": f"{words[0].capitalize()} {words[1]} question {rng.randint(1, 99999)}",
        "body": f"Regarding the {words[2]} and the {words[3]}: "
        + " ".join(words[4:])
        + f". Reference {rng.randint(1000, 999999)}.",
    }


class Driver:
    def __init__(
        self, url: str, duration_s: float, rate: float, seed: int = 0, api_key: str | None = None
    ) -> None:
        self.url = url
        self.headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.duration_s = duration_s
        self.rate = rate
        self.rng = random.Random(seed)
        self.tickets_sent = 0
        self.status: Counter[str] = Counter()
        self.latency_ms: dict[str, list[float]] = {"route": [], "async": [], "batch": []}
        self.job_ids: list[str] = []
        self.over_capacity: list[dict[str, Any]] = []
        self.agent_polls = 0
        self.failures: list[str] = []

    async def _post(self, http: httpx.AsyncClient, kind: str, path: str, body: dict) -> Any:
        start = time.perf_counter()
        try:
            response = await http.post(path, json=body)
        except httpx.HTTPError as exc:
            self.status[f"{kind}:{type(exc).__name__}"] += 1
            return None
        self.latency_ms[kind].append(1000 * (time.perf_counter() - start))
        self.status[f"{kind}:{response.status_code}"] += 1
        return response

    async def one(self, http: httpx.AsyncClient) -> None:
        draw = self.rng.random()
        if draw < 0.70:
            self.tickets_sent += 1
            await self._post(http, "route", "/route", background_ticket(self.rng))
        elif draw < 0.85:
            self.tickets_sent += 1
            response = await self._post(http, "async", "/route/async", background_ticket(self.rng))
            if response is not None and response.status_code == 202:
                self.job_ids.append(response.json()["job_id"])
        else:
            tickets = [background_ticket(self.rng) for _ in range(5)]
            self.tickets_sent += len(tickets)
            await self._post(http, "batch", "/route/batch", {"tickets": tickets})

    async def flood(self, http: httpx.AsyncClient) -> None:
        """All paraphrases of one outage within a few seconds (well inside the 5-minute window)."""
        for subject, body in FLOOD:
            self.tickets_sent += 1
            await self._post(http, "route", "/route", {"subject": subject, "body": body})
            await asyncio.sleep(0.2)

    async def watch_agents(self, http: httpx.AsyncClient, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                agents = (await http.get("/agents")).json()["agents"]
            except (httpx.HTTPError, ValueError, KeyError):
                self.status["agents:error"] += 1
            else:
                self.agent_polls += 1
                self.over_capacity += [a for a in agents if a["load"] > a["capacity"]]
            await asyncio.sleep(0.5)

    async def run(self) -> None:
        limits = httpx.Limits(max_connections=64)
        async with httpx.AsyncClient(
            base_url=self.url, timeout=60, limits=limits, headers=self.headers
        ) as http:
            stop = asyncio.Event()
            watcher = asyncio.create_task(self.watch_agents(http, stop))
            tasks = []
            start = time.monotonic()
            flood_at, flooded, sent = self.duration_s / 3, False, 0
            while (elapsed := time.monotonic() - start) < self.duration_s:
                if not flooded and elapsed >= flood_at:
                    tasks.append(asyncio.create_task(self.flood(http)))
                    flooded = True
                while sent < elapsed * self.rate:  # open loop: the schedule does not wait
                    tasks.append(asyncio.create_task(self.one(http)))
                    sent += 1
                await asyncio.sleep(0.01)
            await asyncio.gather(*tasks)
            await self.wait_for_jobs(http)
            stop.set()
            await watcher
            await self.check(http)

    async def wait_for_jobs(self, http: httpx.AsyncClient, timeout_s: float = 120) -> None:
        pending = set(self.job_ids)
        deadline = time.monotonic() + timeout_s
        while pending and time.monotonic() < deadline:
            for job_id in list(pending):
                job = (await http.get(f"/route/async/{job_id}")).json()
                if job["status"] == "done":
                    pending.discard(job_id)
                elif job["status"] == "failed":
                    self.failures.append(f"job {job_id} failed: {job.get('error')}")
                    pending.discard(job_id)
            if pending:
                await asyncio.sleep(0.3)
        if pending:
            self.failures.append(f"{len(pending)} async jobs not done after {timeout_s:.0f} s")

    async def check(self, http: httpx.AsyncClient) -> None:
        errors = {k: v for k, v in self.status.items() if not k.split(":")[1].startswith("2")}
        if errors:
            self.failures.append(f"non-2xx responses or transport errors: {errors}")
        if self.over_capacity:
            self.failures.append(f"agent above capacity: {self.over_capacity[:3]}")
        incidents = (await http.get("/incidents")).json()["incidents"]
        if len(incidents) != 1:
            self.failures.append(f"expected exactly 1 incident, found {len(incidents)}")
        self.incidents = incidents
        total = (await http.get("/stats")).json()["total_tickets"]
        self.stats_total = total
        if total != self.tickets_sent:
            self.failures.append(f"/stats total_tickets {total} != {self.tickets_sent} sent")

    def summary(self) -> dict[str, Any]:
        return {
            "duration_s": self.duration_s,
            "rate_per_s": self.rate,
            "tickets_sent": self.tickets_sent,
            "stats_total": getattr(self, "stats_total", None),
            "responses": dict(self.status),
            "latency": {k: percentiles(v) for k, v in self.latency_ms.items() if v},
            "async_jobs": len(self.job_ids),
            "agent_polls": self.agent_polls,
            "incidents": len(getattr(self, "incidents", [])),
            "passed": not self.failures,
            "failures": self.failures,
        }


def run_loadtest(
    duration_s: float,
    rate: float,
    url: str | None = None,
    seed: int = 0,
    api_key: str | None = None,
) -> dict[str, Any]:
    """Against `url`, or a fresh `bentoml serve` with an empty store when `url` is None."""
    if url:
        driver = Driver(url, duration_s, rate, seed, api_key)
        asyncio.run(driver.run())
        return driver.summary()
    from smart_support.serving.local_server import LocalServer

    with tempfile.TemporaryDirectory() as tmp:
        env = {"SMART_SUPPORT_STORE": str(Path(tmp) / "state.db")}
        with LocalServer(env=env, log_path=Path(tmp) / "serve.log") as server:
            return run_loadtest(duration_s, rate, server.url, seed)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of traffic")
    parser.add_argument("--rate", type=float, default=5.0, help="requests per second")
    parser.add_argument("--url", help="an already running service (default: start one)")
    parser.add_argument(
        "--api-key", default=os.environ.get("SMART_SUPPORT_API_KEY"), help="an admin key"
    )
    args = parser.parse_args(argv)
    summary = run_loadtest(args.duration, args.rate, args.url, api_key=args.api_key)
    print(write_json("loadtest.json", summary))
    for key in ("tickets_sent", "stats_total", "responses", "latency", "incidents", "failures"):
        print(f"{key}: {summary[key]}")
    print("PASS" if summary["passed"] else "FAIL")
    return 0 if summary["passed"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
