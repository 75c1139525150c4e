"""What a run checks on the SageMaker endpoint its project deployed.

After deploy_test's commands pass, the entry's smoke test (`smokeTest:` in the catalog: a
payload and the path its answer must hold) is sent to the endpoint, through the inference
component the project deployed. When deploy_test fails, the endpoint's and components'
FailureReason — which the CLI's waiters never print — is added to the stage's error.
Where the project deployed is read from its do/config and do/ic/*.conf (parsed, never run).
"""

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlcc_ci import doconfig


@dataclass(frozen=True)
class Deployed:
    endpoint: str
    components: tuple[str, ...]
    region: str


def _values(path: Path, env: Mapping[str, str]) -> dict[str, str]:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return {}
    return {k: v.value for k, v in doconfig.parse(text, env).items() if v.value}


def deployed(project: Path, env: Mapping[str, str]) -> Deployed | None:
    """The endpoint and inference components do/deploy recorded, or None."""
    config = _values(project / "do" / "config", env)
    endpoint = config.get("ENDPOINT_NAME", "")
    if not endpoint:
        return None
    components = [
        found
        for conf in sorted((project / "do" / "ic").glob("*.conf"))
        if (found := _values(conf, {}).get("IC_DEPLOYED_NAME"))
    ]
    if not components and config.get("INFERENCE_COMPONENT_NAME"):
        components.append(config["INFERENCE_COMPONENT_NAME"])
    region = env.get("AWS_REGION") or config.get("AWS_REGION") or "us-east-1"
    return Deployed(endpoint, tuple(components), region)


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
        return f"smoke test: the answer is not JSON: {answer[:200]!r}"
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
