"""The pinned container generator (`@aws/ml-container-creator`): where it is installed,
which parameters it reads from a config file, and what it says when generation fails.

The pin (package, version, command) lives in the catalog defaults; nothing of the
generator is copied into this repository: its parameter list is read from the installed
package every time.
"""

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlcc_ci.errors import HarnessError

PARAMETER_SCHEMA = "config/parameter-schema-v2.json"
PARAMETER_MATRIX = "src/lib/generated/parameter-matrix.js"
PARAMS_FILE = ".mlcc-generation-params.json"
HOME_ENV = "MLCC_CI_GENERATOR_HOME"

# The config-file loader reads these objects key by key (src/lib/config-loader.js).
NESTED = {
    "endpointConfig": {
        "initialInstanceCount": "endpointInitialInstanceCount",
        "dataCapturePercent": "endpointDataCapturePercent",
        "variantName": "endpointVariantName",
        "volumeSize": "endpointVolumeSize",
    },
    "icConfig": {
        "cpuCount": "icCpuCount",
        "memorySize": "icMemorySize",
        "gpuCount": "icGpuCount",
        "copyCount": "icCopyCount",
        "modelWeight": "icModelWeight",
    },
}
ENV_MAPS = ("modelEnvVars", "serverEnvVars", "icEnvVars")
# Kept in the configJson for the record (the generator's own `do/register --ci` writes
# them too); the generator derives them itself and ignores them in a config file.
RECORD_KEYS = ("architecture", "backend", "buildStrategy", "parameters", "icList")


class GeneratorError(HarnessError):
    """The generator cannot be installed, found or read."""


@dataclass(frozen=True)
class Pin:
    package: str
    version: str
    command: str

    @property
    def spec(self) -> str:
        return f"{self.package}@{self.version}"

    @property
    def install_hint(self) -> str:
        return f"run 'mlcc-ci generator install' (npm install of {self.spec})"


def pin_of(defaults: Mapping[str, Any]) -> Pin:
    spec = defaults.get("generator") or {}
    return Pin(
        package=str(spec.get("package", "@aws/ml-container-creator")),
        version=str(spec.get("version", "")),
        command=str(spec.get("command", "ml-container-creator")),
    )


def home(env: Mapping[str, str]) -> Path:
    """Where `generator install` puts pinned generators (one npm prefix per version)."""
    if env.get(HOME_ENV):
        return Path(env[HOME_ENV]).expanduser().absolute()  # a relative one: from here
    from mlcc_ci.settings import data_dir

    return data_dir(env) / "generator"


def prefix(pin: Pin, env: Mapping[str, str]) -> Path:
    from mlcc_ci.generator_npm import slug

    return home(env) / slug(pin.package, pin.version)


@dataclass(frozen=True)
class Installed:
    root: Path  # the package folder, holding package.json
    version: str
    command: Path
    prefix: Path | None  # the npm global prefix it is installed under, if it is

    def stage_env(self, env: Mapping[str, str]) -> dict[str, str]:
        """PATH and npm's global prefix, which the project's do/validate searches, so that
        stages run this generator: its own prefix, else one made to link to it."""
        out = {"PATH": f"{self.command.parent}{os.pathsep}{env.get('PATH', os.defpath)}"}
        name = (_package_json(self.root) or {}).get("name")
        if self.prefix is not None:
            out["NPM_CONFIG_PREFIX"] = str(self.prefix)
        elif isinstance(name, str) and name:
            from mlcc_ci.generator_npm import linked_prefix

            out["NPM_CONFIG_PREFIX"] = str(linked_prefix(self.root, name, home(env) / "linked"))
        return out


def _package_json(root: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((root / "package.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _global_prefix(root: Path, package: str) -> Path | None:
    """The npm prefix whose `npm root -g` holds the package at `root`
    (PREFIX/lib/node_modules/@scope/name), or None for another layout."""
    modules = root
    for _ in Path(package).parts:
        modules = modules.parent
    if modules / package != root or modules.name != "node_modules" or modules.parent.name != "lib":
        return None
    return modules.parent.parent


def find(pin: Pin, env: Mapping[str, str]) -> Installed | None:
    """The pinned install if there is one, else the generator on PATH (its npm prefix taken
    from where its command really lives, so that a project's do/validate, which looks for
    the generator under `npm root -g`, finds this one)."""
    base = prefix(pin, env)
    root = base / "lib" / "node_modules" / pin.package
    data = _package_json(root)
    command = base / "bin" / pin.command
    if data is not None and command.exists():
        return Installed(root, str(data.get("version", "")), command, base)
    found = shutil.which(pin.command, path=env.get("PATH", os.defpath))
    if found is None:
        return None
    target = Path(found).resolve()
    for parent in target.parents:
        data = _package_json(parent)
        if data is not None and data.get("name") == pin.package:
            version = str(data.get("version", ""))
            return Installed(parent, version, Path(found), _global_prefix(parent, pin.package))
    return Installed(target.parent, "unknown", Path(found), None)


def require(pin: Pin, env: Mapping[str, str]) -> Installed:
    installed = find(pin, env)
    if installed is None:
        raise GeneratorError(f"the generator {pin.spec} is not installed: {pin.install_hint}")
    return installed


def problem_with(pin: Pin, env: Mapping[str, str]) -> str | None:
    """Why stages could not run the pinned generator, or None."""
    installed = find(pin, env)
    if installed is None:
        return f"the generator {pin.spec} is not installed: {pin.install_hint}"
    if installed.version != pin.version:
        return (
            f"the generator at {installed.command} is version {installed.version}, but the "
            f"catalog pins {pin.version}: {pin.install_hint}, or bump the pin in _defaults.yaml"
        )
    return None


def install(pin: Pin, env: Mapping[str, str], *, force: bool = False) -> Installed:
    """Into a private npm prefix, nothing global touched: from the package-lock shipped for
    the pin when there is one, never running install scripts (see generator_npm)."""
    from mlcc_ci.generator_npm import npm_install

    base = prefix(pin, env)
    if not force:
        existing = find(pin, {**env, "PATH": ""})
        if existing is not None and existing.version == pin.version:
            return existing
    npm = shutil.which("npm", path=env.get("PATH", os.defpath))
    if npm is None:
        raise GeneratorError("npm is not on PATH: install Node.js (20 or newer) and npm first")
    base.mkdir(parents=True, exist_ok=True)
    what, result = npm_install(npm, base, pin.package, pin.version, env)
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise GeneratorError(f"{what} failed (exit {result.returncode}): {last}")
    installed = find(pin, {**env, "PATH": ""})
    if installed is None or installed.version != pin.version:
        raise GeneratorError(f"{what} did not leave the generator in {base}")
    return installed


# -- parameters ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Parameter:
    key: str  # as a config file spells it
    type: str
    rules: Mapping[str, Any]
    deprecated: bool = False


@dataclass(frozen=True)
class Parameters:
    version: str
    by_key: Mapping[str, Parameter]
    installed: Installed | None = None  # whose own code says which parameters are required

    @property
    def deployment_configs(self) -> tuple[str, ...]:
        param = self.by_key.get("deploymentConfig")
        return tuple(param.rules.get("enum", ())) if param else ()


def _config_file_keys(installed: Installed) -> dict[str, bool]:
    """The generator's own table of which parameters a config file may set.

    It is JavaScript (generated from the parameter schema), so node reads it."""
    matrix = installed.root / PARAMETER_MATRIX
    node = shutil.which("node")
    if node is None:
        raise GeneratorError("node is not on PATH: the generator needs Node.js")
    script = (
        "const m = await import(process.argv[1]);"
        "console.log(JSON.stringify(Object.fromEntries(Object.entries(m.parameterMatrix)"
        ".map(([k, v]) => [k, v.configFile === true]))));"
    )
    result = subprocess.run(
        [node, "--input-type=module", "-e", script, matrix.as_uri()],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise GeneratorError(f"cannot read {matrix}: {result.stderr.strip()[-200:]}")
    keys: dict[str, bool] = json.loads(result.stdout)
    return keys


def load_parameters(installed: Installed) -> Parameters:
    path = installed.root / PARAMETER_SCHEMA
    try:
        schema = json.loads(path.read_text(encoding="utf-8"))["parameters"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise GeneratorError(f"cannot read the generator's parameter list {path}: {exc}") from None
    accepted = {k for k, ok in _config_file_keys(installed).items() if ok}
    by_key: dict[str, Parameter] = {}
    for name, spec in schema.items():
        for key in (spec.get("templateVar"), spec.get("configKey"), name):
            if key in accepted:
                by_key[key] = Parameter(
                    key=key,
                    type=str(spec.get("type", "string")),
                    rules=spec.get("validation") or {},
                    deprecated=bool(spec.get("deprecated")),
                )
                break
    for key in accepted - set(by_key):  # read from a config file, not described by the schema
        by_key[key] = Parameter(key=key, type="any", rules={})
    return Parameters(version=installed.version, by_key=by_key, installed=installed)


_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "enum": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
}


def _value_problem(param: Parameter, value: Any) -> str | None:
    want = _TYPES.get(param.type)
    if want and (not isinstance(value, want) or (bool not in want and isinstance(value, bool))):
        return f"must be {param.type}, not {json.dumps(value)}"
    rules = param.rules
    if "enum" in rules and value not in rules["enum"]:
        close = _close(value, rules["enum"])
        return f"{json.dumps(value)} is not one of {', '.join(map(str, rules['enum']))}{close}"
    if isinstance(value, str):
        if "pattern" in rules and not re.search(rules["pattern"], value):
            return f"{json.dumps(value)} does not match {rules['pattern']}"
        if len(value) < rules.get("minLength", 0):
            return f"{json.dumps(value)} is shorter than {rules['minLength']}"
        if "maxLength" in rules and len(value) > rules["maxLength"]:
            return f"{json.dumps(value)} is longer than {rules['maxLength']}"
    if isinstance(value, int | float) and not isinstance(value, bool):
        if "min" in rules and value < rules["min"]:
            return f"{value} is below the minimum {rules['min']}"
        if "max" in rules and value > rules["max"]:
            return f"{value} is above the maximum {rules['max']}"
    return None


def _close(value: Any, known: Iterable[Any]) -> str:
    """A did-you-mean for a string close to one of `known`, else nothing."""
    import difflib

    if not isinstance(value, str):
        return ""
    close = difflib.get_close_matches(value, [str(k) for k in known], n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _unknown(key: str, known: Iterable[str], version: str) -> str:
    hint = _close(key, known)
    return (
        f"generator {version} does not read '{key}' from a config file; it would be ignored{hint}"
    )


def _offered(value: Any, params: Parameters) -> str:
    offered = params.deployment_configs
    hint = _close(value, offered) or f" (it offers {', '.join(offered)})"
    return f"generator {params.version} offers no configuration {json.dumps(value)}{hint}"


def check_config(
    config: Mapping[str, Any], params: Parameters
) -> list[tuple[tuple[str, ...], str]]:
    """Every problem the generator would have with `config`, as (config path, message)."""
    found: list[tuple[tuple[str, ...], str]] = []
    for key, value in config.items():
        if key in RECORD_KEYS or key in ENV_MAPS:
            continue
        if key in NESTED:
            mapping = NESTED[key]
            for sub, sub_value in (value or {}).items():
                flat = mapping.get(sub)
                param = params.by_key.get(flat or "")
                if param is None:
                    found.append(((key, sub), _unknown(sub, mapping, params.version)))
                elif problem := _value_problem(param, sub_value):
                    found.append(((key, sub), problem))
            continue
        param = params.by_key.get(key)
        if param is None:
            found.append(((key,), _unknown(key, params.by_key, params.version)))
        elif key == "deploymentConfig" and value not in params.deployment_configs:
            found.append(((key,), _offered(value, params)))
        elif problem := _value_problem(param, value):
            found.append(((key,), problem))
    return found


# -- what generation left behind ------------------------------------------------------------

_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
# The generator prints its refusals on stdout and may still exit 0 ("⚠️  Unsupported build
# target", "❌ Required Parameter Validation Failed", "⚠️  Model name is required ...").
_REFUSAL = re.compile(r"^\s*(❌|⚠️\s*(Unsupported|.*\brequired\b|.*\bError\b|.*\bfailed\b))", re.I)
_DETAIL = re.compile(r"^\s+•\s")


def strip_ansi(text: str) -> str:
    return _ANSI.sub("", text)


def generator_message(output: str) -> str:
    """The generator's own words for why it stopped: its ❌/⚠️ lines and their bullets."""
    lines = strip_ansi(output).splitlines()
    picked: list[str] = []
    for i, line in enumerate(lines):
        if _REFUSAL.match(line):
            picked.append(line.strip())
            picked.extend(x.strip() for x in lines[i + 1 : i + 6] if _DETAIL.match(x))
    return "\n".join(dict.fromkeys(picked))


def generation_problem(project: Path, output: str, returncode: int) -> str | None:
    """Why a generate stage failed even if its command did not say so, or None."""
    message = generator_message(output)
    if returncode != 0:
        return f"the generator exited {returncode}: {message or 'no message'}"
    if not (project / "do" / "config").is_file():
        said = message or "it printed no reason"
        return f"the generator wrote no project at {project}: {said}"
    if message:
        return f"the generator reported an error: {message}"
    return None


def generation_params(project: Path) -> dict[str, Any] | None:
    from mlcc_ci.files import load_json

    try:  # a regular file of sane size and depth: the project wrote it, not us
        data = load_json(project / PARAMS_FILE, 1024 * 1024)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


# -- the catalog against the generator -------------------------------------------------------
