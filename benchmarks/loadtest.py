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
from collections.abc import Callable, Sequence
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
    """Sends the traffic to one replica, or to several in turn (as a round-robin load balancer
    would). A replica that stops answering (a transport error) gets no more requests; the
    tickets of requests that never got an answer are kept in `unanswered` (a killed replica may
    or may not have stored them) and are not counted as sent."""

    def __init__(
        self,
        urls: str | Sequence[str],
        duration_s: float,
        rate: float,
        seed: int = 0,
        flood: Sequence[tuple[str, str]] = FLOOD,
        api_key: str | None = None,
    ) -> None:
        self.urls = [urls] if isinstance(urls, str) else list(urls)
        self.live = list(self.urls)
        self.headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.duration_s = duration_s
        self.rate = rate
        self.rng = random.Random(seed)
        self.flood_tickets = tuple(flood)
        self.tickets_sent = 0
        self.unanswered: list[dict[str, str]] = []
        self.by_replica: dict[str, Counter[str]] = {url: Counter() for url in self.urls}
        self._turn = 0
        self.status: Counter[str] = Counter()
        self.latency_ms: dict[str, list[float]] = {"route": [], "async": [], "batch": []}
        self.job_ids: list[str] = []
        self.over_capacity: list[dict[str, Any]] = []
        self.agent_polls = 0
        self.failures: list[str] = []

    def next_replica(self) -> str:
        self._turn += 1
        return self.live[self._turn % len(self.live)]

    async def _post(
        self, http: httpx.AsyncClient, kind: str, path: str, tickets: list[dict[str, str]]
    ) -> Any:
        url = self.next_replica()
        body: dict[str, Any] = {"tickets": tickets} if kind == "batch" else tickets[0]
        start = time.perf_counter()
        try:
            response = await http.post(f"{url}{path}", json=body)
        except httpx.HTTPError as exc:
            self.status[f"{kind}:{type(exc).__name__}"] += 1
            self.by_replica[url][type(exc).__name__] += 1
            self.unanswered += tickets
            if url in self.live and len(self.live) > 1:
                self.live.remove(url)  # a load balancer takes it out of rotation
            return None
        self.latency_ms[kind].append(1000 * (time.perf_counter() - start))
        self.status[f"{kind}:{response.status_code}"] += 1
        self.by_replica[url][str(response.status_code)] += 1
        self.tickets_sent += len(tickets)
        return response

    async def one(self, http: httpx.AsyncClient) -> None:
        draw = self.rng.random()
        if draw < 0.70:
            await self._post(http, "route", "/route", [background_ticket(self.rng)])
        elif draw < 0.85:
            response = await self._post(
                http, "async", "/route/async", [background_ticket(self.rng)]
            )
            if response is not None and response.status_code == 202:
                self.job_ids.append(response.json()["job_id"])
        else:
            tickets = [background_ticket(self.rng) for _ in range(5)]
            await self._post(http, "batch", "/route/batch", tickets)

    async def flood(self, http: httpx.AsyncClient) -> None:
        """Every ticket of one outage within a few seconds (well inside the 5-minute window)."""
        for subject, body in self.flood_tickets:
            await self._post(http, "route", "/route", [{"subject": subject, "body": body}])
            await asyncio.sleep(0.2)

    async def watch_agents(self, http: httpx.AsyncClient, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                agents = (await http.get(f"{self.next_replica()}/agents")).json()["agents"]
            except (httpx.HTTPError, ValueError, KeyError):
                self.status["agents:error"] += 1
            else:
                self.agent_polls += 1
                self.over_capacity += [a for a in agents if a["load"] > a["capacity"]]
            await asyncio.sleep(0.5)

    async def run(self, events: Sequence[tuple[float, Callable[[], Any]]] = ()) -> None:
        """`events`: (seconds into the run, action) pairs, each run in a thread at its time
        (e.g. killing a replica mid-load)."""
        limits = httpx.Limits(max_connections=64)
        async with httpx.AsyncClient(timeout=60, limits=limits, headers=self.headers) as http:
            stop = asyncio.Event()
            watcher = asyncio.create_task(self.watch_agents(http, stop))
            tasks = []
            start = time.monotonic()
            flood_at, flooded, sent = self.duration_s / 3, False, 0
            pending_events = sorted(events, key=lambda e: e[0])
            while (elapsed := time.monotonic() - start) < self.duration_s:
                while pending_events and elapsed >= pending_events[0][0]:
                    tasks.append(asyncio.create_task(asyncio.to_thread(pending_events.pop(0)[1])))
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
                job = (await http.get(f"{self.next_replica()}/route/async/{job_id}")).json()
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
        """Pass conditions. A replica taken out of rotation (it stopped answering) is judged
        only on the answers it gave; every replica still live must have answered everything."""
        for url, counts in self.by_replica.items():
            bad = {k: v for k, v in counts.items() if not k.startswith("2")}
            if url not in self.live:
                bad = {k: v for k, v in bad.items() if k.isdigit()}
            if bad:
                self.failures.append(f"non-2xx answers or transport errors from {url}: {bad}")
        if self.over_capacity:
            self.failures.append(f"agent above capacity: {self.over_capacity[:3]}")
        incidents = (await http.get(f"{self.next_replica()}/incidents")).json()["incidents"]
        if len(incidents) != 1:
            self.failures.append(f"expected exactly 1 incident, found {len(incidents)}")
        self.incidents = incidents
        totals = [(await http.get(f"{url}/stats")).json()["total_tickets"] for url in self.live]
        self.stats_total = total = totals[0]
        if len(set(totals)) > 1:
            self.failures.append(f"/stats total_tickets differ between replicas: {totals}")
        # A ticket whose request got no answer may or may not have been stored before its
        # replica died; the caller can look for them (`unanswered`).
        if not self.tickets_sent <= total <= self.tickets_sent + len(self.unanswered):
            self.failures.append(
                f"/stats total_tickets {total} != {self.tickets_sent} answered"
                + (f" (+ up to {len(self.unanswered)} unanswered)" if self.unanswered else "")
            )

    def summary(self) -> dict[str, Any]:
        return {
            "duration_s": self.duration_s,
            "rate_per_s": self.rate,
            "tickets_sent": self.tickets_sent,
            "stats_total": getattr(self, "stats_total", None),
            "responses": dict(self.status),
            "latency": {k: percentiles(v) for k, v in self.latency_ms.items() if v},
            "async_jobs": len(self.job_ids),
            "unanswered": len(self.unanswered),
            "by_replica": {url: dict(counts) for url, counts in self.by_replica.items()},
            "agent_polls": self.agent_polls,
            "incidents": len(getattr(self, "incidents", [])),
            "passed": not self.failures,
            "failures": self.failures,
        }


def run_loadtest(
    duration_s: float,
    rate: float,
    url: str | Sequence[str] | None = None,
    seed: int = 0,
    api_key: str | None = None,
) -> dict[str, Any]:
    """Against `url` (or several replicas' URLs in turn), or a fresh `bentoml serve` with an
    empty store when `url` is None."""
    if url:
        driver = Driver(url, duration_s, rate, seed, api_key=api_key)
        asyncio.run(driver.run())
        return driver.summary()
    from tests.local_server import LocalServer

    with tempfile.TemporaryDirectory() as tmp:
        env = {"SMART_SUPPORT_STORE": str(Path(tmp) / "state.db")}
        with LocalServer(env=env, log_path=Path(tmp) / "serve.log") as server:
            return run_loadtest(duration_s, rate, server.url, seed)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of traffic")
    parser.add_argument("--rate", type=float, default=5.0, help="requests per second")
    parser.add_argument(
        "--url",
        action="append",
        help="an already running service; repeat for replicas (default: start one)",
    )
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
