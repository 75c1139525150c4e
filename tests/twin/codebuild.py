"""The executor project, run as CodeBuild runs it: its buildspec taken from the synthesized
template, its phases in one bash shell (buildspec 0.2), in the environment CodeBuild gives.

Each build gets what a fresh build container has: the source asset the stack ships, a
HOME of its own, a /tmp of its own (a private mount: the generated do/submit writes fixed
/tmp paths), stdin closed, no VIRTUAL_ENV, and a PATH of the image only — never the test's
virtualenv. The image is simulated where this machine cannot be CodeBuild's: its Python
is a fresh interpreter environment whose pip installs from a local wheel folder, its npm
installs offline from a local cache, its Node.js is this machine's (whatever the buildspec's
runtime-versions asks), `aws` is the PyPI CLI, and `docker` is the stand-in in image/docker.py
(only privileged projects get an engine). AWS_ENDPOINT_URL points at the simulated
account. When the build ends, its output goes to the log stream CodeBuild would write.
"""

import contextlib
import itertools
import os
import shlex
import shutil
import signal
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import PYTHON_GUARD
from tests.twin.buildimage import Image, discard, stop_cli_server
from tests.twin.buildrules import Admission, runtime_problem
from tests.twin.hosting import ACCOUNT
from tests.twin.template import REGION, Template

# The keys the executor's builds sign with: calls made with them are the executor role's.
EXECUTOR_KEY = "AKIATWINEXECUTOR0001"
SERVICE_KEY = "AKIATWINCODEBUILD001"  # CodeBuild itself (writing logs)
PHASES = ("install", "pre_build", "build", "post_build")


@dataclass
class Build:
    id: str
    project: str
    stream: str
    log: Path
    work: Path
    proc: subprocess.Popen[bytes] | None = None
    env: dict[str, str] = field(default_factory=dict)
    status: str = "IN_PROGRESS"
    done: threading.Event = field(default_factory=threading.Event)
    # (phaseType, phaseStatus, context) of the phases the twin tells apart: QUEUED, and a
    # DOWNLOAD_SOURCE that failed
    phases: list[tuple[str, str, str]] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)

    @classmethod
    def ended(cls, status: str | None) -> "Build":
        """A build of no project that ends `status` at once (None: never ends), for a state
        machine to be handed."""
        build = cls("tiny:0000", "tiny", "stream", Path("/nonexistent/log"), Path("/nonexistent"))
        if status is not None:
            build.status = status
            build.done.set()
        return build

    @property
    def uuid(self) -> str:
        return self.id.split(":", 1)[1]

    def wait(self, timeout: float | None = None) -> str:
        if not self.done.wait(timeout):
            raise TimeoutError(f"build {self.id} still running after {timeout}s")
        return self.status

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def kill(self) -> None:
        """Stop it outright, as CodeBuild's hard timeout does: the container is gone, with
        everything in it; nothing more runs."""
        self.status = "TIMED_OUT"
        for pid, _ in self.processes():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def stop(self) -> None:
        """StopBuild, which "attempts to stop running a build"
        (https://docs.aws.amazon.com/codebuild/latest/APIReference/API_StopBuild.html;
        https://docs.aws.amazon.com/codebuild/latest/userguide/stop-build.html: a build
        already complete cannot be stopped). It ends STOPPED, its current phase STOPPED, and
        no later phase runs, post_build neither. A queued build leaves the queue unrun."""
        if self.done.is_set():
            return
        self.status = "STOPPED"
        self.stopping.set()
        if self.proc is not None:
            for pid, _ in self.processes():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)

    def processes(self) -> list[tuple[int, str]]:
        """(pid, command line) of every process in the build's container now."""
        assert self.proc is not None
        parents: dict[int, int] = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat = (entry / "stat").read_text()
                except OSError:
                    continue
                parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
        inside, todo = [], [self.proc.pid]
        while todo:
            pid = todo.pop()
            inside.append(pid)
            todo += [child for child, parent in parents.items() if parent == pid]
        found = []
        for pid in inside:
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
            except OSError:
                continue
            found.append((pid, cmdline.decode(errors="replace").strip()))
        return found


def script(spec: dict[str, Any]) -> str:
    """buildspec 0.2 as one bash script: each phase's commands in order in one shell; a
    failing command ends its phase; a failed install or pre_build ends the build; post_build
    runs after build whatever happened, with CODEBUILD_BUILD_SUCCEEDING=0 after a failure."""
    lines = [
        "#!/bin/bash",
        "__failed=''",
        "export CODEBUILD_BUILD_SUCCEEDING=1",
        # CodeBuild stamps its own lines with the UTC time to the microsecond: `__at FORMAT
        # ARGS...` writes one whole line (a command's output never lands inside it)
        '__at() { local t=$EPOCHREALTIME m; builtin printf -v m "$@"; TZ=UTC builtin printf'
        ' \'[Container] %(%Y/%m/%d %H:%M:%S)T.%s %s\\n\' "${t%.*}" "${t#*.}" "$m"; }',
    ]
    for phase in PHASES:
        body = (spec.get("phases") or {}).get(phase) or {}
        lines.append(f"__at 'Entering phase {phase.upper()}'")
        versions = body.get("runtime-versions")
        if versions:
            asked = ", ".join(f"{k} {v}" for k, v in versions.items())
            lines.append(f"__at '%s' 'runtime-versions {asked}: the simulated image has its own'")
        for command in body.get("commands") or []:
            quoted = shlex.quote(command)
            guard = '[ -z "$__failed" ]' if phase != "post_build" else "true"
            lines += [
                f"if {guard}; then",
                f"__at 'Running command %s' {quoted}",
                command,
                "__rc=$?",
                "if [ $__rc -ne 0 ]; then",
                f"  __at 'Command did not exit successfully %s exit status %d' {quoted} $__rc",
                f"  __failed={phase}",
                "fi",
                "fi",
            ]
        if phase in ("install", "pre_build"):
            lines.append(
                f'[ -z "$__failed" ] || {{ __at "Phase {phase.upper()} FAILED"; exit 1; }}'
            )
        if phase == "build":
            lines.append('[ -z "$__failed" ] || export CODEBUILD_BUILD_SUCCEEDING=0')
    lines.append('[ -z "$__failed" ]')
    return "\n".join(lines) + "\n"


def private_tmp() -> list[str]:
    """The command prefix that gives a build a /tmp of its own: a mount namespace (as root),
    else one inside a user namespace; [] when this machine allows neither."""
    for prefix in (["unshare", "--mount"], ["unshare", "--map-root-user", "--mount"]):
        probe = subprocess.run(
            [*prefix, "bash", "-c", "mount -t tmpfs none /tmp"], capture_output=True, check=False
        )
        if probe.returncode == 0:
            return prefix
    return []


def _private_tmp_mount(work: Path, keep: list[Path]) -> str:
    """The shell prefix that mounts the build's own /tmp ("$1"), then mounts back at their
    paths the folders of this machine's /tmp that the simulated image is made of (a checkout
    under /tmp: its virtualenv, the local mirrors, the guard): a real image has its tools
    outside /tmp, and they must not vanish because the checkout happens to be there."""
    host = work / "host-tmp"
    host.mkdir()
    lines = [f"mount --bind /tmp {shlex.quote(str(host))}", 'mount --bind "$1" /tmp']
    for path in keep:
        relative = shlex.quote(str(path.relative_to("/tmp")))
        lines.append(
            f"mkdir -p /tmp/{relative} && mount --bind {shlex.quote(str(host))}/{relative} "
            f"/tmp/{relative}"
        )
    return " && ".join(lines) + " && "


class CodeBuild:
    def __init__(self, template: Template, image: Image, endpoint: str, workspace: Path) -> None:
        self.template = template
        self.image = image
        self.endpoint = endpoint
        self.workspace = workspace
        self.isolation = private_tmp()
        # without a /tmp of their own, builds share this machine's: one at a time then
        self._slots = threading.Semaphore(64 if self.isolation else 1)
        self.builds: list[Build] = []
        # the account's concurrent build quota and queue (buildrules.Admission)
        self.admission = Admission()
        self._numbers = itertools.count(1)
        self._lock = threading.Lock()

    def environment(
        self, props: dict[str, Any], build: Build, overrides: dict[str, str]
    ) -> dict[str, str]:
        home = build.work / "home"
        home.mkdir()
        python_bin = build.work / "image-python" / "bin"
        env = {
            "PATH": self.image.path(python_bin),
            "HOME": str(home),
            "LANG": "C.UTF-8",
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ACCESS_KEY_ID": EXECUTOR_KEY,
            "AWS_SECRET_ACCESS_KEY": "twin-executor-secret",
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_EC2_METADATA_DISABLED": "true",
            **({"AWS_DATA_PATH": data} if (data := self.image.data_path()) else {}),
            "CODEBUILD_BUILD_ID": build.id,
            "CODEBUILD_BUILD_ARN": f"arn:aws:codebuild:{REGION}:{ACCOUNT}:build/{build.id}",
            "CODEBUILD_BUILD_NUMBER": "1",
            "CODEBUILD_BUILD_IMAGE": props["Environment"]["Image"],
            "CODEBUILD_INITIATOR": "states/mlcc-ci-orchestrator",
            "CODEBUILD_LOG_PATH": build.uuid,
            "CODEBUILD_SRC_DIR": str(build.work / "src"),
            "CODEBUILD_START_TIME": str(int(time.time() * 1000)),
            # the image's pip and npm reach their registries; here, local mirrors of them
            "PIP_NO_INDEX": "1",
            "PIP_FIND_LINKS": str(self.image.wheels),
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
            # the tests' loopback-only guard, imported by every Python process of the build
            "PYTHONPATH": str(PYTHON_GUARD),
            "npm_config_cache": str(self.image.npm_cache),
            "npm_config_offline": "true",
            "npm_config_update_notifier": "false",
        }
        if props["Environment"].get("PrivilegedMode"):
            engine = build.work / "docker"
            engine.mkdir()
            env["DOCKER_HOST"] = f"unix://{engine / 'docker.sock'}"
        for variable in props["Environment"].get("EnvironmentVariables", []):
            assert variable.get("Type", "PLAINTEXT") == "PLAINTEXT", variable
            env[variable["Name"]] = str(variable["Value"])
        env.update(overrides)
        return env

    def start(
        self,
        project: str,
        overrides: dict[str, str],
        stream_prefix: str | None = None,
    ) -> Build:
        """Start one build of `project` (its name), as StartBuild with these overrides."""
        _, props = self.template.project(project)
        # past the concurrent build limit: QUEUED; past the queue: AccountLimitExceeded
        running_now = self.admission.enter()
        build_id = f"{project}:{uuid.uuid4()}"
        # like CodeBuild's /codebuild/output/src<digits>: no UUID in paths (npm masks
        # UUID-shaped strings in what it prints, taking them for tokens)
        with self._lock:
            number = next(self._numbers)
        work = self.workspace / f"src{number:03d}{os.getpid()}"
        work.mkdir(parents=True)
        logs = props.get("LogsConfig", {}).get("CloudWatchLogs", {})
        prefix = stream_prefix or logs.get("StreamName", "")
        build = Build(
            build_id, project, f"{prefix}/{build_id.split(':')[1]}", work / "build.log", work
        )
        with self._lock:
            self.builds.append(build)
        if running_now:
            self._launch(build, props, overrides, logs)
        else:
            threading.Thread(
                target=self._dequeue, args=(build, props, overrides, logs), daemon=True
            ).start()
        return build

    def _dequeue(
        self, build: Build, props: dict[str, Any], overrides: dict[str, str], logs: Any
    ) -> None:
        """A queued build starts when a running one ends, unless it was stopped first."""
        if self.admission.wait_turn(build.stopping):
            build.phases.append(("QUEUED", "SUCCEEDED", ""))
            self._launch(build, props, overrides, logs)
        else:
            build.phases.append(("QUEUED", "STOPPED", ""))
            build.done.set()

    def _launch(
        self, build: Build, props: dict[str, Any], overrides: dict[str, str], logs: Any
    ) -> None:
        """From DOWNLOAD_SOURCE on: the buildspec is read first, and runtime-versions the
        image lacks end the build there, before INSTALL."""
        work = build.work
        problem = runtime_problem(
            props["Environment"]["Image"], yaml.safe_load(props["Source"]["BuildSpec"])
        )
        if problem:
            self._source_failed(build, logs.get("GroupName"), problem)
            return
        shutil.copytree(self.template.asset_dir(props["Source"]["Location"]), work / "src")
        (work / "tmp").mkdir()
        self.image.python_for(work / "image-python")
        env = build.env = self.environment(props, build, overrides)
        spec = yaml.safe_load(props["Source"]["BuildSpec"])
        (work / "buildspec.sh").write_text(script(spec))
        mount = _private_tmp_mount(work, self.image.under_tmp()) if self.isolation else ""
        script_args = [
            "buildspec",
            str(work / "tmp"),
            str(work / "src"),
            str(work / "buildspec.sh"),
        ]
        self._slots.acquire()
        with build.log.open("wb") as out:
            build.proc = subprocess.Popen(
                [
                    *self.isolation,
                    "bash",
                    "-c",
                    mount + self.image.cli_server() + 'cd "$2" && exec bash "$3"',
                    *script_args,
                ],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        threading.Thread(
            target=self._finish, args=(build, logs.get("GroupName")), daemon=True
        ).start()

    def _source_failed(self, build: Build, group: str | None, message: str) -> None:
        """The build ends in DOWNLOAD_SOURCE with YAML_FILE_ERROR, as CodeBuild words it."""
        build.log.write_text(
            "[Container] Phase is DOWNLOAD_SOURCE\n"
            "[Container] Phase complete: DOWNLOAD_SOURCE State: FAILED\n"
            f"[Container] Phase context status code: YAML_FILE_ERROR Message: {message}\n"
        )
        build.phases.append(("DOWNLOAD_SOURCE", "FAILED", f"YAML_FILE_ERROR: {message}"))
        if build.status == "IN_PROGRESS":
            build.status = "FAILED"
        self.admission.leave()
        if group:
            self._ship_log(build, group)
        build.done.set()

    def _finish(self, build: Build, group: str | None) -> None:
        assert build.proc is not None
        code = build.proc.wait()
        self._slots.release()
        self.admission.leave()
        if build.status == "IN_PROGRESS":
            build.status = "SUCCEEDED" if code == 0 else "FAILED"
        stop_cli_server(build.work)
        if group:
            self._ship_log(build, group)
        discard(build.work)
        build.done.set()

    def _ship_log(self, build: Build, group: str) -> None:
        import boto3

        logs = boto3.client(
            "logs",
            region_name=REGION,
            endpoint_url=self.endpoint,
            aws_access_key_id=SERVICE_KEY,
            aws_secret_access_key="twin-codebuild-secret",
        )
        logs.create_log_stream(logGroupName=group, logStreamName=build.stream)
        lines = build.output().splitlines() or ["(no output)"]
        now = int(time.time() * 1000)
        for start in range(0, len(lines), 1000):
            events = [
                {"timestamp": now, "message": line or " "} for line in lines[start : start + 1000]
            ]
            logs.put_log_events(logGroupName=group, logStreamName=build.stream, logEvents=events)
