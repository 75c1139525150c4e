"""What a run checks on the SageMaker endpoint its project deployed.

After deploy_test's commands pass, the entry's smoke test (`smokeTest:` in the catalog: a
payload and the path its answer must hold) is sent to the endpoint, through the inference
component the project deployed. When deploy_test fails, the endpoint's and components'
FailureReason — which the CLI's waiters never print — is added to the stage's error. After
teardown, what the project deployed must be gone: the generated do/clean waits a fixed 15 s
for inference components it deletes when the CLI has no waiter for them, and SageMaker
refuses to delete an endpoint that still has some; what it leaves, the harness deletes
(`Remover`, which the sweeper uses too). Where the project deployed is read from its
do/config and do/ic/*.conf (parsed, never run).
"""

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlcc_ci import doconfig

POLL_SECONDS = 10.0


@dataclass(frozen=True)
class Deployed:
    endpoint: str
    components: tuple[str, ...]
    region: str
    config: str = ""  # the endpoint config do/deploy recorded (made before the endpoint)


def deployed(project: Path, env: Mapping[str, str]) -> Deployed | None:
    """The endpoint and inference components do/deploy recorded, or None."""
    config = doconfig.values(project / "do" / "config", env)
    endpoint = config.get("ENDPOINT_NAME", "")
    if not endpoint:
        return None
    components = [
        found
        for conf in sorted((project / "do" / "ic").glob("*.conf"))
        if (found := doconfig.values(conf, {}).get("IC_DEPLOYED_NAME"))
    ]
    if not components and config.get("INFERENCE_COMPONENT_NAME"):
        components.append(config["INFERENCE_COMPONENT_NAME"])
    region = env.get("AWS_REGION") or config.get("AWS_REGION") or "us-east-1"
    return Deployed(endpoint, tuple(components), region, config.get("ENDPOINT_CONFIG_NAME", ""))


def client(service: str, region: str, env: Mapping[str, str]) -> Any:
    import boto3

    session = boto3.session.Session(
        aws_access_key_id=env.get("AWS_ACCESS_KEY_ID"),
        aws_secret_access_key=env.get("AWS_SECRET_ACCESS_KEY"),
        aws_session_token=env.get("AWS_SESSION_TOKEN"),
        region_name=region,
    )
    make: Any = session.client  # the service name is data here, not a literal
    return make(service, endpoint_url=env.get("AWS_ENDPOINT_URL") or None)


def _walk(body: Any, path: str) -> Any:
    value = body
    for part in (p for p in path.split(".") if p):
        if isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        elif isinstance(value, dict) and part in value:
            value = value[part]
        else:
            raise KeyError(path)
    return value


def smoke_test(where: Deployed, spec: Mapping[str, Any], runtime: Any) -> str | None:
    """Send the smoke test's payload; None when the answer holds what it should."""
    from botocore.exceptions import BotoCoreError, ClientError

    if "payload" not in spec:
        return None
    request: dict[str, Any] = {
        "EndpointName": where.endpoint,
        "Body": json.dumps(spec["payload"]).encode(),
        "ContentType": spec.get("contentType", "application/json"),
    }
    if where.components:
        request["InferenceComponentName"] = where.components[0]
    try:
        answer = runtime.invoke_endpoint(**request)["Body"].read()
    except (ClientError, BotoCoreError) as exc:
        return f"smoke test: invoking {where.endpoint} failed: {exc}"
    try:
        body = json.loads(answer)
    except ValueError:
        shown = answer[:200].decode("utf-8", errors="replace")
        return f"smoke test: the answer is not JSON: {shown!r}"
    expect = spec.get("expect", {})
    path = str(expect.get("path", ""))
    try:
        value = _walk(body, path)
    except KeyError:
        return f"smoke test: the answer has no {path}: {json.dumps(body)[:300]}"
    if value in (None, "", [], {}):
        return f"smoke test: the answer's {path or 'body'} is empty"
    contains = expect.get("contains")
    if contains and str(contains) not in json.dumps(value):
        return f"smoke test: the answer's {path} does not contain {contains!r}"
    return None


def failure_reasons(where: Deployed, sagemaker: Any) -> list[str]:
    """Why the endpoint or its components failed, as SageMaker says (best effort)."""
    from botocore.exceptions import BotoCoreError, ClientError

    reasons = []
    calls = [("endpoint", where.endpoint, "describe_endpoint", "EndpointName", "EndpointStatus")]
    calls += [
        (
            "inference component",
            name,
            "describe_inference_component",
            "InferenceComponentName",
            "InferenceComponentStatus",
        )
        for name in where.components
    ]
    for kind, name, method, key, status in calls:
        try:
            described = getattr(sagemaker, method)(**{key: name})
        except (ClientError, BotoCoreError):
            continue
        if described.get("FailureReason"):
            reasons.append(f"{kind} {name} {described.get(status)}: {described['FailureReason']}")
    return reasons


def _missing(exc: Exception) -> bool:
    """SageMaker's way of saying a resource does not exist (a ValidationException)."""
    return "Could not find" in str(exc) or "does not exist" in str(exc)


# States in which SageMaker refuses to delete an inference component.
IN_PROGRESS = ("Creating", "Updating")


class Remover:
    """Deletes an endpoint the way SageMaker asks: its inference components first, the
    endpoint once they are gone, then its endpoint config and models."""

    def __init__(
        self,
        sagemaker: Any,
        *,
        patience: float,
        poll: float = POLL_SECONDS,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.sagemaker = sagemaker
        self.patience, self.poll = patience, poll
        self.sleep, self.monotonic = sleep, monotonic

    def exists(self, endpoint: str) -> bool:
        """True while the endpoint exists and is not already being deleted."""
        try:
            described = self.sagemaker.describe_endpoint(EndpointName=endpoint)
        except Exception as exc:
            if _missing(exc):
                return False
            raise
        return bool(described.get("EndpointStatus") != "Deleting")

    def config_exists(self, name: str) -> bool:
        try:
            self.sagemaker.describe_endpoint_config(EndpointConfigName=name)
        except Exception as exc:
            if _missing(exc):
                return False
            raise
        return True

    def components(self, endpoint: str) -> list[str]:
        pages = self.sagemaker.get_paginator("list_inference_components").paginate(
            EndpointNameEquals=endpoint
        )
        return [c["InferenceComponentName"] for p in pages for c in p["InferenceComponents"]]

    def _gone(self, names: list[str]) -> list[str]:
        """Wait until the named inference components no longer exist; those that still do."""
        deadline = self.monotonic() + self.patience
        left = list(names)
        while left:
            still = []
            for name in left:
                try:
                    self.sagemaker.describe_inference_component(InferenceComponentName=name)
                except Exception as exc:
                    if not _missing(exc):
                        raise
                    continue
                still.append(name)
            left = still
            if not left or self.monotonic() >= deadline:
                break
            self.sleep(self.poll)
        return left

    def _settled(self, name: str) -> dict[str, Any]:
        """The inference component once it is no longer Creating or Updating: SageMaker
        refuses to delete one in progress ("Cannot delete in-progress inference component");
        one that never starts fails at its startup health check timeout."""
        deadline = self.monotonic() + self.patience
        while True:
            spec: dict[str, Any] = self.sagemaker.describe_inference_component(
                InferenceComponentName=name
            )
            status = spec.get("InferenceComponentStatus")
            if status not in IN_PROGRESS:
                return spec
            if self.monotonic() >= deadline:
                raise RuntimeError(
                    f"inference component {name} still {status} after {self.patience:g}s: "
                    "SageMaker deletes none in progress; the endpoint stays until it settles"
                )
            self.sleep(self.poll)

    def delete(self, endpoint: str, gone: list[str]) -> None:
        """Delete the endpoint and what it was made of, adding each to `gone` as it goes.
        An exception says what could not be deleted."""
        described = self.sagemaker.describe_endpoint(EndpointName=endpoint)
        config_name = described.get("EndpointConfigName")
        models: list[str] = []
        components = self.components(endpoint)
        for name in components:
            spec = self._settled(name)
            models.append(spec.get("Specification", {}).get("ModelName", ""))
            if spec.get("InferenceComponentStatus") != "Deleting":  # else someone already asked
                self.sagemaker.delete_inference_component(InferenceComponentName=name)
                gone.append(f"inference component {name}")
        left = self._gone(components)
        if left:
            raise RuntimeError(
                f"inference components still deleting after {self.patience:g}s: "
                f"{', '.join(left)}; the endpoint stays until they are gone"
            )
        if config_name:
            try:
                config = self.sagemaker.describe_endpoint_config(EndpointConfigName=config_name)
            except Exception as exc:
                if not _missing(exc):
                    raise
                config_name = None
            else:
                models += [v.get("ModelName", "") for v in config.get("ProductionVariants", [])]
        self.sagemaker.delete_endpoint(EndpointName=endpoint)
        gone.append(f"endpoint {endpoint}")
        if config_name:
            self.sagemaker.delete_endpoint_config(EndpointConfigName=config_name)
            gone.append(f"endpoint config {config_name}")
        for model in dict.fromkeys(m for m in models if m):
            self.sagemaker.delete_model(ModelName=model)
            gone.append(f"model {model}")


def sweep_up(where: Deployed, remover: Remover) -> list[str]:
    """After teardown: delete what is left of what the project deployed; what was deleted."""
    gone: list[str] = []
    if remover.exists(where.endpoint):
        remover.delete(where.endpoint, gone)
    elif where.config and remover.config_exists(where.config):
        # do/deploy made it, then SageMaker refused the endpoint (a quota, a bad request):
        # no endpoint will ever use it, and do/clean cleans only after a deployment
        remover.sagemaker.delete_endpoint_config(EndpointConfigName=where.config)
        gone.append(f"endpoint config {where.config}")
    return gone
