"""Static profile: `mlcc-ci run --all --profile static --jobs 2` against the generator's own
time for the same work.

The generator's own time is what the real generator and its project's do/validate take when
run directly, two at a time, on every supported entry (the same config files, the same
prepared validate environment). The harness time is the whole `mlcc-ci run` command, from
process start to exit: claims, stores, static checks, logs and the summary included.
Budget (DESIGN.md §10): at most 1.05.

Needs the pinned generator: `make generator` (or `mlcc-ci generator install`).
Run: MLCC_CI_GENERATOR_HOME=.generator .venv/bin/python benchmarks/bench_static.py
"""

import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from mlcc_ci import generator, validate_env
from mlcc_ci.catalog import load_valid_catalog
from mlcc_ci.profiles import load_profile

ROUNDS = 5
JOBS = 2


def direct(entries: list, env: dict[str, str], root: Path) -> float:
    """Each entry: the static profile's generate command, then ./do/validate."""
    command = load_profile(load_valid_catalog(), "static").stage_specs(entries[0])["generate"]

    def one(entry) -> None:
        work = Path(tempfile.mkdtemp(dir=root))
        config = work / "config.json"
        config.write_text(json.dumps(entry.config))
        project = work / entry.config["projectName"]
        stage_env = {**env, "MLCC_CONFIG_FILE": str(config), "MLCC_PROJECT_DIR": str(project)}
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "check": True}
        subprocess.run(["bash", "-c", command.command or ""], cwd=work, env=stage_env, **quiet)
        prepared = validate_env.prepare(
            generator.home(env) / "validate-env", stage_env, work / "validate-home"
        )
        subprocess.run(["./do/validate"], cwd=project, env=prepared, **quiet)

    start = time.perf_counter()
    with ThreadPoolExecutor(JOBS) as pool:
        list(pool.map(one, entries))
    return time.perf_counter() - start


def harness(env: dict[str, str], root: Path) -> float:
    cli = [str(Path(sys.executable).parent / "mlcc-ci")]
    args = ["run", "--all", "--profile", "static", "--jobs", str(JOBS), "--work-dir", str(root)]
    start = time.perf_counter()
    done = subprocess.run([*cli, *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    # exit 1: configurations failed (with generator 1.6.0 http-flask and http-fastapi do, for
    # real); anything else is the harness's own failure
    if done.returncode not in (0, 1):
        raise SystemExit(f"mlcc-ci run exited {done.returncode}: {done.stderr[-500:]!r}")
    return time.perf_counter() - start


def main() -> None:
    catalog = load_valid_catalog()
    pin = generator.pin_of(catalog.defaults)
    installed = generator.require(pin, os.environ)
    entries = [e for e in catalog.entries if e.supported]
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        env = {
            **os.environ,
            "XDG_DATA_HOME": str(base / "xdg"),
            generator.HOME_ENV: str(generator.home(os.environ)),
        }
        env.update(installed.stage_env(env))
        cold = harness(env, base / "cold")  # prepares the validate environment once
        direct_times, harness_times = [], []
        for i in range(ROUNDS):
            direct_times.append(direct(entries, env, Path(tempfile.mkdtemp(dir=base))))
            harness_times.append(harness(env, base / f"run{i}"))
    d, h = statistics.median(direct_times), statistics.median(harness_times)
    print(f"generator {installed.version}, {len(entries)} supported entries, --jobs {JOBS}")
    print(f"  generator + do/validate directly   {d:6.2f} s  (median of {ROUNDS})")
    print(f"  mlcc-ci run --all --profile static {h:6.2f} s  (median of {ROUNDS})")
    print(f"  first run (prepares validate env)  {cold:6.2f} s")
    print(f"  ratio harness / generator          {h / d:6.3f}  (budget 1.05)")
    print(f"  command: {shlex.join(['mlcc-ci', 'run', '--all', '--profile', 'static'])}")


if __name__ == "__main__":
    main()
