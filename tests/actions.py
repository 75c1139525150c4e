"""A small local runner for one job of a GitHub Actions workflow, as the hosted runner runs it.

It evaluates `${{ }}` expressions and `if:` conditions (the subset our workflows use),
runs each `run:` script with `bash --noprofile --norc -eo pipefail` and stdin closed, keeps
GITHUB_ENV, GITHUB_STEP_SUMMARY and step outcomes (`continue-on-error` included), and plays
the actions the workflows use with local stand-ins: checkout clones a git repository, the
cache is a folder of keys (exact key, then restore-keys prefixes, newest first), artifacts
are copied out. setup-python and setup-node are the PATH the caller gives.
"""

import glob
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

_EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}", re.S)
_CONTEXT = re.compile(r"\b(?:inputs|github|steps|env|matrix)(?:\.[A-Za-z_][\w-]*)+")


@dataclass
class Context:
    github: dict[str, Any]
    inputs: dict[str, Any]
    env: dict[str, str] = field(default_factory=dict)
    steps: dict[str, dict[str, str]] = field(default_factory=dict)

    def lookup(self, path: str) -> Any:
        head, *rest = path.split(".")
        node: Any = {"github": self.github, "inputs": self.inputs, "env": self.env}.get(head)
        if head == "steps":
            node = self.steps
        for key in rest:
            node = node.get(key, "") if isinstance(node, Mapping) else ""
        return node


def evaluate(expression: str, ctx: Context, *, failed: bool = False) -> Any:
    """One expression of the subset: context paths, 'strings', numbers, ==, !=, &&, ||, !,
    (), and the status functions."""
    python = _CONTEXT.sub(lambda m: f"_get({m.group(0)!r})", expression)
    python = python.replace("&&", " and ").replace("||", " or ")
    python = re.sub(r"!(?!=)", " not ", python)
    names = {
        "_get": ctx.lookup,
        "cancelled": lambda: False,
        "always": lambda: True,
        "success": lambda: not failed,
        "failure": lambda: failed,
        "true": True,
        "false": False,
    }
    return eval(python, {"__builtins__": {}}, names)  # our own workflow files only


def substitute(value: Any, ctx: Context) -> Any:
    if isinstance(value, str):
        whole = _EXPR.fullmatch(value.strip())
        if whole:
            return evaluate(whole.group(1), ctx)
        return _EXPR.sub(lambda m: str(evaluate(m.group(1), ctx)), value)
    if isinstance(value, dict):
        return {k: substitute(v, ctx) for k, v in value.items()}
    return value


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


@dataclass
class Runner:
    """What the hosted runner would be: a workspace, a cache and artifact storage."""

    root: Path
    path: str  # PATH: the setup-python interpreter's bin first, node, then the system
    base_env: dict[str, str]
    checkout: Callable[[Path, Context], None]
    workflows: Mapping[str, Path] = field(default_factory=dict)  # `uses:` -> local file

    def __post_init__(self) -> None:
        self.cache = self.root / "cache"
        self.artifacts = self.root / "artifacts"
        self.cache.mkdir(parents=True, exist_ok=True)
        self.artifacts.mkdir(parents=True, exist_ok=True)

    def run_caller(self, caller: Path, github: dict[str, Any], workspace: Path) -> "Result":
        """Run a caller workflow whose one job `uses:` a reusable workflow."""
        doc = yaml.safe_load(caller.read_text())
        ((_, job),) = doc["jobs"].items()
        called = self.workflows[job["uses"]]
        inputs_spec = yaml.safe_load(called.read_text())[True]["workflow_call"]["inputs"]
        ctx = Context(github=github, inputs={})
        given = substitute(job.get("with", {}), ctx)
        ctx.inputs = {
            name: given.get(name, spec.get("default", "")) for name, spec in inputs_spec.items()
        }
        return self.run_job(called, ctx, workspace)

    def run_job(self, workflow: Path, ctx: Context, workspace: Path) -> "Result":
        """Its first job: the one the others need (the matrix; the reusable workflow's
        `pages` job deploys with actions this runner has no stand-in for)."""
        doc = yaml.safe_load(workflow.read_text())
        job = next(iter(doc["jobs"].values()))
        workspace.mkdir(parents=True, exist_ok=True)
        ctx.github = {**ctx.github, "workspace": str(workspace)}
        temp = self.root / f"runner-temp-{time.monotonic_ns()}"
        temp.mkdir()
        files = {n: temp / n for n in ("env", "summary", "output")}
        for f in files.values():
            f.touch()
        env = {
            **self.base_env,
            "PATH": self.path,
            "CI": "true",
            "GITHUB_ACTIONS": "true",
            "GITHUB_WORKSPACE": str(workspace),
            "GITHUB_ENV": str(files["env"]),
            "GITHUB_STEP_SUMMARY": str(files["summary"]),
            "GITHUB_OUTPUT": str(files["output"]),
            "GITHUB_EVENT_NAME": ctx.github["event_name"],
            "GITHUB_REF_NAME": ctx.github["ref_name"],
            "GITHUB_REPOSITORY": ctx.github["repository"],
            "GITHUB_RUN_ID": str(ctx.github["run_id"]),
            "GITHUB_API_URL": ctx.github["api_url"],
            "RUNNER_TEMP": str(temp),
        }
        env.update({k: _text(v) for k, v in substitute(job.get("env", {}), ctx).items()})
        result = Result(summary=files["summary"])
        failed = False
        for number, step in enumerate(job["steps"]):
            name = step.get("name") or step.get("uses") or f"step {number}"
            condition = step.get("if")
            if condition is not None:
                text = _EXPR.fullmatch(str(condition).strip())
                run = evaluate(text.group(1) if text else str(condition), ctx, failed=failed)
            else:
                run = not failed
            if not run:
                result.outcomes[name] = "skipped"
                if "id" in step:
                    ctx.steps[step["id"]] = {"outcome": "skipped", "conclusion": "skipped"}
                continue
            step_env = {k: _text(v) for k, v in substitute(step.get("env", {}), ctx).items()}
            if "uses" in step:
                code = self._action(
                    step["uses"], substitute(step.get("with", {}), ctx), workspace, ctx
                )
                out = ""
            else:
                proc = subprocess.run(
                    ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
                    cwd=workspace,
                    env={**env, **step_env},
                    stdin=subprocess.DEVNULL,
                    capture_output=True,
                    text=True,
                )
                code, out = proc.returncode, proc.stdout + proc.stderr
            for line in files["env"].read_text().splitlines():
                key, _, value = line.partition("=")
                if key:
                    env[key] = value
            outcome = "success" if code == 0 else "failure"
            result.outcomes[name] = outcome
            result.logs[name] = out
            if "id" in step:
                conclusion = "success" if step.get("continue-on-error") else outcome
                ctx.steps[step["id"]] = {"outcome": outcome, "conclusion": conclusion}
            if code != 0 and not step.get("continue-on-error"):
                failed = True
        result.failed = failed
        return result

    def _action(self, uses: str, given: dict[str, Any], workspace: Path, ctx: Context) -> int:
        action = uses.split("@")[0]
        if action == "actions/checkout":
            self.checkout(workspace, ctx)
            return 0
        if action in ("actions/setup-python", "actions/setup-node"):
            return 0
        if action == "actions/cache/restore":
            keys = [given["key"], *str(given.get("restore-keys", "")).split()]
            for key in keys:
                hits = sorted(
                    (p for p in self.cache.iterdir() if p.name.startswith(key)),
                    key=lambda p: p.stat().st_mtime,
                    reverse=True,
                )
                if hits:
                    shutil.copytree(hits[0], workspace / given["path"], dirs_exist_ok=True)
                    return 0
            return 0  # a miss is no failure
        if action == "actions/cache/save":
            target = self.cache / given["key"]
            if target.exists():
                return 1  # caches are immutable: the same key again is refused
            shutil.copytree(workspace / given["path"], target)
            return 0
        if action == "actions/upload-artifact":
            target = self.artifacts / given["name"]
            hidden_too = given.get("include-hidden-files") is True  # off by default (v4.4)
            for pattern in str(given["path"]).split():
                for found in glob.glob(str(workspace / pattern), include_hidden=True):
                    relative = Path(found).relative_to(workspace)
                    if not hidden_too and any(p.startswith(".") for p in relative.parts):
                        continue
                    if Path(found).is_dir():
                        shutil.copytree(found, target / relative, dirs_exist_ok=True)
                    else:
                        (target / relative).parent.mkdir(parents=True, exist_ok=True)
                        shutil.copy2(found, target / relative)
            return 0
        raise AssertionError(f"no local stand-in for {uses}")


@dataclass
class Result:
    summary: Path
    outcomes: dict[str, str] = field(default_factory=dict)
    logs: dict[str, str] = field(default_factory=dict)
    failed: bool = False


def clean_env() -> dict[str, str]:
    """What a hosted runner's shell has of ours: nothing of this test process's secrets."""
    keep = ("LANG", "LC_ALL", "TZ", "TMPDIR")
    return {k: os.environ[k] for k in keep if k in os.environ}
