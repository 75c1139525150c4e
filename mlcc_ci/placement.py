"""Whether SageMaker can place a generated project's inference components, read from its
files before anything is built or paid for.

SageMaker accepts CreateInferenceComponent and only then finds that no instance of the
endpoint can hold it: the component goes `Failed` after the endpoint has been paid for. A
generated project says what each component asks for in `do/ic/<name>.conf`
(`IC_GPU_COUNT`, `IC_MIN_MEMORY_MB`, `IC_COPY_COUNT`; do/lib/inference-component.sh sends
them as ComputeResourceRequirements, with 1 accelerator and 1024 MB when unset) and where
it goes in `do/config` (`INSTANCE_TYPE`). Both are parsed, never run (doconfig).
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlcc_ci import doconfig
from mlcc_ci.catalog import display, line_of
from mlcc_ci.projectcheck import read_project_file


@dataclass(frozen=True)
class Instance:
    vcpus: int
    memory_mb: int
    accelerators: int  # GPUs or AWS Inferentia devices


# The instance types the catalogs use and their neighbours, from "Amazon SageMaker AI
# pricing" (https://aws.amazon.com/sagemaker/pricing/, the instance details of real-time
# inference) and "Accelerated computing" of the EC2 instance types
# (https://docs.aws.amazon.com/ec2/latest/instancetypes/ac.html). A type not listed is
# not predicted: nothing is said about it.
INSTANCES: dict[str, Instance] = {
    "ml.t2.medium": Instance(2, 4096, 0),
    "ml.m5.large": Instance(2, 8192, 0),
    "ml.m5.xlarge": Instance(4, 16384, 0),
    "ml.m5.2xlarge": Instance(8, 32768, 0),
    "ml.m5.4xlarge": Instance(16, 65536, 0),
    "ml.c5.large": Instance(2, 4096, 0),
    "ml.c5.xlarge": Instance(4, 8192, 0),
    "ml.c5.2xlarge": Instance(8, 16384, 0),
    "ml.g5.xlarge": Instance(4, 16384, 1),
    "ml.g5.2xlarge": Instance(8, 32768, 1),
    "ml.g5.4xlarge": Instance(16, 65536, 1),
    "ml.g5.8xlarge": Instance(32, 131072, 1),
    "ml.g5.12xlarge": Instance(48, 196608, 4),
    "ml.g5.24xlarge": Instance(96, 393216, 4),
    "ml.g5.48xlarge": Instance(192, 786432, 8),
    "ml.g6.xlarge": Instance(4, 16384, 1),
    "ml.g6.2xlarge": Instance(8, 32768, 1),
    "ml.g6.12xlarge": Instance(48, 196608, 4),
    "ml.g6.48xlarge": Instance(192, 786432, 8),
    "ml.p4d.24xlarge": Instance(96, 1179648, 8),
    "ml.inf2.xlarge": Instance(4, 16384, 1),
    "ml.inf2.24xlarge": Instance(96, 393216, 6),
}

# What do/lib/inference-component.sh sends when a .conf leaves a value unset.
_DEFAULTS = {"IC_GPU_COUNT": "1", "IC_MIN_MEMORY_MB": "1024", "IC_COPY_COUNT": "1"}


def _number(text: str | None) -> float | None:
    try:
        return float(text) if text is not None else None
    except ValueError:
        return None


def predict(project: Path) -> list[str]:
    """Why SageMaker could not place the project's inference components on its instance
    type, one sentence each; empty when they fit or nothing can be told."""
    config = doconfig.values(project / "do" / "config", {})
    instance_type = config.get("INSTANCE_TYPE", "")
    instance = INSTANCES.get(instance_type)
    ic_dir = project / "do" / "ic"
    if instance is None or not ic_dir.is_dir():
        return []
    problems = []
    for conf in sorted(ic_dir.glob("*.conf")):
        values = {**_DEFAULTS, **doconfig.values(conf, config)}
        copies = _number(values["IC_COPY_COUNT"]) or 1
        asks = [
            (_number(values["IC_GPU_COUNT"]), instance.accelerators, "accelerator device(s)"),
            (_number(values["IC_MIN_MEMORY_MB"]), instance.memory_mb, "MB of memory"),
        ]
        where = f"do/ic/{conf.name}"
        for need, have, what in asks:
            if need is None:
                continue
            if need > have:
                problems.append(
                    f"Unable to place inference component {conf.stem} ({where}) on "
                    f"{instance_type}: it requires {need:g} {what} per copy and instance "
                    f"type {instance_type} has {have}"
                )
                break
            if need * copies > have:
                problems.append(
                    f"Unable to place inference component {conf.stem} ({where}) on "
                    f"{instance_type}: it requires {need * copies:g} {what} for its "
                    f"{copies:g} copies and instance type {instance_type} has {have}"
                )
                break
    return problems


# The generator's script that creates inference components (its template, as the installed
# package ships it): an accelerator request it always sends, whatever the instance type.
IC_SCRIPT = Path("templates") / "do" / "lib" / "inference-component.sh"
_ALWAYS_ACCELERATORS = re.compile(
    r'NumberOfAcceleratorDevicesRequired\\?"\s*:\s*\$\{IC_GPU_COUNT:-[1-9]'
)


def catalog_warnings(entries: Iterable[Any], generator_root: Path, version: str) -> list[str]:
    """For supported entries deployed as inference components on an instance type with no
    accelerator, when the installed generator's own script always asks for one: SageMaker
    will not place them. FILE:LINE: ENTRY $.instanceType: warning lines (the catalog is
    valid; the generator is what fails)."""
    script = generator_root / IC_SCRIPT
    data = read_project_file(script)
    if data is None or not _ALWAYS_ACCELERATORS.search(data.decode("utf-8", errors="replace")):
        return []
    out = []
    for entry in entries:
        instance_type = str(entry.data.get("instanceType", ""))
        instance = INSTANCES.get(instance_type)
        realtime = entry.config.get("deploymentTarget") == "realtime-inference"
        if not entry.supported or not realtime or instance is None or instance.accelerators:
            continue
        line = line_of(entry.lines, ("instanceType",))
        out.append(
            f"{display(entry.path)}:{line}: {entry.name} $.instanceType: warning: generator "
            f"{version} asks each inference component for at least 1 accelerator "
            f"({IC_SCRIPT.as_posix()}: IC_GPU_COUNT, default 1) and {instance_type} has none: "
            "SageMaker will not place it, deploy_test will fail"
        )
    return out
