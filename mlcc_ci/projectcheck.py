"""The validate stage: static checks of a generated project, before anything is built."""

import json
import re
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mlcc_ci import doconfig

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
    for script in sorted((project / "do").glob("*")) if (project / "do").is_dir() else []:
        if script.is_file() and _is_shell(script):
            result = subprocess.run(
                ["bash", "-n", str(script)], capture_output=True, text=True, check=False
            )
            if result.returncode != 0:
                first = (result.stderr.strip().splitlines() or ["syntax error"])[0]
                problems.append(f"do/{script.name} does not parse: {first[-160:]}")
    problems.extend(_dockerfile(project / "Dockerfile", config.get("baseImage")))
    for source in sorted(project.rglob("*.py")):
        try:
            compile(source.read_bytes(), str(source), "exec")
        except (SyntaxError, ValueError) as exc:
            rel = source.relative_to(project)
            problems.append(
                f"{rel} does not compile: {getattr(exc, 'msg', exc)} line "
                f"{getattr(exc, 'lineno', '?')}"
            )
    problems.extend(_config_matches(project / "do" / "config", config))
    return problems


def _executable(path: Path) -> bool:
    return bool(path.stat().st_mode & 0o111)


def _is_shell(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            first = fh.readline(200).decode("utf-8", errors="replace").strip()
    except OSError:
        return False
    return first.startswith(_SHELL) or path.suffix == ".sh"


_ARG = re.compile(r"^\s*ARG\s+([A-Za-z_][A-Za-z0-9_]*)(?:=(\S*))?", re.IGNORECASE)
_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?[-+]([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)")


def base_image(dockerfile: Path) -> str | None:
    """The image of the last FROM (the stage that ships), with `ARG` defaults declared
    before it substituted, as `docker build` does without --build-arg."""
    try:
        text = dockerfile.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
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
    if not path.is_file():
        return []
    values = doconfig.parse(path.read_text(encoding="utf-8", errors="replace"), {})
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
