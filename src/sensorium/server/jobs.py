"""Index jobs: ``lib.index`` in a background thread, one at a time, observable and cancellable.

One at a time because two runs over one library would race on the same files rows and
encoders for no gain. Cancelling sets a flag that the progress callback turns into an
exception at the next file boundary: files already written stay indexed, the file being
read is redone by the next run (ingest only marks a file done after its records are written).
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sensorium.errors import SensoriumError
from sensorium.eta import Estimate

if TYPE_CHECKING:
    from sensorium.library import Library

log = logging.getLogger(__name__)
KEEP_JOBS = 50  # finished jobs remembered for GET /api/jobs/{id}


class JobCancelled(SensoriumError):
    """Raised by the progress callback once a job is cancelled.

    A SensoriumError so that ingest re-raises it instead of recording the current file as
    failed (it catches other exceptions per file).
    """


class JobBusy(SensoriumError):
    """Another index job is still running."""


@dataclass
class Job:
    """What GET /api/jobs/{id} shows."""

    id: str
    paths: list[str]
    state: str = "running"
    done: int = 0
    progress: float = 0.0  # files done, plus the share read of a long file being indexed
    total: int = 0
    share: float = 0.0  # of the run's estimated work done (files weighed by kind and size)
    seconds_left: float | None = None  # estimated; None until there is time measured to go by
    current: str = ""
    report: dict[str, Any] | None = None
    error: str | None = None
    started: float = field(default_factory=time.time)
    cancel: threading.Event = field(default_factory=threading.Event)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "state": self.state,
            "done": self.done,
            "progress": round(self.progress, 4),
            "total": self.total,
            "share": round(self.share, 4),
            "seconds_left": None if self.seconds_left is None else round(self.seconds_left, 1),
            "current": self.current,
            "report": self.report,
            "error": self.error,
        }


class Jobs:
    """Starts, tracks and cancels index jobs on one library.

    ``warm`` runs in the job's thread before indexing, under the server's model lock, so the
    job never builds an encoder or opens the store while a query does the same.
    ``on_change`` is called after each file and at the end (the server drops its cache of
    indexed paths then).
    """

    def __init__(self, lib: Library, *, warm: Callable[[], None], on_change: Callable[[], None] = lambda: None) -> None:
        self.lib = lib
        self.warm = warm
        self.on_change = on_change
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def start(self, paths: Sequence[str], *, prune: bool = False) -> Job:
        """Start indexing ``paths`` in the background.

        Raises:
            JobBusy: a job is running.
        """
        with self._lock:
            running = next((j for j in self._jobs.values() if j.state == "running"), None)
            if running is not None:
                raise JobBusy(f"index job {running.id}: still running; wait for it or cancel it first")
            job = Job(id=secrets.token_hex(6), paths=list(paths))
            self._jobs[job.id] = job
            finished = [j for j in self._jobs.values() if j.state != "running"]
            for old in sorted(finished, key=lambda j: j.started)[:-KEEP_JOBS]:
                del self._jobs[old.id]
        thread = threading.Thread(target=self._run, args=(job, prune), name=f"index-{job.id}", daemon=True)
        thread.start()
        return job

    def cancel(self, job_id: str) -> Job | None:
        """Ask a running job to stop at the next file; finished jobs are returned unchanged."""
        job = self.get(job_id)
        if job is not None and job.state == "running":
            job.cancel.set()
        return job

    def _run(self, job: Job, prune: bool) -> None:
        def on_progress(done: float, total: int, path: str, estimate: Estimate | None = None) -> None:
            job.done, job.progress, job.total, job.current = int(done), done, total, path
            if estimate is not None:  # hub spaces being filled count files alone
                job.share, job.seconds_left = estimate.share, estimate.seconds_left
            self.on_change()
            if job.cancel.is_set():
                raise JobCancelled(f"index job {job.id}: cancelled")

        try:
            self.warm()
            report = self.lib.index(job.paths, prune=prune, on_progress=on_progress)
        except JobCancelled:
            self._settle()
            job.state = "cancelled"
        except SensoriumError as exc:
            job.state, job.error = "failed", str(exc)
        except Exception as exc:
            log.exception("index job %s failed", job.id)
            job.state, job.error = "failed", f"internal error ({type(exc).__name__}: {exc}); see the server log"
        else:
            job.report = report.to_json()
            job.state = "done"
        finally:
            self.on_change()

    def _settle(self) -> None:
        """After a cancel: what was written gets the same upkeep a finished run gives it."""
        try:
            self.lib.store().optimize()
            self.lib.record_encoders()
        except Exception:
            log.warning("tidying up after a cancelled index job failed", exc_info=True)
