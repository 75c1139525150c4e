"""The environment in which a generated project's own `do/validate` can run offline.

`do/validate` insists on an activated Python virtual environment, finds the generator's
validate-runner through npm's global prefix, and reads AWS service models from
`$HOME/.ml-container-creator/schemas` (which `ml-container-creator bootstrap sync-schemas`
downloads from the AWS SDK's repository). The harness prepares all three without a
network: a virtualenv that sees the harness's own boto3, a HOME of its own, and a schema
registry written from the service models that botocore ships, in the Smithy JSON form
that sync-schemas stores.
"""

import json
import os
import shutil
import site
import sys
import tempfile
import venv
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from mlcc_ci import clock

SERVICES = ("sagemaker", "iam", "ecr", "s3")


def _publish(target: Path, build: Callable[[Path], None]) -> Path:
    """Build in a temporary folder beside `target`, then rename: concurrent runs never see
    half a folder, and the first to finish wins."""
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        build(tmp)
        os.rename(tmp, target)
    except OSError:
        if not target.exists():
            raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def _site_dirs() -> list[str]:
    import boto3

    dirs = [str(Path(boto3.__file__).resolve().parent.parent)]
    dirs += [d for d in (*site.getsitepackages(), site.getusersitepackages()) if d not in dirs]
    return [d for d in dirs if Path(d).is_dir()]


def python_env(root: Path) -> Path:
    """A virtualenv (no pip of its own) whose site-packages include the harness's boto3."""
    tag = f"py{sys.version_info.major}.{sys.version_info.minor}"

    def build(tmp: Path) -> None:
        venv.create(tmp, with_pip=False, symlinks=True)
        lib = tmp / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}"
        (lib / "site-packages" / "mlcc-ci-harness.pth").write_text("\n".join(_site_dirs()) + "\n")

    return _publish(root / f"python-env-{tag}", build)


def _target(namespace: str, shape: str) -> str:
    if shape in ("String", "Boolean", "Integer", "Long", "Double", "Float", "Timestamp", "Blob"):
        return f"smithy.api#{shape}"
    return f"{namespace}#{shape}"


def _smithy_shape(namespace: str, shape: dict[str, Any]) -> dict[str, Any]:
    kind = shape.get("type", "structure")
    traits: dict[str, Any] = {}
    if "min" in shape or "max" in shape:
        bound = {k: shape[k] for k in ("min", "max") if k in shape}
        traits[
            "smithy.api#range"
            if kind in ("integer", "long", "double", "float")
            else "smithy.api#length"
        ] = bound
    if "pattern" in shape:
        traits["smithy.api#pattern"] = shape["pattern"]
    if kind == "string" and "enum" in shape:
        return {
            "type": "enum",
            "members": {
                f"V{i}": {"target": "smithy.api#Unit", "traits": {"smithy.api#enumValue": v}}
                for i, v in enumerate(shape["enum"])
            },
        }
    out: dict[str, Any] = {"type": kind}
    if kind == "structure":
        required = set(shape.get("required", ()))
        out["members"] = {
            name: {
                "target": _target(namespace, member["shape"]),
                **({"traits": {"smithy.api#required": {}}} if name in required else {}),
            }
            for name, member in shape.get("members", {}).items()
        }
    elif kind == "list":
        out["member"] = {"target": _target(namespace, shape["member"]["shape"])}
    elif kind == "map":
        out["key"] = {"target": _target(namespace, shape["key"]["shape"])}
        out["value"] = {"target": _target(namespace, shape["value"]["shape"])}
    if traits:
        out["traits"] = traits
    return out


def smithy_model(service: str, model: dict[str, Any]) -> dict[str, Any]:
    """A botocore service model in the Smithy JSON AST that sync-schemas downloads."""
    namespace = f"com.amazonaws.{service}"
    shapes: dict[str, Any] = {}
    for name, shape in model.get("shapes", {}).items():
        shapes[f"{namespace}#{name}"] = _smithy_shape(namespace, shape)
    for name, op in model.get("operations", {}).items():
        entry: dict[str, Any] = {"type": "operation"}
        for side in ("input", "output"):
            if side in op:
                entry[side] = {"target": f"{namespace}#{op[side]['shape']}"}
        entry["errors"] = [{"target": f"{namespace}#{e['shape']}"} for e in op.get("errors", ())]
        shapes[f"{namespace}#{name}"] = entry
    return {"smithy": "2.0", "shapes": shapes}


def schema_home(root: Path) -> Path:
    """A HOME holding `.ml-container-creator/schemas`, built from botocore's models."""
    from importlib.metadata import version

    botocore_version = version("botocore")  # botocore itself is imported only to build

    def build(tmp: Path) -> None:
        import botocore.loaders

        registry = tmp / ".ml-container-creator" / "schemas"
        loader = botocore.loaders.create_loader()
        services = {}
        for service in SERVICES:
            model = loader.load_service_model(service, "service-2")
            folder = registry / service
            folder.mkdir(parents=True)
            (folder / "service-2.json").write_text(json.dumps(smithy_model(service, model)))
            services[service] = {"version": model.get("metadata", {}).get("apiVersion", "")}
        manifest = {
            "lastSynced": clock.iso(clock.now()),
            "services": services,
            "source": f"botocore {botocore_version} (prepared offline by mlcc-ci)",
        }
        (registry / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
        for where, _, files in os.walk(tmp):  # read-only: each run works on a copy
            for name in files:
                os.chmod(os.path.join(where, name), 0o444)
            if where != str(tmp):
                os.chmod(where, 0o555)

    return _publish(root / f"home-botocore-{botocore_version}", build)


def activation(root: Path, env: Mapping[str, str]) -> dict[str, str]:
    """What activating the virtualenv changes: VIRTUAL_ENV, and its bin first on PATH."""
    python = python_env(root)
    path = [p for p in env.get("PATH", os.defpath).split(os.pathsep) if p != str(python / "bin")]
    return {"VIRTUAL_ENV": str(python), "PATH": os.pathsep.join([str(python / "bin"), *path])}


# What do/validate is given of the run's environment: it validates offline, so it needs no
# credential (AWS keys, tokens, a GITHUB_TOKEN), and gets none.
_PASSED = frozenset(
    {
        "PATH",
        "LANG",
        "LC_ALL",
        "LC_CTYPE",
        "TERM",
        "TZ",
        "TMPDIR",
        "NODE_OPTIONS",
        "NPM_CONFIG_PREFIX",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "MLCC_PROJECT_DIR",
        "MLCC_WORK_DIR",
    }
)


def prepare(root: Path, env: Mapping[str, str], home: Path) -> dict[str, str]:
    """The environment for `./do/validate`: what it needs of `env` and nothing else, the
    virtualenv activated, and `home` (made here, this run's own) a copy of the prepared
    HOME, whose schema registry no project can change for the runs after it."""
    from mlcc_ci.doconfig import is_secret

    kept = {
        k: v
        for k, v in env.items()
        if (k in _PASSED or k.lower().startswith("npm_config_")) and not is_secret(k)
    }
    if home.exists():
        shutil.rmtree(home)
    shutil.copytree(schema_home(root), home, symlinks=True)
    for folder, _, files in os.walk(home):  # the copy is the run's to write in
        os.chmod(folder, 0o700)
        for name in files:
            os.chmod(os.path.join(folder, name), 0o600)
    return {
        **kept,
        **activation(root, env),
        "HOME": str(home),
        "MCC_NO_STALE_WARNING": "true",
    }


def failure_note(lines: list[str]) -> str:
    """Why `do/validate` exited 1, from its output's non-blank lines: the validate-runner's
    findings, else its own ❌ lines, else what it said last (a `set -e` script stops at the
    command that failed without a word, so its last lines say where it was)."""
    findings = [ln for ln in lines if "✗" in ln]
    alarms = [ln for ln in lines if ln.startswith("❌")]
    if findings:
        return f"do/validate found errors: {'; '.join(findings)}"
    if alarms:
        return f"do/validate exited 1: {'; '.join(alarms)}"
    if lines:
        return f"do/validate exited 1; it last printed: {' / '.join(lines[-3:])}"
    return "do/validate exited 1 without any output"
