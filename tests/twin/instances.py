"""What each ML instance type the catalog uses offers an inference component, and whether a
component's copies fit on an endpoint's instances.

The table: vCPUs, memory and accelerators of the EC2 instance type behind each SageMaker
`ml.` type (SageMaker hosts on the same hardware):
- general purpose (m5): https://docs.aws.amazon.com/ec2/latest/instancetypes/gp.html
- accelerated (g5, g6): https://docs.aws.amazon.com/ec2/latest/instancetypes/ac.html, and
  the same rows in https://docs.aws.amazon.com/batch/latest/userguide/gpu-jobs.html
- per `ml.` type (vCPU, memory, GPUs): https://aws.amazon.com/sagemaker/pricing/

Memory SageMaker keeps for itself on an instance (its agents, the OS) is not documented: the
twin assumes none, so a component may take all of an instance's memory. SageMaker's "MB" in
`MinMemoryRequiredInMb` is compared with the instance's MiB as is.
"""

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class InstanceType:
    vcpus: int
    memory_mib: int
    accelerators: int  # GPUs or Inferentia devices
    accelerator: str = ""  # their kind; "" for none


INSTANCES: dict[str, InstanceType] = {
    "ml.m5.large": InstanceType(2, 8 * 1024, 0),
    "ml.g5.xlarge": InstanceType(4, 16 * 1024, 1, "NVIDIA A10G"),
    "ml.g5.2xlarge": InstanceType(8, 32 * 1024, 1, "NVIDIA A10G"),
    "ml.g5.12xlarge": InstanceType(48, 192 * 1024, 4, "NVIDIA A10G"),
    "ml.g6.12xlarge": InstanceType(48, 192 * 1024, 4, "NVIDIA L4"),
}


def new_account_quotas() -> dict[str, int]:
    """Endpoint instance quotas of a new account: 0 for every accelerated type in the table
    (what new accounts are often given; CPU types keep their default, unlimited here)."""
    return {name: 0 for name, spec in INSTANCES.items() if spec.accelerators}


# SageMaker places an inference component's copies on the endpoint's instances; one that
# does not fit leaves the component Failed with a FailureReason while the endpoint stays
# InService (CreateInferenceComponent is asynchronous). Each copy takes
# Specification.ComputeResourceRequirements:
# https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_InferenceComponentComputeResourceRequirements.html
# and there are RuntimeConfig.CopyCount copies (minimum 0):
# https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_InferenceComponentRuntimeConfig.html
UNPLACEABLE = (
    "Unable to place inference component {name}: it requires {need} per copy and instance "
    "type {instance} has {have}."
)


@dataclass(frozen=True)
class Copy:
    """What one copy of a component takes: accelerators, memory (MB) and CPU cores."""

    accelerators: float = 0.0
    memory_mb: float = 0.0
    cpus: float = 0.0

    @classmethod
    def of(cls, specification: dict[str, Any]) -> "Copy":
        needs = specification.get("ComputeResourceRequirements") or {}
        return cls(
            float(needs.get("NumberOfAcceleratorDevicesRequired") or 0),
            float(needs.get("MinMemoryRequiredInMb") or 0),
            float(needs.get("NumberOfCpuCoresRequired") or 0),
        )

    def values(self) -> tuple[float, float, float]:
        return (self.accelerators, self.memory_mb, self.cpus)


def _number(value: float) -> str:
    return str(int(value)) if value == int(value) else str(value)


# the order resources are checked in, and how a reason names each: (need, have)
_SAID = (
    (lambda v: f"{_number(v)} accelerator device(s)", _number),
    (lambda v: f"{_number(v)} MB of memory", lambda v: f"{_number(v)} MB"),
    (lambda v: f"{_number(v)} CPU core(s)", _number),
)


def unplaceable(
    name: str,
    instance: str,
    count: int,
    placed: list[tuple[Copy, int]],
    copy: Copy,
    copies: int,
) -> str:
    """Why `copies` copies of `copy` cannot go on `count` instances of `instance` beside the
    copies already `placed` there, each copy on one instance ("" when they all fit). An
    instance type not in the table is not checked."""
    spec = INSTANCES.get(instance)
    if spec is None or copies <= 0:
        return ""
    free = [
        [float(spec.accelerators), float(spec.memory_mib), float(spec.vcpus)] for _ in range(count)
    ]

    def fit(one: Copy) -> bool:
        for left in free:  # first fit
            if all(n <= h for n, h in zip(one.values(), left, strict=True)):
                for i, n in enumerate(one.values()):
                    left[i] -= n
                return True
        return False

    for other, number in placed:
        for _ in range(number):
            fit(other)
    for _ in range(copies):
        if fit(copy):
            continue
        needs = copy.values()
        for i, (need, have) in enumerate(_SAID):
            most = max((left[i] for left in free), default=0.0)
            if needs[i] > most:  # no instance has enough of this one
                return UNPLACEABLE.format(
                    name=name, need=need(needs[i]), instance=instance, have=have(most)
                )
        # each resource is free somewhere, never all on one instance: the first's shortfall
        i = next(i for i in range(3) if needs[i] > free[0][i])
        need, have = _SAID[i]
        return UNPLACEABLE.format(
            name=name, need=need(needs[i]), instance=instance, have=have(free[0][i])
        )
    return ""
