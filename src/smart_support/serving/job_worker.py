"""Background worker for async jobs: claim atomically, route idempotently, complete once."""

from __future__ import annotations

import logging
import threading
import uuid

from pydantic import ValidationError

from smart_support.serving.api_models import TicketIn
from smart_support.serving.jobs import OWNER_KEY, JobQueue
from smart_support.serving.polling import poll_forever
from smart_support.serving.ticket_service import InputError, TicketService

log = logging.getLogger(__name__)


class JobWorker:
    def __init__(
        self, jobs: JobQueue, service: TicketService, poll_interval_s: float = 0.2
    ) -> None:
        self.jobs = jobs
        self.service = service
        self.poll_interval_s = poll_interval_s
        self.worker_id = f"worker-{uuid.uuid4().hex[:8]}"
        self._stop = threading.Event()

    def run_once(self) -> bool:
        """Process one queued job; False when there was none (or routing failed: back off)."""
        job = self.jobs.claim_job(self.worker_id)
        if job is None:
            return False
        try:
            fields = {k: v for k, v in (job.payload or {}).items() if k != OWNER_KEY}
            ticket = TicketIn.model_validate(fields)
            # The job id is the ticket id: a job re-run after a crash finds its routing stored.
            result = self.service.route([ticket], ticket_ids=[job.job_id])[0]
        except (ValidationError, InputError) as exc:
            self.jobs.fail_job(job.job_id, str(exc))
        except Exception:  # noqa: BLE001 - e.g. the classifier is restarting or shutting down
            # Not the ticket's fault: treat it like a crash. The job stays leased and is claimed
            # again when the lease expires (here or after a restart); after `max_attempts` leases
            # the store marks it failed. Failing it now would lose every job still queued while
            # the server shuts down (SIGTERM stops the classifier before this loop).
            log.exception("job %s: routing failed; it is retried after its lease", job.job_id)
            return False
        else:
            self.jobs.complete_job(job.job_id, result)
        return True

    def drain(self) -> int:
        """Process jobs until none is queued (tests); returns how many ran."""
        count = 0
        while self.run_once():
            count += 1
        return count

    async def run_forever(self) -> None:
        """Poll for jobs until stopped, each in a worker thread (CPU work off the event loop);
        a running job whose pass failed is re-claimed after its lease."""
        await poll_forever(self.run_once, self._stop, self.poll_interval_s, self.worker_id)

    def stop(self) -> None:
        self._stop.set()
