"""SageMaker hosting in the simulated account refuses, or fails, what SageMaker would: an
inference component that does not fit on its endpoint's instances, a delete while
Creating, an endpoint name that exists, an endpoint past its instance type's quota; and its
states move with a clock the test controls."""

import time

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.twin.hosting import (
    COMPONENT_CREATION,
    COMPONENT_DELETION,
    ENDPOINT_CREATION,
)
from tests.twin.instances import INSTANCES, new_account_quotas

pytestmark = pytest.mark.functional
REGION = "us-east-1"
REPOSITORY = "mlcc-ci-images"
IMAGE = f"123456789012.dkr.ecr.{REGION}.amazonaws.com/{REPOSITORY}:p-latest"
ARN = f"arn:aws:sagemaker:{REGION}:123456789012"


@pytest.fixture
def sm(twin):
    """A SageMaker client of the twin, whose clock moves only when the test advances it
    (speed 1: a few real milliseconds are nothing beside minutes of twin time)."""
    twin.hosting.clock.speed = 1
    boto3.client("ecr", region_name=REGION).create_repository(repositoryName=REPOSITORY)
    twin.push_image(
        REGION, REPOSITORY, "p", 'export PROJECT_NAME="p"\nexport FRAMEWORK="http"\n', ["p-latest"]
    )
    return boto3.client("sagemaker", region_name=REGION)


def _endpoint(sm, name: str, instance: str, count: int = 1, *, settle=None) -> None:
    sm.create_endpoint_config(
        EndpointConfigName=f"{name}-config",
        ProductionVariants=[
            {"VariantName": "AllTraffic", "InstanceType": instance, "InitialInstanceCount": count}
        ],
    )
    sm.create_endpoint(EndpointName=name, EndpointConfigName=f"{name}-config")
    if settle is not None:
        settle.advance(ENDPOINT_CREATION)
        assert _status(sm, name) == "InService"


def _status(sm, endpoint: str) -> str:
    return sm.describe_endpoint(EndpointName=endpoint)["EndpointStatus"]


def _component(sm, name: str, endpoint: str, copies: int = 1, **needs) -> None:
    sm.create_inference_component(
        InferenceComponentName=name,
        EndpointName=endpoint,
        VariantName="AllTraffic",
        Specification={
            "Container": {"Image": IMAGE},
            "ComputeResourceRequirements": {"MinMemoryRequiredInMb": 1024, **needs},
        },
        RuntimeConfig={"CopyCount": copies},
    )


def _ic(sm, name: str) -> dict:
    return sm.describe_inference_component(InferenceComponentName=name)


def _refused(call, *args, **kwargs) -> tuple[str, str, int]:
    with pytest.raises(ClientError) as caught:
        call(*args, **kwargs)
    error, meta = caught.value.response["Error"], caught.value.response["ResponseMetadata"]
    return error["Code"], error["Message"], meta["HTTPStatusCode"]


def _unplaceable(name: str, need: str, instance: str, have: str) -> str:
    return (
        f"Unable to place inference component {name}: it requires {need} per copy and "
        f"instance type {instance} has {have}."
    )


@pytest.mark.parametrize(
    ("instance", "copies", "needs", "need", "have"),
    [
        # the pinned generator's http-flask: 1 accelerator on a CPU instance
        (
            "ml.m5.large",
            1,
            {"NumberOfAcceleratorDevicesRequired": 1},
            "1 accelerator device(s)",
            "0",
        ),
        ("ml.g5.xlarge", 1, {"MinMemoryRequiredInMb": 32768}, "32768 MB of memory", "16384 MB"),
        ("ml.m5.large", 1, {"NumberOfCpuCoresRequired": 3}, "3 CPU core(s)", "2"),
        # one instance, one GPU: the second copy has nowhere to go
        (
            "ml.g5.xlarge",
            2,
            {"NumberOfAcceleratorDevicesRequired": 1},
            "1 accelerator device(s)",
            "0",
        ),
    ],
    ids=["accelerator-on-cpu", "memory", "cpu-cores", "second-copy"],
)
def test_a_component_that_cannot_be_placed_fails_and_the_endpoint_stays(
    twin, sm, instance, copies, needs, need, have
):
    _endpoint(sm, "ep", instance, settle=twin.hosting.clock)
    _component(sm, "ic", "ep", copies, **needs)  # accepted: placing is asynchronous
    assert _ic(sm, "ic")["InferenceComponentStatus"] == "Creating"
    twin.hosting.clock.advance(COMPONENT_CREATION)
    described = _ic(sm, "ic")
    assert described["InferenceComponentStatus"] == "Failed"
    assert described["FailureReason"] == _unplaceable("ic", need, instance, have)
    assert _status(sm, "ep") == "InService"


def test_a_component_that_fits_goes_in_service_beside_its_peers(twin, sm):
    _endpoint(sm, "ep", "ml.m5.large", settle=twin.hosting.clock)
    _component(sm, "small", "ep", 1, MinMemoryRequiredInMb=4096, NumberOfCpuCoresRequired=1)
    _component(sm, "rest", "ep", 1, MinMemoryRequiredInMb=4096, NumberOfCpuCoresRequired=1)
    _component(sm, "one-more", "ep", 1, MinMemoryRequiredInMb=128)
    twin.hosting.clock.advance(COMPONENT_CREATION)
    assert _ic(sm, "small")["InferenceComponentStatus"] == "InService"
    assert _ic(sm, "rest")["InferenceComponentStatus"] == "InService"
    assert _ic(sm, "one-more")["FailureReason"] == _unplaceable(
        "one-more", "128 MB of memory", "ml.m5.large", "0 MB"
    )


def test_four_gpus_take_four_copies_and_not_a_fifth(twin, sm):
    assert INSTANCES["ml.g5.12xlarge"].accelerators == 4
    _endpoint(sm, "ep", "ml.g5.12xlarge", settle=twin.hosting.clock)
    _component(sm, "four", "ep", 4, NumberOfAcceleratorDevicesRequired=1)
    twin.hosting.clock.advance(COMPONENT_CREATION)
    four = _ic(sm, "four")
    assert four["InferenceComponentStatus"] == "InService"
    assert four["RuntimeConfig"] == {"DesiredCopyCount": 4, "CurrentCopyCount": 4}
    _component(sm, "fifth", "ep", 1, NumberOfAcceleratorDevicesRequired=1)
    twin.hosting.clock.advance(COMPONENT_CREATION)
    assert _ic(sm, "fifth")["FailureReason"] == _unplaceable(
        "fifth", "1 accelerator device(s)", "ml.g5.12xlarge", "0"
    )
    # a failed component holds nothing; an update's copy count is placed the same way
    sm.update_inference_component(InferenceComponentName="four", RuntimeConfig={"CopyCount": 5})
    assert _ic(sm, "four")["InferenceComponentStatus"] == "Updating"
    twin.hosting.clock.advance(COMPONENT_CREATION)
    assert _ic(sm, "four")["FailureReason"] == _unplaceable(
        "four", "1 accelerator device(s)", "ml.g5.12xlarge", "0"
    )
    assert _status(sm, "ep") == "InService"


def test_a_failed_component_holds_nothing(twin, sm):
    _endpoint(sm, "ep", "ml.g5.xlarge", settle=twin.hosting.clock)
    _component(sm, "two", "ep", 2, NumberOfAcceleratorDevicesRequired=1)  # one would fit
    _component(sm, "one", "ep", 1, NumberOfAcceleratorDevicesRequired=1)
    twin.hosting.clock.advance(COMPONENT_CREATION)
    assert _ic(sm, "two")["InferenceComponentStatus"] == "Failed"
    assert _ic(sm, "one")["InferenceComponentStatus"] == "InService"


def test_two_instances_double_the_room(twin, sm):
    _endpoint(sm, "ep", "ml.g5.xlarge", 2, settle=twin.hosting.clock)
    _component(sm, "ic", "ep", 2, NumberOfAcceleratorDevicesRequired=1)
    twin.hosting.clock.advance(COMPONENT_CREATION)
    assert _ic(sm, "ic")["InferenceComponentStatus"] == "InService"


def test_nothing_is_deleted_while_creating(twin, sm):
    _endpoint(sm, "ep", "ml.m5.large")
    assert _refused(sm.delete_endpoint, EndpointName="ep") == (
        "ValidationException",
        f'Cannot delete in-progress endpoint "{ARN}:endpoint/ep".',
        400,
    )
    twin.hosting.clock.advance(ENDPOINT_CREATION)
    _component(sm, "ic", "ep")
    assert _refused(sm.delete_inference_component, InferenceComponentName="ic") == (
        "ValidationException",
        f'Cannot delete in-progress inference component "{ARN}:inference-component/ic".',
        400,
    )
    twin.hosting.clock.advance(COMPONENT_CREATION)
    sm.delete_inference_component(InferenceComponentName="ic")  # InService: it goes
    assert _ic(sm, "ic")["InferenceComponentStatus"] == "Deleting"


def test_an_endpoint_name_that_exists_is_refused(twin, sm):
    _endpoint(sm, "ep", "ml.m5.large")
    assert _refused(sm.create_endpoint, EndpointName="ep", EndpointConfigName="ep-config") == (
        "ValidationException",
        f'Cannot create already existing endpoint "{ARN}:endpoint/ep".',
        400,
    )


def _quota(kind: str, limit: int, used: int, delta: int) -> str:
    return (
        f"The account-level service limit '{kind} for endpoint usage' is {limit} Instances, "
        f"with current utilization of {used} Instances and a request delta of {delta} "
        "Instances. Please use AWS Service Quotas to request an increase for this quota. If "
        "AWS Service Quotas is not available, contact AWS support to request an increase for "
        "this quota."
    )


def test_a_new_account_has_no_gpu_for_endpoints(new_account_twin):
    assert new_account_quotas() == {
        "ml.g5.xlarge": 0,
        "ml.g5.2xlarge": 0,
        "ml.g5.12xlarge": 0,
        "ml.g6.12xlarge": 0,
    }
    sm = boto3.client("sagemaker", region_name=REGION)
    sm.create_endpoint_config(
        EndpointConfigName="gpu",
        ProductionVariants=[
            {"VariantName": "AllTraffic", "InstanceType": "ml.g5.xlarge", "InitialInstanceCount": 1}
        ],
    )
    assert _refused(sm.create_endpoint, EndpointName="gpu", EndpointConfigName="gpu") == (
        "ResourceLimitExceeded",
        _quota("ml.g5.xlarge", 0, 0, 1),
        400,
    )
    assert sm.list_endpoints()["Endpoints"] == []
    _endpoint(sm, "cpu", "ml.m5.large")
    assert _status(sm, "cpu") == "Creating"


def test_a_quota_of_one_allows_one_endpoint_at_a_time(twin, sm):
    twin.set_quotas({"ml.g5.xlarge": 1})
    _endpoint(sm, "first", "ml.g5.xlarge", settle=twin.hosting.clock)
    sm.create_endpoint_config(
        EndpointConfigName="second-config",
        ProductionVariants=[
            {"VariantName": "AllTraffic", "InstanceType": "ml.g5.xlarge", "InitialInstanceCount": 1}
        ],
    )
    assert _refused(
        sm.create_endpoint, EndpointName="second", EndpointConfigName="second-config"
    ) == (
        "ResourceLimitExceeded",
        _quota("ml.g5.xlarge", 1, 1, 1),
        400,
    )
    sm.delete_endpoint(EndpointName="first")  # Deleting: its instance is given back
    sm.create_endpoint(EndpointName="second", EndpointConfigName="second-config")
    assert _status(sm, "second") == "Creating"
    assert twin.reset().hosting.quotas == {}  # the next test's account has no quota


def test_states_move_with_the_clock_and_advance_jumps_it(twin, sm):
    clock = twin.hosting.clock
    _endpoint(sm, "ep", "ml.m5.large")
    created = sm.describe_endpoint(EndpointName="ep")["CreationTime"]
    clock.advance(ENDPOINT_CREATION - 5)
    assert _status(sm, "ep") == "Creating"
    clock.advance(6)
    assert _status(sm, "ep") == "InService"
    _component(sm, "ic", "ep")
    clock.advance(COMPONENT_CREATION - 5)
    assert _ic(sm, "ic")["InferenceComponentStatus"] == "Creating"
    clock.advance(3600)
    component = _ic(sm, "ic")
    assert component["InferenceComponentStatus"] == "InService"
    # timestamps follow the clock's jumps
    later = (component["CreationTime"] - created).total_seconds()
    assert ENDPOINT_CREATION + 1 <= later < ENDPOINT_CREATION + 5


def test_settle_seconds_is_the_real_time_an_endpoint_takes(twin):
    assert twin.settle_seconds == 0.2  # conftest's Twin(settle_seconds=0.2)
    assert twin.hosting.clock.speed == pytest.approx(ENDPOINT_CREATION / 0.2)
    sm = boto3.client("sagemaker", region_name=REGION)
    _endpoint(sm, "ep", "ml.m5.large")
    started = time.monotonic()
    while _status(sm, "ep") == "Creating":
        assert time.monotonic() - started < 5
        time.sleep(0.02)
    assert time.monotonic() - started >= 0.15 and _status(sm, "ep") == "InService"
    _endpoint(sm, "under-way", "ml.m5.large")
    twin.hosting.settle_seconds = 30  # the clock slows down: deleting now takes 5 s
    assert twin.hosting.clock.speed == pytest.approx(ENDPOINT_CREATION / 30)
    sm.delete_endpoint(EndpointName="ep")
    time.sleep(0.3)
    assert _status(sm, "ep") == "Deleting"
    assert _status(sm, "under-way") == "InService"  # what was under way kept its 0.2 s


def test_a_slow_delete_takes_real_seconds_whatever_the_clock(twin, sm):
    _endpoint(sm, "ep", "ml.m5.large", settle=twin.hosting.clock)
    _component(sm, "ic", "ep")
    twin.hosting.clock.advance(COMPONENT_CREATION)
    twin.faults.add("slow-delete", "ic")
    sm.delete_inference_component(InferenceComponentName="ic")
    twin.hosting.clock.advance(100 * COMPONENT_DELETION)
    assert _ic(sm, "ic")["InferenceComponentStatus"] == "Deleting"
