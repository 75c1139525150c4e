"""`mlcc-ci stack synth|deploy`: the AWS stack for the catalog in use, from the installed
package, in the repository the command runs in.

The CDK app (mlcc_ci/stack) is synthesized in this process with the catalog the settings
file or --catalog names, so the executor's source asset carries that catalog and its
failure rules, and the scanner's registrations are its entries. Deploying hands the
synthesized assembly to the CDK CLI at the version this package pins
(mlcc_ci/stack/cdk_cli/package-lock.json), installed once by `npm ci --ignore-scripts`.
"""

import json
import os
import shutil
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from mlcc_ci.errors import MlccError, UsageError

CLI_LOCK_DIR = Path(__file__).resolve().parent / "stack" / "cdk_cli"
CDK_ENV = "MLCC_CI_CDK"  # a CDK CLI to use instead of the pinned one
NPM_FLAGS = ("--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error")


class StackError(MlccError):
    """The stack could not be synthesized or handed to the CDK CLI."""


@dataclass(frozen=True)
class Synthesized:
    out: Path
    stack: str
    template: Path
    catalog: Path
    entries: int


def _needs_cdk() -> UsageError:
    return UsageError(
        "the stack needs the CDK libraries, which a plain install leaves out: "
        "pip install 'mlcc-ci[stack]' (or pipx inject mlcc-ci 'mlcc-ci[stack]')"
    )


def synth(
    out: Path,
    *,
    region: str | None,
    context: Mapping[str, str],
    nag: bool = True,
    starting: Callable[[], None] | None = None,
) -> Synthesized:
    """Write the cloud assembly into `out` (replaced), for the catalog in use; `starting`
    is called once the catalog and region are found fit, before the slow part."""
    # jsii starts Node when aws_cdk is imported: its Node-version banner is no news here
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    try:
        from mlcc_ci.stack.app import build_app
    except ImportError as exc:
        if (exc.name or "").split(".")[0] in ("aws_cdk", "cdk_nag", "constructs", "jsii"):
            raise _needs_cdk() from None
        raise
    from mlcc_ci import settings
    from mlcc_ci.catalog import load_valid_catalog
    from mlcc_ci.resources import catalog_dir
    from mlcc_ci.stack.assets import stack_catalog

    catalog = load_valid_catalog()  # every problem, one line each, before jsii starts
    try:  # the stack deploys each configuration to its own region: one it may deploy to
        stack_catalog(region)
    except RuntimeError as exc:
        raise UsageError(str(exc)) from None
    if starting is not None:
        starting()
    if out.exists():
        shutil.rmtree(out)
    settings.make_folder(out.parent)  # a .mlcc-ci/ made here ignores itself
    try:
        app = build_app(str(out), nag=nag, context=dict(context), region=region)
        assembly = app.synth()
    except ValueError as exc:  # a context value the stack cannot take
        raise UsageError(str(exc)) from None
    except RuntimeError as exc:  # staging an asset failed (its message says which)
        raise StackError(str(exc)) from None
    (stack,) = assembly.stacks  # cdk-nag findings fail app.synth() itself
    return Synthesized(
        out=out,
        stack=stack.stack_name,
        template=out / stack.template_file,
        catalog=catalog_dir(),
        entries=len(catalog.entries),
    )


def cli_home(env: Mapping[str, str] = os.environ) -> Path:
    from mlcc_ci.settings import data_dir

    version = json.loads((CLI_LOCK_DIR / "package.json").read_text())["dependencies"]["aws-cdk"]
    return data_dir(env) / "cdk-cli" / version


def cdk_command(env: Mapping[str, str] = os.environ) -> list[str]:
    """The CDK CLI: MLCC_CI_CDK if set, else the pinned one (installed on first use)."""
    if given := env.get(CDK_ENV):
        return [given]
    home = cli_home(env)
    cdk = home / "node_modules" / ".bin" / "cdk"
    if cdk.is_file():
        return [str(cdk)]
    npm = shutil.which("npm", path=env.get("PATH"))
    if npm is None:
        raise UsageError("deploying needs Node.js 20+ with npm (for the CDK CLI): none on PATH")
    home.mkdir(parents=True, exist_ok=True)
    for name in ("package.json", "package-lock.json"):
        shutil.copyfile(CLI_LOCK_DIR / name, home / name)
    result = subprocess.run(
        [npm, "ci", *NPM_FLAGS],
        cwd=home,
        env={**env, "npm_config_update_notifier": "false"},
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0 or not cdk.is_file():
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise StackError(f"installing the CDK CLI into {home} failed: {last}")
    return [str(cdk)]


def deploy_command(
    synthesized: Synthesized, extra: Sequence[str], env: Mapping[str, str] = os.environ
) -> list[str]:
    """`cdk deploy` of the synthesized assembly (no second synth: --app is the assembly)."""
    return [
        *cdk_command(env),
        "deploy",
        "--app",
        str(synthesized.out),
        synthesized.stack,
        "--no-notices",
        *extra,
    ]


def run_cdk(command: Sequence[str], env: Mapping[str, str] = os.environ) -> int:
    """Run the CDK CLI attached to this terminal (it asks before broadening IAM)."""
    run_env = {**env, "CDK_DISABLE_CLI_TELEMETRY": "true"}
    try:
        return subprocess.run(list(command), env=run_env, check=False).returncode
    except OSError as exc:
        raise StackError(f"cannot run {command[0]}: {exc.strerror}") from None
