"""What the CI prefix's endpoints cost now, as CloudWatch metrics: how many are InService and
how old the oldest is. Each sweep publishes both, after it deleted what it could; alarms
(mlcc_ci/stack/alarms.py) watch them, so a leak the sweeper cannot delete, or a run
that keeps an endpoint far past its budget, reaches people."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mlcc_ci import clock

ENDPOINTS_IN_SERVICE = "EndpointsInService"
OLDEST_ENDPOINT_MINUTES = "OldestEndpointMinutes"
PREFIX_DIMENSION = "Prefix"  # two stacks of other prefixes in one region never mix
GONE = ("Deleting", "Failed")  # not serving, and not billed as an instance


@dataclass(frozen=True)
class Fleet:
    in_service: int
    oldest_minutes: float  # 0 when there is none


def measure(endpoints: Iterable[dict[str, Any]], prefix: str, now: datetime) -> Fleet:
    """From ListEndpoints' items: the InService ones under the prefix, and the age of the
    oldest one under it that is not being deleted (or failed)."""
    mine = [e for e in endpoints if str(e["EndpointName"]).startswith(f"{prefix}-")]
    in_service = sum(1 for e in mine if e.get("EndpointStatus") == "InService")
    ages = [
        (now - _created(e["CreationTime"])).total_seconds() / 60
        for e in mine
        if e.get("EndpointStatus") not in GONE
    ]
    return Fleet(in_service, round(max(ages, default=0.0), 1))


def listed(sagemaker: Any, prefix: str) -> list[dict[str, Any]]:
    pages = sagemaker.get_paginator("list_endpoints").paginate(NameContains=prefix)
    return [e for page in pages for e in page["Endpoints"]]


def publish(cloudwatch: Any, namespace: str, prefix: str, fleet: Fleet, now: datetime) -> None:
    dimensions = [{"Name": PREFIX_DIMENSION, "Value": prefix}]
    cloudwatch.put_metric_data(
        Namespace=namespace,
        MetricData=[
            {
                "MetricName": ENDPOINTS_IN_SERVICE,
                "Dimensions": dimensions,
                "Timestamp": now,
                "Value": float(fleet.in_service),
                "Unit": "Count",
            },
            {
                "MetricName": OLDEST_ENDPOINT_MINUTES,
                "Dimensions": dimensions,
                "Timestamp": now,
                "Value": float(fleet.oldest_minutes),
                "Unit": "None",
            },
        ],
    )


def _created(value: Any) -> datetime:
    return value if isinstance(value, datetime) else clock.parse(str(value))
