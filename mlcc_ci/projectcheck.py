"""The validate stage: static checks of a generated project, before anything is built."""

import json
import re
import subprocess
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from mlcc_ci import doconfig
from mlcc_ci.files import read_regular

_FROM = re.compile(r"^\s*FROM\s+(?:--platform=\S+\s+)?(\S+)", re.IGNORECASE | re.MULTILINE)
_SHELL = ("#!/bin/bash", "#!/usr/bin/env bash", "#!/bin/sh", "#!/usr/bin/env sh")


def required_files(build_strategy: str) -> list[str]:
    files = ["Dockerfile", "do/config", "do/deploy", "do/test", "do/clean"]
    if build_strategy == "docker-in-docker":
        files += ["do/build", "do/push"]
    else:
        files += ["do/submit"]
    return files


def check_project(project: Path, config: Mapping[str, Any]) -> list[str]:
    """Every problem found, as short lines; empty when the project looks right."""
    if not project.is_dir():
        return [f"the generator wrote no project at {project}"]
    problems: list[str] = []
    for name in required_files(str(config.get("buildStrategy", ""))):
        path = project / name
        if not path.is_file():
            problems.append(f"missing {name}")
        elif name.startswith("do/") and name != "do/config" and not _executable(path):
            problems.append(f"{name} is not executable")
    do = project / "do"
    scripts = []
    for script in sorted(p for p in do.rglob("*") if p.is_file()) if do.is_dir() else []:
        data = read_project_file(script)
        if data is not None and _is_shell(script, data):
            scripts.append((script, data))
    for script, error in _bash_errors(scripts):
        problems.append(f"{script.relative_to(project)} does not parse: {error[-160:]}")
    problems.extend(_dockerfile(project / "Dockerfile", config.get("baseImage")))
    for source in sorted(p for p in project.rglob("*.py") if not p.is_symlink()):
        data = read_project_file(source)
        if data is not None and (failure := _compile_error(data)):
            problems.append(f"{source.relative_to(project)} does not compile: {failure}")
    problems.extend(_config_matches(project / "do" / "config", config))
    return problems


def _executable(path: Path) -> bool:
    return bool(path.stat().st_mode & 0o111)


READ_LIMIT = doconfig.READ_LIMIT  # a generated file larger than this is not read


def read_project_file(path: Path) -> bytes | None:
    """A project file, if it is a regular one of sane size: never a FIFO (which would block
    the harness outside any stage's timeout), a device, or a link out of the project."""
    try:
        return read_regular(path, READ_LIMIT)
    except OSError:
        return None


def _is_shell(path: Path, data: bytes) -> bool:
    first = data[:200].split(b"\n", 1)[0].decode("utf-8", errors="replace").strip()
    return first.startswith(_SHELL) or path.suffix == ".sh"


# Generated projects share most of their files, so each distinct content is checked once
# per process (a matrix run checks a dozen projects).
_PARSED: dict[bytes, str | None] = {}
_PARSED_LIMIT = 4096
# One bash runs `bash -n` on every file not seen before, by path: bash reads a script given
# on stdin one byte at a time, which costs three times as much.
_CHECK_ALL = 'for f; do out=$(bash -n "$f" 2>&1) || printf "%s\\0%s\\0" "$f" "$out"; done'


def _bash_errors(scripts: list[tuple[Path, bytes]]) -> list[tuple[Path, str]]:
    """(script, first error line) for each shell script that does not parse."""
    todo = {data: path for path, data in scripts if data not in _PARSED}
    if todo:
        if len(_PARSED) > _PARSED_LIMIT:
            _PARSED.clear()
        paths = [str(p) for p in todo.values()]
        result = subprocess.run(
            ["bash", "-c", _CHECK_ALL, "mlcc-ci", *paths], capture_output=True, check=False
        )
        fields = result.stdout.decode("utf-8", errors="replace").split("\0")
        failed = dict(zip(fields[0:-1:2], fields[1::2], strict=False))
        for data, path in todo.items():
            out = failed.get(str(path))
            lines = out.strip().splitlines() if out is not None else []
            _PARSED[data] = None if out is None else (lines[0] if lines else "syntax error")
    return [(p, e) for p, data in scripts if (e := _PARSED.get(data)) is not None]


@lru_cache(maxsize=4096)
def _compile_error(data: bytes) -> str | None:
    try:
        compile(data, "<generated>", "exec")
    except (SyntaxError, ValueError) as exc:
        return f"{getattr(exc, 'msg', exc)} line {getattr(exc, 'lineno', '?')}"
    return None


_ARG = re.compile(r"^\s*ARG\s+([A-Za-z_][A-Za-z0-9_]*)(?:=(\S*))?", re.IGNORECASE)
_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?[-+]([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)")


def base_image(dockerfile: Path) -> str | None:
    """The image of the last FROM (the stage that ships), with `ARG` defaults declared
    before it substituted, as `docker build` does without --build-arg."""
    data = read_project_file(dockerfile)
    if data is None:
        return None
    text = data.decode("utf-8", errors="replace")
    args: dict[str, str] = {}
    image = None
    for line in text.splitlines():
        if arg := _ARG.match(line):
            args.setdefault(arg.group(1), (arg.group(2) or "").strip("\"'"))
        elif found := _FROM.match(line):

            def value(ref: re.Match[str]) -> str:
                name = ref.group(1) or ref.group(3)
                return args.get(name) or ref.group(2) or ""

            image = _REF.sub(value, found.group(1))
    return image


def _dockerfile(path: Path, expected: object) -> list[str]:
    if not path.is_file():
        return []
    found = base_image(path)
    if found is None:
        return ["Dockerfile has no FROM line"]
    if expected and found != expected:
        return [f"Dockerfile FROM {found} is not the catalog's baseImage {expected}"]
    return []


def _config_matches(path: Path, config: Mapping[str, Any]) -> list[str]:
    """The generator honoured the configuration it was handed."""
    data = read_project_file(path)
    if data is None:
        return []
    values = doconfig.parse(data.decode("utf-8", errors="replace"), {})
    checks = {
        "DEPLOYMENT_CONFIG": config.get("deploymentConfig"),
        "INSTANCE_TYPE": config.get("instanceType"),
        "AWS_REGION": config.get("awsRegion"),
    }
    problems = []
    for key, want in checks.items():
        got = values.get(key)
        if want and got is not None and got.value is not None and got.value != want:
            problems.append(f"do/config {key}={json.dumps(got.value)} but the config says {want}")
    return problems
