"""SageMaker real-time hosting as the generated do-scripts meet it, which moto 5.2 lacks:
endpoint configs for inference components (no model in the variant), endpoints and
inference components whose states move with time (Creating → InService or Failed,
Deleting → gone), and a container that answers `InvokeEndpoint` the way its framework's
server would.

Rules kept from the real service: an inference component needs an InService endpoint and
an image that exists in ECR; an endpoint cannot be deleted while inference components
remain on it; invoking an endpoint that has inference components needs the component's
name. Faults (see `Faults`) make an endpoint fail for lack of capacity, an inference
component fail its health check, or one stay Creating.
"""

import base64
import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

ACCOUNT = "123456789012"
CAPACITY = (
    "Unable to provision requested ML compute capacity for {instance}. Please retry using "
    "a different ML instance type or after some time."
)
# longer than the 15 s the generated do/clean sleeps when the CLI has no waiter for it
SLOW_DELETE_SECONDS = 25.0
UNHEALTHY = (
    "The primary container for production variant AllTraffic did not pass the ping health "
    "check. Please check CloudWatch logs for this endpoint."
)


class ApiError(Exception):
    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


@dataclass
class Resource:
    """An endpoint or inference component: a status that moves when its time comes."""

    name: str
    kind: str  # endpoint | inference-component
    region: str
    status: str = "Creating"
    settle_at: float = 0.0  # when Creating/Deleting ends
    settles_to: str = "InService"  # or Failed, or "" (gone) for Deleting
    failure: str = ""
    created: float = field(default_factory=time.time)
    spec: dict[str, Any] = field(default_factory=dict)

    @property
    def arn(self) -> str:
        return f"arn:aws:sagemaker:{self.region}:{ACCOUNT}:{self.kind}/{self.name.lower()}"

    def tick(self, now: float) -> None:
        if self.status in ("Creating", "Deleting") and now >= self.settle_at:
            self.status = self.settles_to

    @property
    def gone(self) -> bool:
        return self.status == ""


class Hosting:
    def __init__(
        self,
        faults: "Any",
        image_of: Callable[[str, str], dict[str, str] | None],
        *,
        settle_seconds: float = 0.3,
    ) -> None:
        self.faults = faults
        self.image_of = image_of  # (region, image URI) -> the image's labels, or None
        self.settle_seconds = settle_seconds
        self.lock = threading.Lock()
        self.configs: dict[str, dict[str, Any]] = {}
        self.models: dict[str, dict[str, Any]] = {}
        self.endpoints: dict[str, Resource] = {}
        self.components: dict[str, Resource] = {}

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
        now = time.time()
        for table in (self.endpoints, self.components):
            for name, res in list(table.items()):
                res.tick(now)
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

    def _settle(self, res: Resource, to: str, failure: str = "") -> Resource:
        res.settle_at = time.time() + self.settle_seconds
        res.settles_to, res.failure = to, failure
        return res

    @staticmethod
    def _missing(kind: str, name: str, region: str) -> ApiError:
        arn = f"arn:aws:sagemaker:{region}:{ACCOUNT}:{kind}/{name.lower()}"
        label = {"endpoint-config": "endpoint configuration"}.get(kind, kind.replace("-", " "))
        return ApiError("ValidationException", f'Could not find {label} "{arn}".')

    # -- endpoint configs and models -----------------------------------------------------

    def _CreateEndpointConfig(self, p: dict[str, Any], region: str) -> dict[str, Any]:
        name = p["EndpointConfigName"]
        if name in self.configs:
            raise ApiError(
                "ValidationException",
                f'Cannot create already existing endpoint configuration "{name}".',
            )
        for variant in p.get("ProductionVariants", []):
            model = variant.get("ModelName")
            if model and model not in self.models:
                raise self._missing("model", model, region)
        arn = f"arn:aws:sagemaker:{region}:{ACCOUNT}:endpoint-config/{name.lower()}"
        self.configs[name] = {**p, "EndpointConfigArn": arn, "CreationTime": time.time()}
        return {"EndpointConfigArn": arn}

    def _DescribeEndpointConfig(self, p: dict[str, Any], region: str) -> dict[str, Any]:
        name = p["EndpointConfigName"]
        if name not in self.configs:
            raise self._missing("endpoint-config", name, region)
        return self.configs[name]

    def _DeleteEndpointConfig(self, p: dict[str, Any], region: str) -> dict[str, Any]:
        if self.configs.pop(p["EndpointConfigName"], None) is None:
            raise self._missing("endpoint-config", p["EndpointConfigName"], region)
        return {}

    def _ListEndpointConfigs(self, p: dict[str, Any], region: str) -> dict[str, Any]:
        return {
            "EndpointConfigs": [
                {
                    "EndpointConfigName": n,
                    "EndpointConfigArn": c["EndpointConfigArn"],
                    "CreationTime": c["CreationTime"],
                }
                for n, c in sorted(self.configs.items())
                if p.get("NameContains", "") in n
            ]
        }

    def _CreateModel(self, p: dict[str, Any], region: str) -> dict[str, Any]:
        arn = f"arn:aws:sagemaker:{region}:{ACCOUNT}:model/{p['ModelName'].lower()}"
        self.models[p["ModelName"]] = {**p, "ModelArn": arn, "CreationTime": time.time()}
        return {"ModelArn": arn}

    def _DescribeModel(self, p: dict[str, Any], region: str) -> dict[str, Any]:
        if p["ModelName"] not in self.models:
            raise self._missing("model", p["ModelName"], region)
        return self.models[p["ModelName"]]

    def _DeleteModel(self, p: dict[str, Any], region: str) -> dict[str, Any]:
        if self.models.pop(p["ModelName"], None) is None:
            raise self._missing("model", p["ModelName"], region)
        return {}

    def _ListModels(self, p: dict[str, Any], region: str) -> dict[str, Any]:
        return {
            "Models": [
                {"ModelName": n, "ModelArn": m["ModelArn"], "CreationTime": m["CreationTime"]}
                for n, m in sorted(self.models.items())
                if p.get("NameContains", "") in n
            ]
        }

    # -- endpoints ----------------------------------------------------------------------

    def _CreateEndpoint(self, p: dict[str, Any], region: str) -> dict[str, Any]:
        name, config = p["EndpointName"], p["EndpointConfigName"]
        if name in self.endpoints:
            raise ApiError(
                "ValidationException",
                f'Cannot create already existing endpoint "{self.endpoints[name].arn}".',
            )
        if config not in self.configs:
            raise self._missing("endpoint-config", config, region)
        res = Resource(name, "endpoint", region, spec={"EndpointConfigName": config})
        variants = self.configs[config].get("ProductionVariants", [{}])
        instance = variants[0].get("InstanceType", "the instance type")
        if self.faults.take("capacity", name):
            self._settle(res, "Failed", CAPACITY.format(instance=instance))
        else:
            self._settle(res, "InService")
        self.endpoints[name] = res
        return {"EndpointArn": res.arn}

    def _endpoint(self, name: str, region: str) -> Resource:
        if name not in self.endpoints:
            raise self._missing("endpoint", name, region)
        return self.endpoints[name]

    def _DescribeEndpoint(self, p: dict[str, Any], region: str) -> dict[str, Any]:
        res = self._endpoint(p["EndpointName"], region)
        config = self.configs.get(res.spec["EndpointConfigName"], {})
        variants = [
            {
                "VariantName": v.get("VariantName", "AllTraffic"),
                "CurrentInstanceCount": v.get("InitialInstanceCount", 1),
                "DesiredInstanceCount": v.get("InitialInstanceCount", 1),
                "InstanceType": v.get("InstanceType"),
            }
            for v in config.get("ProductionVariants", [])
        ]
        out = {
            "EndpointName": res.name,
            "EndpointArn": res.arn,
            "EndpointConfigName": res.spec["EndpointConfigName"],
            "EndpointStatus": res.status,
            "CreationTime": res.created,
            "LastModifiedTime": res.created,
            "ProductionVariants": variants,
        }
        if res.failure and res.status == "Failed":
            out["FailureReason"] = res.failure
        return out

    def _DeleteEndpoint(self, p: dict[str, Any], region: str) -> dict[str, Any]:
        res = self._endpoint(p["EndpointName"], region)
        on_it = [c.name for c in self.components.values() if c.spec["EndpointName"] == res.name]
        if on_it:
            raise ApiError(
                "ValidationException",
                f"Endpoint {res.name} has inference components that must be deleted first: "
                + ", ".join(sorted(on_it)),
            )
        if res.status != "Deleting":
            res.status = "Deleting"
            self._settle(res, "")
        return {}

    def _ListEndpoints(self, p: dict[str, Any], region: str) -> dict[str, Any]:
        return {
            "Endpoints": [
                {
                    "EndpointName": r.name,
                    "EndpointArn": r.arn,
                    "EndpointStatus": r.status,
                    "CreationTime": r.created,
                    "LastModifiedTime": r.created,
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
        res = Resource(name, "inference-component", region, spec=p)
        labels = self.image_of(region, image)
        if labels is None:
            self._settle(res, "Failed", f"Image {image} does not exist or is not accessible.")
        elif self.faults.take("ic-unhealthy", name):
            self._settle(res, "Failed", UNHEALTHY)
        elif self.faults.take("ic-hang", name):
            self._settle(res, "InService")
            res.settle_at = float("inf")  # Creating for ever
        else:
            self._settle(res, "InService")
        res.spec = {**p, "labels": labels or {}}
        self.components[name] = res
        return {"InferenceComponentArn": res.arn}

    def _component(self, name: str, region: str) -> Resource:
        if name not in self.components:
            raise self._missing("inference-component", name, region)
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
                "DesiredCopyCount": spec.get("RuntimeConfig", {}).get("CopyCount", 1),
                "CurrentCopyCount": spec.get("RuntimeConfig", {}).get("CopyCount", 1),
            },
            "InferenceComponentStatus": res.status,
            "CreationTime": res.created,
            "LastModifiedTime": res.created,
        }
        if res.failure and res.status == "Failed":
            out["FailureReason"] = res.failure
        return out

    def _DescribeInferenceComponent(self, p: dict[str, Any], region: str) -> dict[str, Any]:
        return self._describe_component(self._component(p["InferenceComponentName"], region))

    def _UpdateInferenceComponent(self, p: dict[str, Any], region: str) -> dict[str, Any]:
        res = self._component(p["InferenceComponentName"], region)
        for key in ("Specification", "RuntimeConfig"):
            if key in p:
                res.spec[key] = p[key]
        return {"InferenceComponentArn": res.arn}

    def _DeleteInferenceComponent(self, p: dict[str, Any], region: str) -> dict[str, Any]:
        res = self._component(p["InferenceComponentName"], region)
        if res.status != "Deleting":
            res.status = "Deleting"
            self._settle(res, "")
            if self.faults.take("slow-delete", res.name):
                res.settle_at = time.time() + SLOW_DELETE_SECONDS
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
        page = found[start : start + size]
        out: dict[str, Any] = {
            "InferenceComponents": [
                {
                    k: v
                    for k, v in self._describe_component(r).items()
                    if k
                    in (
                        "InferenceComponentName",
                        "InferenceComponentArn",
                        "EndpointName",
                        "EndpointArn",
                        "VariantName",
                        "InferenceComponentStatus",
                        "CreationTime",
                        "LastModifiedTime",
                    )
                }
                for r in page
            ]
        }
        if start + size < len(found):
            out["NextToken"] = str(start + size)
        return out

    # -- benchmarking (do/clean all asks; nothing is ever there) --------------------------

    def _ListAIBenchmarkJobs(self, p: dict[str, Any], region: str) -> dict[str, Any]:
        return {"AIBenchmarkJobs": []}

    def _DescribeAIWorkloadConfig(self, p: dict[str, Any], region: str) -> dict[str, Any]:
        raise ApiError("ResourceNotFound", "AI workload config not found.")

    def _DeleteAIWorkloadConfig(self, p: dict[str, Any], region: str) -> dict[str, Any]:
        raise ApiError("ResourceNotFound", "AI workload config not found.")

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
        return answer(labels.get("framework", ""), labels.get("server", ""), body)


def _model_error(message: str) -> ApiError:
    return ApiError(
        "ModelError", f'Received client error (400) from primary with message "{message}".', 424
    )


def answer(framework: str, server: str, body: bytes) -> bytes:
    """What the framework's model server answers to `body` (or a ModelError, as it would)."""
    try:
        request = json.loads(body or b"{}")
    except ValueError:
        raise _model_error("request body is not JSON") from None
    if not isinstance(request, dict):
        raise _model_error("request body is not a JSON object")
    if framework == "transformers" and server in ("vllm", "sglang"):
        if not isinstance(request.get("messages"), list):
            raise _model_error("'messages' is required")
        reply = {
            "id": f"chatcmpl-{uuid.uuid4().hex[:12]}",
            "object": "chat.completion",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello."}}],
        }
    elif framework == "transformers":
        if not isinstance(request.get("inputs"), str):
            raise _model_error("'inputs' must be a string")
        reply = {"generated_text": "Paris is the capital of France."}
    elif framework == "triton":
        inputs = request.get("inputs")
        if not (isinstance(inputs, list) and inputs and "data" in inputs[0]):
            raise _model_error("triton expects 'inputs' with 'data'")
        reply = {
            "model_name": "model",
            "outputs": [{"name": "output__0", "datatype": "FP32", "shape": [1, 1], "data": [0.5]}],
        }
    elif framework == "http":
        if not isinstance(request.get("instances"), list):
            raise _model_error("'instances' is required")
        reply = {"predictions": [0.5 for _ in request["instances"]]}
    elif framework == "diffusors":
        if not isinstance(request.get("prompt"), str):
            raise _model_error("'prompt' is required")
        png = base64.b64encode(b"\x89PNG\r\n\x1a\n twin").decode()
        reply = {"created": int(time.time()), "data": [{"b64_json": png}]}
    else:
        raise _model_error(f"no model server for framework {framework!r}")
    return json.dumps(reply).encode()
