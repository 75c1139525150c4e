"""What CodeBuild refuses, or fails, before a build's commands run: runtime-versions the
image does not have, and builds past the account's concurrency and queue quotas."""

import re
import threading
from typing import Any

# The runtimes each standard image the stack may use has, from "Available runtimes"
# (https://docs.aws.amazon.com/codebuild/latest/userguide/available-runtimes.html; the
# images are those of "Docker images provided by CodeBuild", build-env-ref-available.html)
# and the images' own ubuntu/standard/<version>/runtimes.yml, which is what CodeBuild reads
# runtime-versions against (github.com/aws/aws-codebuild-docker-images, release 26.03.25,
# commit 0c5eb16: the table below is those files, version for version). nodejs 24 joined
# standard:7.0 in that release (Node.js 24.14.0, which the generator's engines >=24.11.1
# accepts); before it, Node.js 24 was in the image but not in its runtimes.yml, so
# runtime-versions could not select it (aws-codebuild-docker-images issue 803, fixed by pull
# request 810). A runtime the image lacks, or a version of it that is not listed, fails the
# build in DOWNLOAD_SOURCE with YAML_FILE_ERROR.
RUNTIMES: dict[str, dict[str, tuple[str, ...]]] = {
    "aws/codebuild/standard:7.0": {
        "dotnet": ("6.0", "8.0", "10.0"),
        "golang": ("1.20", "1.21", "1.22", "1.23", "1.24", "1.25", "1.26"),
        "java": ("corretto8", "corretto11", "corretto17", "corretto21", "corretto25"),
        "nodejs": ("18", "20", "22", "24"),
        "php": ("8.2", "8.3", "8.4", "8.5"),
        "python": ("3.9", "3.10", "3.11", "3.12", "3.13", "3.14"),
        "ruby": ("3.1", "3.2", "3.3", "3.4", "4.0"),
    },
    "aws/codebuild/standard:8.0": {
        "dotnet": ("8.0", "10.0"),
        "golang": ("1.24", "1.25", "1.26"),
        "java": ("corretto8", "corretto11", "corretto17", "corretto21", "corretto25"),
        "nodejs": ("22", "24"),
        "php": ("8.2", "8.3", "8.4", "8.5"),
        "python": ("3.10", "3.11", "3.12", "3.13", "3.14"),
        "ruby": ("3.3", "3.4", "4.0"),
        "rust": ("1.93",),
    },
}
# "Runtime versions" (https://docs.aws.amazon.com/codebuild/latest/userguide/
# runtime-versions.html): a specific version, `<major>.x` (its latest minor) or `latest`;
# a full major.minor.patch version is a custom runtime version, installed at build time.
_CUSTOM = re.compile(r"^\d+\.\d+\.\d+$")


def _version(value: Any) -> str:
    # YAML reads `python: 3.10` as the float 3.1; CodeBuild reads the text as written, which
    # a float cannot give back: the buildspecs here quote their versions
    return str(value)


def _accepted(asked: str, versions: tuple[str, ...]) -> bool:
    if asked == "latest" or asked in versions or _CUSTOM.match(asked):
        return True
    if asked.endswith(".x"):
        major = asked[: -len(".x")]
        return any(v == major or v.startswith(major + ".") for v in versions)
    return False


def runtime_problem(image: str, spec: dict[str, Any]) -> str | None:
    """The YAML_FILE_ERROR message CodeBuild gives for `spec`'s runtime-versions on `image`,
    or None. Images not in RUNTIMES (custom images) take no runtime selection: unchecked."""
    runtimes = RUNTIMES.get(image)
    install = ((spec.get("phases") or {}).get("install")) or {}
    asked = install.get("runtime-versions") or {}
    if runtimes is None:
        return None
    for name, value in asked.items():
        version = _version(value)
        if name not in runtimes:
            known = ", ".join(sorted(runtimes))
            return (
                f"Unknown runtime named '{name}'. This build image has the following "
                f"runtimes: {known}"
            )
        if not _accepted(version, runtimes[name]):
            return (
                f"Unknown runtime version named '{version}' of {name}. This build image has "
                f"the following versions: {', '.join(runtimes[name])}"
            )
    return None


class AccountLimitExceeded(Exception):
    """StartBuild refused: the account's build queue is full (AccountLimitExceededException)."""


class Admission:
    """The account's concurrent build quota and its queue ("Builds in AWS CodeBuild",
    https://docs.aws.amazon.com/codebuild/latest/userguide/builds-working.html): past the
    concurrent build limit builds wait QUEUED; the queue holds at most five times that
    limit, and past it StartBuild is refused. `concurrent_limit` None: no limit."""

    def __init__(self) -> None:
        self.concurrent_limit: int | None = None
        self.queue_limit: int | None = None  # None: five times the concurrent limit
        self.running = 0
        self.queued = 0
        self._cond = threading.Condition()

    def enter(self) -> bool:
        """Take a running slot now (True), or a place in the queue (False)."""
        with self._cond:
            limit = self.concurrent_limit
            if limit is None or self.running < limit:
                self.running += 1
                return True
            cap = self.queue_limit if self.queue_limit is not None else 5 * limit
            if self.queued >= cap:
                raise AccountLimitExceeded(
                    f"Cannot have more than {cap} builds in queue for the account"
                )
            self.queued += 1
            return False

    def wait_turn(self, given_up: threading.Event) -> bool:
        """For a queued build: wait until a slot is free, then take it (True); False when
        `given_up` is set first (the build was stopped while queued)."""
        with self._cond:
            while not given_up.is_set():
                limit = self.concurrent_limit
                if limit is None or self.running < limit:
                    self.queued -= 1
                    self.running += 1
                    return True
                self._cond.wait(0.05)
            self.queued -= 1
            return False

    def leave(self) -> None:
        with self._cond:
            self.running -= 1
            self._cond.notify_all()
