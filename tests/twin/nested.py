"""Nested CodeBuild builds that take time: moto ends every build SUCCEEDED at the first
BatchGetBuilds; a slow one here waits QUEUED, runs IN_PROGRESS, and ends as CodeBuild ends
it — SUCCEEDED, TIMED_OUT past its project's timeoutInMinutes (or the StartBuild's
timeoutInMinutesOverride; 60 when the project gives none), or STOPPED by StopBuild.

The phases a build goes through, SUBMITTED, QUEUED, then PROVISIONING ... BUILD ...
COMPLETED, are those of "View build details"
(https://docs.aws.amazon.com/codebuild/latest/userguide/view-build-details.html); the
project's timeoutInMinutes, "how long ... for CodeBuild to wait before it times out any
build that has not been marked as completed" (https://docs.aws.amazon.com/codebuild/latest/
APIReference/API_CreateProject.html), counts from the end of the queue (the queue has its
own, queuedTimeoutInMinutes). A build minute lasts `minute` real seconds, so that tests can
run builds of hours in a second.
"""

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

DEFAULT_TIMEOUT_MINUTES = 60
RUN_PHASES = ("PROVISIONING", "DOWNLOAD_SOURCE", "INSTALL", "PRE_BUILD", "BUILD")
END_PHASES = ("POST_BUILD", "UPLOAD_ARTIFACTS", "FINALIZING")


@dataclass
class Nested:
    id: str
    started: float  # time.monotonic()
    minutes: float  # how long its buildspec takes, in build minutes
    timeout_minutes: float
    on_success: Callable[[], None]  # what the buildspec leaves behind (the image pushed)
    stopped_at: float | None = None
    succeeded: bool = False


@dataclass
class NestedBuilds:
    minute: float = 60.0  # real seconds per build minute
    queued_minutes: float = 1.0
    slow_minutes: float = 90.0  # how long a build the fault `nested-build-slow` makes takes
    builds: dict[str, Nested] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(
        self,
        build_id: str,
        project: dict[str, Any],
        params: dict[str, Any],
        on_success: Callable[[], None],
    ) -> None:
        timeout = (
            params.get("timeoutInMinutesOverride")
            or project.get("timeoutInMinutes")
            or DEFAULT_TIMEOUT_MINUTES
        )
        with self.lock:
            self.builds[build_id] = Nested(
                build_id, time.monotonic(), self.slow_minutes, float(timeout), on_success
            )

    def stop(self, build_id: str) -> None:
        with self.lock:
            nested = self.builds.get(build_id)
        if nested is not None and self._state(nested)[0] == "IN_PROGRESS":
            nested.stopped_at = time.monotonic()

    def _state(self, nested: Nested) -> tuple[str, str, float]:
        """(buildStatus, currentPhase, build minutes past the queue) now."""
        end = nested.stopped_at if nested.stopped_at is not None else time.monotonic()
        elapsed = (end - nested.started) / self.minute
        running = elapsed - self.queued_minutes
        if nested.stopped_at is not None:
            return "STOPPED", "COMPLETED", max(running, 0.0)
        if running < 0:
            return "IN_PROGRESS", "QUEUED", 0.0
        if nested.minutes > nested.timeout_minutes and running >= nested.timeout_minutes:
            return "TIMED_OUT", "COMPLETED", nested.timeout_minutes
        if running >= nested.minutes:
            return "SUCCEEDED", "COMPLETED", nested.minutes
        return "IN_PROGRESS", "BUILD", running

    def rewrite(self, build: dict[str, Any]) -> None:
        """Put the build's state now into moto's description of it (in place)."""
        with self.lock:
            nested = self.builds.get(build["id"])
        if nested is None:
            return
        status, phase, _ = self._state(nested)
        if status == "SUCCEEDED" and not nested.succeeded:
            nested.succeeded = True
            nested.on_success()
        build["buildStatus"] = status
        build["currentPhase"] = phase
        build["buildComplete"] = phase == "COMPLETED"
        build["timeoutInMinutes"] = int(nested.timeout_minutes)
        build["phases"] = _phases(status, phase)


def _phases(status: str, current: str) -> list[dict[str, Any]]:
    phases = [{"phaseType": "SUBMITTED", "phaseStatus": "SUCCEEDED"}]
    if current == "QUEUED":
        return [*phases, {"phaseType": "QUEUED"}]  # no status while it is current
    phases.append({"phaseType": "QUEUED", "phaseStatus": "SUCCEEDED"})
    if status == "IN_PROGRESS":
        done = [{"phaseType": p, "phaseStatus": "SUCCEEDED"} for p in RUN_PHASES[:-1]]
        return [*phases, *done, {"phaseType": "BUILD"}]
    build_status = "SUCCEEDED" if status == "SUCCEEDED" else status
    phases += [{"phaseType": p, "phaseStatus": "SUCCEEDED"} for p in RUN_PHASES[:-1]]
    phases.append({"phaseType": "BUILD", "phaseStatus": build_status})
    if status == "SUCCEEDED":
        phases += [{"phaseType": p, "phaseStatus": "SUCCEEDED"} for p in END_PHASES]
    return [*phases, {"phaseType": "COMPLETED"}]
