"""SageMaker real-time hosting as the generated do-scripts meet it, which moto 5.2 lacks:
endpoint configs for inference components (no model in the variant), endpoints and
inference components whose states move with the twin's clock (Creating → InService or
Failed, Deleting → gone), and a container that answers `InvokeEndpoint` the way its
framework's server would (container.py).

Rules kept from the real service, each with its source where it is enforced: an endpoint
name is unique; an endpoint's instances count against the account's per-instance-type
quota; an inference component needs an InService endpoint, room on its instances
(instances.py) and an image that exists in ECR; neither can be deleted while Creating; an
endpoint cannot be deleted while inference components remain on it; invoking an endpoint
that has inference components needs the component's name. Faults (see `Faults`) make an
endpoint fail for lack of capacity, an inference component fail its health check, or one
stay Creating.
"""

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.twin.account import ACCOUNT, ApiError, missing
from tests.twin.clock import Clock
from tests.twin.configs import ConfigsAndModels
from tests.twin.container import answer, emptied
from tests.twin.hostingtexts import (
    CAPACITY,
    COMPONENT_CREATION,
    COMPONENT_DELETION,
    COMPONENT_UPDATE,
    ENDPOINT_CREATION,
    ENDPOINT_DELETION,
    HANG_SECONDS,
    HUNG,
    IN_PROGRESS,
    QUOTA,
    SLOW_DELETE_SECONDS,
    UNHEALTHY,
)
from tests.twin.instances import Copy, unplaceable

__all__ = [
    "ACCOUNT",
    "COMPONENT_CREATION",
    "COMPONENT_DELETION",
    "ENDPOINT_CREATION",
    "ApiError",
    "Hosting",
]


@dataclass
class Resource:
    """An endpoint or inference component: a status that moves when its time comes."""

    name: str
    kind: str  # endpoint | inference-component
    region: str
    status: str = "Creating"
    settle_at: float = 0.0  # twin time when Creating/Updating/Deleting ends
    settle_real: float | None = None  # or a real (monotonic) deadline, for real-time faults
    settles_to: str = "InService"  # or Failed, or "" (gone) for Deleting
    failure: str = ""
    created: float = 0.0
    modified: float = 0.0
    spec: dict[str, Any] = field(default_factory=dict)

    @property
    def arn(self) -> str:
        return f"arn:aws:sagemaker:{self.region}:{ACCOUNT}:{self.kind}/{self.name.lower()}"

    def tick(self, now: float, real: float) -> None:
        due = real >= self.settle_real if self.settle_real is not None else now >= self.settle_at
        if self.status in ("Creating", "Updating", "Deleting") and due:
            self.status = self.settles_to

    @property
    def gone(self) -> bool:
        return self.status == ""


class Hosting(ConfigsAndModels):
    def __init__(
        self,
        faults: "Any",
        image_of: Callable[[str, str], dict[str, str] | None],
        *,
        settle_seconds: float = 0.3,
        clock: Clock | None = None,
        quotas: dict[str, int] | None = None,
    ) -> None:
        self.faults = faults
        self.image_of = image_of  # (region, image URI) -> the image's labels, or None
        # settle_seconds: the real time an endpoint takes to be created (the clock's speed)
        self.clock = clock or Clock(ENDPOINT_CREATION / settle_seconds)
        # instance type -> instances allowed for endpoint usage; a type not here is unlimited
        self.quotas: dict[str, int] = dict(quotas or {})
        self.lock = threading.Lock()
        self.configs: dict[str, dict[str, Any]] = {}
        self.models: dict[str, dict[str, Any]] = {}
        self.endpoints: dict[str, Resource] = {}
        self.components: dict[str, Resource] = {}

    @property
    def settle_seconds(self) -> float:
        """Real seconds an endpoint takes to be created; setting it sets the clock's speed."""
        return ENDPOINT_CREATION / self.clock.speed

    @settle_seconds.setter
    def settle_seconds(self, seconds: float) -> None:
        """As before the clock: transitions under way keep the real time they had left."""
        with self.lock:
            now, old = self.clock.now(), self.clock.speed
            self.clock.speed = new = ENDPOINT_CREATION / seconds
            for res in (*self.endpoints.values(), *self.components.values()):
                if res.settle_at > now:
                    res.settle_at = now + (res.settle_at - now) * new / old

    # -- what is left -------------------------------------------------------------------

    def alive(self) -> dict[str, list[str]]:
        """What exists and is not on its way out (Deleting)."""
        with self.lock:
            self._tick()
            return {
                "endpoint": sorted(n for n, r in self.endpoints.items() if r.status != "Deleting"),
                "endpoint-config": sorted(self.configs),
                "model": sorted(self.models),
                "inference-component": sorted(
                    n for n, r in self.components.items() if r.status != "Deleting"
                ),
            }

    def _tick(self) -> None:
        now, real = self.clock.now(), time.monotonic()
        for table in (self.endpoints, self.components):
            for name, res in list(table.items()):
                res.tick(now, real)
                if res.gone:
                    del table[name]

    # -- dispatch -----------------------------------------------------------------------

    def handle(self, action: str, params: dict[str, Any], region: str) -> dict[str, Any]:
        method = getattr(self, "_" + action, None)
        if method is None:
            raise KeyError(action)
        with self.lock:
            self._tick()
            result: dict[str, Any] = method(params, region)
            return result

    HANDLED = frozenset(
        {
            "CreateEndpointConfig",
            "DescribeEndpointConfig",
            "DeleteEndpointConfig",
            "ListEndpointConfigs",
            "CreateModel",
            "DescribeModel",
            "DeleteModel",
            "ListModels",
            "CreateEndpoint",
            "DescribeEndpoint",
            "DeleteEndpoint",
            "ListEndpoints",
            "CreateInferenceComponent",
            "DescribeInferenceComponent",
            "UpdateInferenceComponent",
            "DeleteInferenceComponent",
            "ListInferenceComponents",
            "ListAIBenchmarkJobs",
            "DescribeAIWorkloadConfig",
            "DeleteAIWorkloadConfig",
        }
    )

    def _settle(self, res: Resource, to: str, after: float, failure: str = "") -> Resource:
        """`res` becomes `to` once `after` twin seconds have passed."""
        res.settle_at, res.settle_real = self.clock.now() + after, None
        res.settles_to, res.failure = to, failure
        res.modified = self.clock.stamp()
        return res

    def _new(self, name: str, kind: str, region: str, spec: dict[str, Any]) -> Resource:
        stamp = self.clock.stamp()
        return Resource(name, kind, region, created=stamp, modified=stamp, spec=spec)

    # -- endpoints ----------------------------------------------------------------------

    def _CreateEndpoint(self, p: dict[str, Any], region: str) -> dict[str, Any]:
        name, config = p["EndpointName"], p["EndpointConfigName"]
        # "The endpoint name must be unique within an AWS Region in your AWS account."
        # https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateEndpoint.html
        if name in self.endpoints:
            raise ApiError(
                "ValidationException",
                f'Cannot create already existing endpoint "{self.endpoints[name].arn}".',
            )
        if config not in self.configs:
            raise missing("endpoint-config", config, region)
        variants = self.configs[config].get("ProductionVariants", [{}])
        self._within_quotas(variants)
        res = self._new(name, "endpoint", region, {"EndpointConfigName": config})
        res.spec["variants"] = variants  # what it runs on, should its config be deleted
        instance = variants[0].get("InstanceType", "the instance type")
        if self.faults.take("capacity", name):
            self._settle(res, "Failed", ENDPOINT_CREATION, CAPACITY.format(instance=instance))
        else:
            self._settle(res, "InService", ENDPOINT_CREATION)
        self.endpoints[name] = res
        return {"EndpointArn": res.arn}

    def _within_quotas(self, variants: list[dict[str, Any]]) -> None:
        """ResourceLimitExceeded when the new endpoint's instances would take a type past
        its quota: instances of live endpoints count (not Deleting, Failed or gone)."""
        wanted: dict[str, int] = {}
        for v in variants:
            if v.get("InstanceType"):
                wanted[v["InstanceType"]] = wanted.get(v["InstanceType"], 0) + int(
                    v.get("InitialInstanceCount", 1)
                )
        for kind, delta in wanted.items():
            if kind not in self.quotas:
                continue
            used = sum(
                int(v.get("InitialInstanceCount", 1))
                for e in self.endpoints.values()
                if e.status not in ("Deleting", "Failed", "")
                for v in e.spec["variants"]
                if v.get("InstanceType") == kind
            )
            if used + delta > self.quotas[kind]:
                message = QUOTA.format(type=kind, limit=self.quotas[kind], used=used, delta=delta)
                raise ApiError("ResourceLimitExceeded", message)

    def _endpoint(self, name: str, region: str) -> Resource:
        if name not in self.endpoints:
            raise missing("endpoint", name, region)
        return self.endpoints[name]

    def _DescribeEndpoint(self, p: dict[str, Any], region: str) -> dict[str, Any]:
        res = self._endpoint(p["EndpointName"], region)
        variants = [
            {
                "VariantName": v.get("VariantName", "AllTraffic"),
                "CurrentInstanceCount": v.get("InitialInstanceCount", 1),
                "DesiredInstanceCount": v.get("InitialInstanceCount", 1),
                "InstanceType": v.get("InstanceType"),
            }
            for v in res.spec["variants"]
            if v
        ]
        out = {
            "EndpointName": res.name,
            "EndpointArn": res.arn,
            "EndpointConfigName": res.spec["EndpointConfigName"],
            "EndpointStatus": res.status,
            "CreationTime": res.created,
            "LastModifiedTime": res.modified,
            "ProductionVariants": variants,
        }
        if res.failure and res.status == "Failed":
            out["FailureReason"] = res.failure
        return out

    def _DeleteEndpoint(self, p: dict[str, Any], region: str) -> dict[str, Any]:
        res = self._endpoint(p["EndpointName"], region)
        if res.status == "Creating":
            raise ApiError("ValidationException", IN_PROGRESS.format(label="endpoint", arn=res.arn))
        on_it = [c.name for c in self.components.values() if c.spec["EndpointName"] == res.name]
        if on_it:
            raise ApiError(
                "ValidationException",
                f"Endpoint {res.name} has inference components that must be deleted first: "
                + ", ".join(sorted(on_it)),
            )
        if res.status != "Deleting":
            res.status = "Deleting"
            self._settle(res, "", ENDPOINT_DELETION)
        return {}

    def _ListEndpoints(self, p: dict[str, Any], region: str) -> dict[str, Any]:
        return {
            "Endpoints": [
                {
                    "EndpointName": r.name,
                    "EndpointArn": r.arn,
                    "EndpointStatus": r.status,
                    "CreationTime": r.created,
                    "LastModifiedTime": r.modified,
                }
                for r in sorted(self.endpoints.values(), key=lambda r: r.name)
                if p.get("NameContains", "") in r.name
            ]
        }

    # -- inference components -----------------------------------------------------------

    def _CreateInferenceComponent(self, p: dict[str, Any], region: str) -> dict[str, Any]:
        name, endpoint = p["InferenceComponentName"], p["EndpointName"]
        if name in self.components:
            raise ApiError("ValidationException", f"Inference component {name} already exists.")
        host = self._endpoint(endpoint, region)
        if host.status != "InService":
            raise ApiError(
                "ValidationException",
                f"Endpoint {endpoint} is not InService (status {host.status}): cannot add "
                "an inference component.",
            )
        image = p.get("Specification", {}).get("Container", {}).get("Image", "")
        res = self._new(name, "inference-component", region, p)
        labels = self.image_of(region, image)
        unplaced = self._unplaced(res, host, p)
        if unplaced:
            self._settle(res, "Failed", COMPONENT_CREATION, unplaced)
        elif labels is None:
            self._settle(
                res,
                "Failed",
                COMPONENT_CREATION,
                f"Image {image} does not exist or is not accessible.",
            )
        elif self.faults.take("ic-unhealthy", name):
            self._settle(res, "Failed", COMPONENT_CREATION, UNHEALTHY)
        elif self.faults.take("ic-hang", name):
            # a container that never answers /ping: Creating until its startup health check
            # times out, then Failed (and deletable only then). HANG_SECONDS are real, to
            # give a test time to act while it hangs.
            self._settle(res, "Failed", 0.0, HUNG)
            res.settle_real = time.monotonic() + HANG_SECONDS
        else:
            self._settle(res, "InService", COMPONENT_CREATION)
        res.spec = {**p, "labels": labels or {}}
        self.components[name] = res
        return {"InferenceComponentArn": res.arn}

    def _unplaced(self, res: Resource, host: Resource, p: dict[str, Any]) -> str:
        """Why the component's copies do not fit on its endpoint's instances, beside the
        copies of the other components there that hold resources ("" when they fit)."""
        variants = [v for v in host.spec["variants"] if v]
        wanted = p.get("VariantName") or (variants[0].get("VariantName") if variants else "")
        variant = next((v for v in variants if v.get("VariantName") == wanted), None)
        if variant is None or not variant.get("InstanceType"):
            return ""
        placed = [
            (Copy.of(c.spec.get("Specification", {})), _copies(c.spec))
            for c in self.components.values()
            if c is not res
            and c.spec["EndpointName"] == host.name
            and c.spec.get("VariantName", wanted) == wanted
            and not (c.status == "Failed" or c.settles_to == "Failed")
        ]
        return unplaceable(
            res.name,
            variant["InstanceType"],
            int(variant.get("InitialInstanceCount", 1)),
            placed,
            Copy.of(p.get("Specification", {})),
            _copies(p),
        )

    def _component(self, name: str, region: str) -> Resource:
        if name not in self.components:
            raise missing("inference-component", name, region)
        return self.components[name]

    def _describe_component(self, res: Resource) -> dict[str, Any]:
        spec = {k: v for k, v in res.spec.items() if k != "labels"}
        out = {
            "InferenceComponentName": res.name,
            "InferenceComponentArn": res.arn,
            "EndpointName": spec["EndpointName"],
            "EndpointArn": self.endpoints[spec["EndpointName"]].arn
            if spec["EndpointName"] in self.endpoints
            else "",
            "VariantName": spec.get("VariantName", "AllTraffic"),
            "Specification": spec.get("Specification", {}),
            "RuntimeConfig": {
                "DesiredCopyCount": _copies(spec),
                "CurrentCopyCount": _copies(spec) if res.status == "InService" else 0,
            },
            "InferenceComponentStatus": res.status,
            "CreationTime": res.created,
            "LastModifiedTime": res.modified,
        }
        if res.failure and res.status == "Failed":
            out["FailureReason"] = res.failure
        return out

    def _DescribeInferenceComponent(self, p: dict[str, Any], region: str) -> dict[str, Any]:
        return self._describe_component(self._component(p["InferenceComponentName"], region))

    def _UpdateInferenceComponent(self, p: dict[str, Any], region: str) -> dict[str, Any]:
        res = self._component(p["InferenceComponentName"], region)
        if res.status != "InService":
            raise ApiError(
                "ValidationException",
                f'Cannot update in-progress inference component "{res.arn}".',
            )
        for key in ("Specification", "RuntimeConfig"):
            if key in p:
                res.spec[key] = p[key]
        host = self.endpoints.get(res.spec["EndpointName"])
        unplaced = self._unplaced(res, host, res.spec) if host else ""
        res.status = "Updating"  # the new copy count is placed as a new component's is
        self._settle(res, "Failed" if unplaced else "InService", COMPONENT_UPDATE, unplaced)
        return {"InferenceComponentArn": res.arn}

    def _DeleteInferenceComponent(self, p: dict[str, Any], region: str) -> dict[str, Any]:
        res = self._component(p["InferenceComponentName"], region)
        if res.status == "Creating":
            label = "inference component"
            raise ApiError("ValidationException", IN_PROGRESS.format(label=label, arn=res.arn))
        if res.status != "Deleting":
            res.status = "Deleting"
            self._settle(res, "", COMPONENT_DELETION)
            if self.faults.take("slow-delete", res.name):
                res.settle_real = time.monotonic() + SLOW_DELETE_SECONDS
        return {}

    def _ListInferenceComponents(self, p: dict[str, Any], region: str) -> dict[str, Any]:
        found = [
            r
            for r in sorted(self.components.values(), key=lambda r: r.name)
            if p.get("EndpointNameEquals", r.spec["EndpointName"]) == r.spec["EndpointName"]
            and p.get("StatusEquals", r.status) == r.status
            and p.get("NameContains", "") in r.name
        ]
        start = int(p.get("NextToken") or 0)
        size = int(p.get("MaxResults") or 10)
        summary = (
            "InferenceComponentName",
            "InferenceComponentArn",
            "EndpointName",
            "EndpointArn",
            "VariantName",
            "InferenceComponentStatus",
            "CreationTime",
            "LastModifiedTime",
        )
        out: dict[str, Any] = {
            "InferenceComponents": [
                {k: v for k, v in self._describe_component(r).items() if k in summary}
                for r in found[start : start + size]
            ]
        }
        if start + size < len(found):
            out["NextToken"] = str(start + size)
        return out

    # -- the container --------------------------------------------------------------------

    def invoke(self, endpoint: str, component: str | None, body: bytes, region: str) -> bytes:
        with self.lock:
            self._tick()
            host = self._endpoint(endpoint, region)
            if host.status != "InService":
                raise ApiError("ValidationException", f"Endpoint {endpoint} is not InService.")
            on_it = [c for c in self.components.values() if c.spec["EndpointName"] == endpoint]
            if on_it and not component:
                raise ApiError(
                    "ValidationException",
                    "Inference Component Name header is required for endpoints to which you "
                    "plan to deploy inference components.",
                )
            labels: dict[str, str] = {}
            if component:
                res = self._component(component, region)
                if res.spec["EndpointName"] != endpoint or res.status != "InService":
                    raise ApiError(
                        "ValidationException",
                        f"Inference component {component} is not InService on {endpoint}.",
                    )
                labels = res.spec.get("labels", {})
        reply = answer(labels.get("framework", ""), labels.get("server", ""), body)
        name = component or endpoint
        if self.faults.take("answer-empty", name):  # a server that answers, with nothing in it
            return emptied(reply)
        if self.faults.take("answer-text", name):  # a server that answers plain text
            return b"OK"
        return reply


def _copies(spec: dict[str, Any]) -> int:
    return int((spec.get("RuntimeConfig") or {}).get("CopyCount", 1))
