"""The nested CodeBuild project `do/submit` builds a run's image in, made by the harness.

The generated `do/submit` creates the project from a JSON heredoc, but only when
`batch-get-projects` finds none of that name, with a deprecated image and no timeout
(CodeBuild's defaults: 60 minutes, 8 hours queued). Before `do/submit` runs in AWS the
harness makes the same project itself: the heredoc read from the project's own `do/submit`
(never a copy of it), its variables expanded with the values the script would have, then
the image replaced by a current one and the timeouts bounded by the stage's. What a killed
run left under that name is stopped and deleted first (the executor may delete the nested
projects, not update them). `do/submit` then finds the project and skips its own create.
At teardown the run's nested builds still in progress are stopped before `do/clean` runs.
"""

import json
import math
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from mlcc_ci import doconfig
from mlcc_ci.files import load_json, read_regular

# Amazon Linux 2023, the current x86_64 standard image ("EC2 compute images",
# https://docs.aws.amazon.com/codebuild/latest/userguide/ec2-compute-images.html);
# privileged mode (docker builds) works on it as on every standard image. The generator's
# amazonlinux2-x86_64-standard:3.0 is deprecated since May 2023 ("Deprecated CodeBuild
# images", https://docs.aws.amazon.com/codebuild/latest/userguide/deprecated-images.html).
IMAGE = "aws/codebuild/amazonlinux-x86_64-standard:5.0"
# CreateProject's bounds: timeoutInMinutes 5 to 2160, queuedTimeoutInMinutes 5 to 480
# (https://docs.aws.amazon.com/codebuild/latest/APIReference/API_CreateProject.html).
TIMEOUT_MINUTES = (5, 2160)
QUEUED_MINUTES = (5, 480)
# The newest builds of the project looked at (ListBuildsForProject sorts newest first): a run
# starts one, so one still in progress is among them.
NEWEST = 100
SCRIPT_LIMIT = 1024 * 1024
PROFILE_FILE = ".ml-container-creator/config.json"  # the generator's bootstrap profile
_INPUT_FILE = re.compile(r"create-project\b[^\n]*?--cli-input-json\s+\"?file://([^\s\"]+)")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class Unreadable(ValueError):
    """do/submit's project definition cannot be read or expanded as the script would."""


def heredoc(script: str) -> str:
    """The body of the heredoc do/submit writes the file it passes to `create-project
    --cli-input-json` from, as written (before the shell expands it)."""
    paths = set(_INPUT_FILE.findall(script.replace("\\\n", " ")))  # continued lines
    if len(paths) != 1:
        raise Unreadable("do/submit has no single `create-project --cli-input-json file://…`")
    (path,) = paths
    written = re.compile(
        rf"^[ \t]*cat[ \t]*>[ \t]*{re.escape(path)}[ \t]*<<[ \t]*(\w+)[ \t]*\n(.*?)\n\1\n",
        re.M | re.S,
    )
    found = written.findall(script)
    if len(found) != 1:
        raise Unreadable(f"do/submit does not write {path} from one unquoted heredoc")
    return str(found[0][1])


def expand(text: str, values: Mapping[str, str]) -> str:
    """`text` as bash expands an unquoted heredoc: `$NAME` and `${NAME}` from `values`,
    `\\$`, `\\``, `\\\\` unescaped, a backslash-newline removed, any other backslash kept.
    Unreadable for what needs a command, or a variable without a value (do/submit runs
    under `set -u`)."""
    out: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        nxt = text[i + 1] if i + 1 < len(text) else ""
        if ch == "\\" and nxt in ("$", "`", "\\"):
            out.append(nxt)
            i += 2
        elif ch == "\\" and nxt == "\n":
            i += 2
        elif ch == "`" or (ch == "$" and nxt == "("):
            raise Unreadable("do/submit's project definition runs a command")
        elif ch == "$" and nxt == "{":
            end = text.find("}", i)
            name = text[i + 2 : end] if end > 0 else ""
            if not _NAME.fullmatch(name):
                raise Unreadable(f"do/submit's project definition uses ${{{name}…}}")
            out.append(_value(name, values))
            i = end + 1
        elif ch == "$" and (found := _NAME.match(text, i + 1)):
            out.append(_value(found.group(), values))
            i = found.end()
        elif ch == "$" and nxt and (nxt.isdigit() or nxt in "@*#?$!-"):
            raise Unreadable(f"do/submit's project definition uses ${nxt}")
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def _value(name: str, values: Mapping[str, str]) -> str:
    if name not in values:
        raise Unreadable(f"do/submit's project definition uses ${name}, which has no value")
    return values[name]


def _profile(env: Mapping[str, str]) -> dict[str, Any]:
    """The generator's active bootstrap profile, as profile.sh reads it (none: empty)."""
    home = env.get("HOME")
    if not home:
        return {}
    try:
        config = load_json(Path(home) / PROFILE_FILE, SCRIPT_LIMIT)
        profile = config["profiles"][config["activeProfile"]]
    except (ValueError, KeyError, TypeError):
        return {}
    return profile if isinstance(profile, dict) else {}


def project_name(project: Path, env: Mapping[str, str]) -> str | None:
    """The nested project do/submit uses: do/config's CODEBUILD_PROJECT_NAME (without it,
    do/submit dates the name, and no name the harness could know is it)."""
    return doconfig.values(project / "do" / "config", env).get("CODEBUILD_PROJECT_NAME")


def script_values(project: Path, env: Mapping[str, str]) -> dict[str, str]:
    """The variables do/submit has set when it writes the project's JSON, but the account:
    the stage's environment, then do/config (sourced after it), then what do/submit
    derives."""
    values = {**env, **doconfig.values(project / "do" / "config", env)}
    name = values.get("CODEBUILD_PROJECT_NAME")
    if not name:
        raise Unreadable("do/config names no CODEBUILD_PROJECT_NAME")
    profile = _profile(env)
    values["ECR_REPOSITORY_NAME"] = (
        values.get("ECR_REPOSITORY_NAME")
        or str(profile.get("ecrRepositoryName") or "")
        or "ml-container-creator"
    )
    source = values.get("CODEBUILD_SOURCE_S3_BUCKET") or profile.get("codebuildSourceS3Bucket")
    if source:
        values["S3_BUCKET"] = str(source)
    values["ROLE_NAME"] = f"{name}-service-role"
    return values


def region(project: Path, env: Mapping[str, str]) -> str:
    """The region do/submit passes to every call (do/config's AWS_REGION)."""
    values = {**env, **doconfig.values(project / "do" / "config", env)}
    return values.get("AWS_REGION") or "us-east-1"


def minutes(seconds: float, bounds: tuple[int, int]) -> int:
    """`seconds` in whole minutes, rounded up, within `bounds`."""
    low, high = bounds
    return min(max(math.ceil(seconds / 60), low), high)


def request(
    project: Path, env: Mapping[str, str], account: Callable[[], str], timeout_seconds: float
) -> dict[str, Any]:
    """The CreateProject request do/submit would send, with a current image and timeouts
    bounded by `timeout_seconds` (the build stage's); `account` gives the account's id once
    the definition is found. Unreadable when the request cannot be made."""
    try:
        script = read_regular(project / "do" / "submit", SCRIPT_LIMIT).decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise Unreadable(f"do/submit cannot be read: {exc}") from exc
    written = heredoc(script)
    values = script_values(project, env)
    values["AWS_ACCOUNT_ID"] = account()
    text = expand(written, values)
    try:
        body = json.loads(text)
    except ValueError as exc:
        raise Unreadable(f"do/submit's project definition is not JSON: {exc}") from exc
    if not isinstance(body, dict) or not isinstance(body.get("environment"), dict):
        raise Unreadable("do/submit's project definition has no environment")
    if body.get("name") != values["CODEBUILD_PROJECT_NAME"]:
        raise Unreadable(f"do/submit's project is named {body.get('name')!r}, not do/config's")
    body["environment"]["image"] = IMAGE
    body["timeoutInMinutes"] = minutes(timeout_seconds, TIMEOUT_MINUTES)
    body["queuedTimeoutInMinutes"] = minutes(timeout_seconds, QUEUED_MINUTES)
    return body


def stop_running(codebuild: Any, name: str) -> list[str]:
    """Stop the project's builds still in progress (queued ones included); their ids. A
    project that does not exist has none."""
    try:
        listed = codebuild.list_builds_for_project(projectName=name, sortOrder="DESCENDING")
    except codebuild.exceptions.ResourceNotFoundException:
        return []
    ids = listed.get("ids", [])[:NEWEST]
    builds = codebuild.batch_get_builds(ids=ids).get("builds", []) if ids else []
    stopped = []
    for build in builds:
        if build.get("buildStatus") == "IN_PROGRESS":
            codebuild.stop_build(id=build["id"])
            stopped.append(str(build["id"]))
    return stopped


def create(codebuild: Any, body: Mapping[str, Any]) -> list[str]:
    """Make the project `body` describes, in place of one of that name; what was done."""
    name = str(body["name"])
    said = []
    if codebuild.batch_get_projects(names=[name]).get("projects"):
        stopped = stop_running(codebuild, name)
        if stopped:
            said.append(f"stopped {', '.join(stopped)}, left running by an earlier run")
        codebuild.delete_project(name=name)
        said.append(f"deleted the nested CodeBuild project {name} an earlier run left")
    codebuild.create_project(**body)
    said.append(
        f"created the nested CodeBuild project {name} from do/submit's own definition, with "
        f"image {body['environment']['image']}, timeout {body['timeoutInMinutes']} min, "
        f"queued timeout {body['queuedTimeoutInMinutes']} min"
    )
    return said
