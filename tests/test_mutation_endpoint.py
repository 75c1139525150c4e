"""What a run checks on the endpoint its project deployed (mlcc_ci/endpoint.py), against an
in-memory SageMaker: where the project deployed (its do/config and do/ic/*.conf), the smoke
test's verdict, SageMaker's failure reasons, and deleting what teardown left, in the order
SageMaker asks. Written for make mutation (issue 32 item 2): each test fails on a mutant of
endpoint.py that changes what is deployed, checked, said or deleted."""

import io
import json

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from mlcc_ci.endpoint import Deployed, Remover, deployed, failure_reasons, smoke_test, sweep_up

pytestmark = pytest.mark.unit


def _error(message: str, code: str = "ValidationException") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, "Describe")


class FakeSageMaker:
    """Endpoints, configs, components and models by name; calls recorded in order.
    A component's status list is what describe returns, one after another (the last stays)."""

    def __init__(self):
        self.endpoints: dict[str, dict] = {}
        self.configs: dict[str, dict] = {}
        self.components: dict[str, dict] = {}
        self.statuses: dict[str, list[str]] = {}
        self.lingering: dict[str, int] = {}  # component -> describes it survives deletion
        self.models: set[str] = set()
        self.calls: list[str] = []
        self.broken: Exception | None = None

    def describe_endpoint(self, EndpointName):
        self.calls.append(f"describe_endpoint {EndpointName}")
        if self.broken:
            raise self.broken
        if EndpointName not in self.endpoints:
            raise _error(f'Could not find endpoint "{EndpointName}".')
        return self.endpoints[EndpointName]

    def describe_endpoint_config(self, EndpointConfigName):
        if self.broken:
            raise self.broken
        if EndpointConfigName not in self.configs:
            raise _error(f"Could not find endpoint configuration {EndpointConfigName}.")
        return self.configs[EndpointConfigName]

    def get_paginator(self, name):
        assert name == "list_inference_components"
        fake = self

        class Pages:
            def paginate(self, EndpointNameEquals):
                names = [
                    n for n, c in fake.components.items() if c["EndpointName"] == EndpointNameEquals
                ]
                return [
                    {"InferenceComponents": [{"InferenceComponentName": n} for n in names[:1]]},
                    {"InferenceComponents": [{"InferenceComponentName": n} for n in names[1:]]},
                ]

        return Pages()

    def describe_inference_component(self, InferenceComponentName):
        name = InferenceComponentName
        self.calls.append(f"describe_inference_component {name}")
        if name not in self.components:
            if self.lingering.get(name):
                self.lingering[name] -= 1
                return {"InferenceComponentName": name, "InferenceComponentStatus": "Deleting"}
            raise _error(f"Inference component {name} does not exist.")
        spec = dict(self.components[name])
        statuses = self.statuses.get(name, ["InService"])
        spec["InferenceComponentStatus"] = statuses.pop(0) if len(statuses) > 1 else statuses[0]
        return spec

    def delete_inference_component(self, InferenceComponentName):
        self.calls.append(f"delete_inference_component {InferenceComponentName}")
        del self.components[InferenceComponentName]

    def delete_endpoint(self, EndpointName):
        self.calls.append(f"delete_endpoint {EndpointName}")
        del self.endpoints[EndpointName]

    def delete_endpoint_config(self, EndpointConfigName):
        self.calls.append(f"delete_endpoint_config {EndpointConfigName}")
        del self.configs[EndpointConfigName]

    def delete_model(self, ModelName):
        self.calls.append(f"delete_model {ModelName}")
        self.models.remove(ModelName)


class Clock:
    def __init__(self):
        self.now = 100.0
        self.slept: list[float] = []

    def monotonic(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds


def remover(sagemaker, patience=60.0, poll=10.0):
    clock = Clock()
    return Remover(
        sagemaker, patience=patience, poll=poll, sleep=clock.sleep, monotonic=clock.monotonic
    ), clock


def deployment():
    """An endpoint with two components, each on its model, and a config with a third."""
    sm = FakeSageMaker()
    sm.endpoints["ep"] = {"EndpointStatus": "InService", "EndpointConfigName": "epc"}
    sm.configs["epc"] = {"ProductionVariants": [{"ModelName": "m-config"}, {"VariantName": "v"}]}
    sm.components["ic-1"] = {"EndpointName": "ep", "Specification": {"ModelName": "m-1"}}
    sm.components["ic-2"] = {"EndpointName": "ep", "Specification": {"ModelName": "m-1"}}
    sm.components["other"] = {"EndpointName": "other-ep", "Specification": {"ModelName": "m-o"}}
    sm.models |= {"m-1", "m-config", "m-o"}
    return sm


# -- deployed: where the project deployed ---------------------------------------------------


def _project(tmp_path, config: str, ics: dict[str, str] | None = None):
    (tmp_path / "do" / "ic").mkdir(parents=True)
    (tmp_path / "do" / "config").write_text(config)
    for name, text in (ics or {}).items():
        (tmp_path / "do" / "ic" / name).write_text(text)
    return tmp_path


def test_no_endpoint_recorded_is_nothing_deployed(tmp_path):
    assert deployed(tmp_path, {}) is None
    assert deployed(_project(tmp_path, "ENDPOINT_NAME=\nAWS_REGION=eu-west-1\n"), {}) is None


def test_the_endpoint_its_components_config_and_region(tmp_path):
    project = _project(
        tmp_path,
        'PROJECT=flask\nENDPOINT_NAME="${PROJECT}-endpoint-1"\nAWS_REGION=eu-west-1\n'
        "ENDPOINT_CONFIG_NAME=flask-epc-1\nINFERENCE_COMPONENT_NAME=ignored\n",
        {
            "b.conf": "IC_DEPLOYED_NAME=ic-b\n",
            "a.conf": "IC_DEPLOYED_NAME=ic-a\n",
            "c.conf": "IC_DEPLOYED_NAME=\n",
            "d.txt": "IC_DEPLOYED_NAME=not-a-conf\n",
        },
    )
    assert deployed(project, {}) == Deployed(
        "flask-endpoint-1", ("ic-a", "ic-b"), "eu-west-1", "flask-epc-1"
    )
    # the run's region wins over the file's
    assert deployed(project, {"AWS_REGION": "ap-southeast-2"}).region == "ap-southeast-2"


def test_a_single_component_named_in_do_config(tmp_path):
    project = _project(tmp_path, "ENDPOINT_NAME=ep\nINFERENCE_COMPONENT_NAME=ic-0\n")
    assert deployed(project, {"AWS_REGION": ""}) == Deployed("ep", ("ic-0",), "us-east-1", "")
    # the environment do/config reads from
    project2 = _project(tmp_path / "two", "ENDPOINT_NAME=${BASE}-ep\n")
    assert deployed(project2, {"BASE": "x"}) == Deployed("x-ep", (), "us-east-1", "")


# -- smoke_test ------------------------------------------------------------------------------


class Runtime:
    def __init__(self, answer: bytes | Exception):
        self.answer = answer
        self.requests: list[dict] = []

    def invoke_endpoint(self, **request):
        self.requests.append(request)
        if isinstance(self.answer, Exception):
            raise self.answer
        return {"Body": io.BytesIO(self.answer)}


WHERE = Deployed("ep", ("ic-1", "ic-2"), "us-east-1")
SPEC = {"payload": {"instances": [[1.0, 2.0]]}, "expect": {"path": "predictions"}}


def test_the_smoke_test_sends_its_payload_to_the_first_component():
    runtime = Runtime(b'{"predictions": [0.5]}')
    assert smoke_test(WHERE, SPEC, runtime) is None
    assert runtime.requests == [
        {
            "EndpointName": "ep",
            "Body": b'{"instances": [[1.0, 2.0]]}',
            "ContentType": "application/json",
            "InferenceComponentName": "ic-1",
        }
    ]
    runtime = Runtime(b"[1]")
    assert (
        smoke_test(Deployed("ep", (), "r"), {"payload": "hi", "contentType": "text/csv"}, runtime)
        is None
    )
    assert runtime.requests == [{"EndpointName": "ep", "Body": b'"hi"', "ContentType": "text/csv"}]


def test_no_payload_no_smoke_test():
    runtime = Runtime(b"")
    assert smoke_test(WHERE, {"expect": {"path": "x"}}, runtime) is None
    assert runtime.requests == []


@pytest.mark.parametrize(
    ("answer", "expect", "said"),
    [
        (b"not json \xff", {}, "smoke test: the answer is not JSON: 'not json \ufffd'"),
        (b"{}", {"path": "predictions"}, "smoke test: the answer has no predictions: {}"),
        (b'{"p": [1]}', {"path": "p.1"}, 'smoke test: the answer has no p.1: {"p": [1]}'),
        (b'{"p": [1]}', {"path": "p.x"}, 'smoke test: the answer has no p.x: {"p": [1]}'),
        (b'{"p": 3}', {"path": "p.0"}, 'smoke test: the answer has no p.0: {"p": 3}'),
        (b'{"p": []}', {"path": "p"}, "smoke test: the answer's p is empty"),
        (b'{"p": {}}', {"path": "p"}, "smoke test: the answer's p is empty"),
        (b'{"p": ""}', {"path": "p"}, "smoke test: the answer's p is empty"),
        (b'{"p": null}', {"path": "p"}, "smoke test: the answer's p is empty"),
        (b"{}", {}, "smoke test: the answer's body is empty"),
        (
            b'{"p": ["cat"]}',
            {"path": "p", "contains": "dog"},
            "smoke test: the answer's p does not contain 'dog'",
        ),
    ],
)
def test_what_the_smoke_test_refuses(answer, expect, said):
    assert smoke_test(WHERE, {"payload": 1, "expect": expect}, Runtime(answer)) == said


def test_what_the_smoke_test_accepts():
    cases = [
        (b'{"p": [{"label": "cat"}]}', {"path": "p.0.label", "contains": "cat"}),
        (b'{"p": [0, 7]}', {"path": "p.1"}),
        (b'{"p": 0}', {"path": "p"}),  # zero is an answer
        (b'{"p": false}', {"path": "p"}),
        (b'{"p": 12}', {"path": "p", "contains": 12}),
        (b'{"p": "x"}', {"path": ".p.", "contains": ""}),
        (b"[[1]]", {"path": "0.0"}),
    ]
    for answer, expect in cases:
        assert smoke_test(WHERE, {"payload": 1, "expect": expect}, Runtime(answer)) is None, expect


def test_a_long_answer_is_cut_in_the_message():
    answer = json.dumps({"q": "x" * 1000}).encode()
    said = smoke_test(WHERE, {"payload": 1, "expect": {"path": "p"}}, Runtime(answer))
    assert said == "smoke test: the answer has no p: " + json.dumps({"q": "x" * 1000})[:300]
    said = smoke_test(WHERE, {"payload": 1}, Runtime(b"<" * 500))
    assert said == f"smoke test: the answer is not JSON: {'<' * 200!r}"


def test_an_endpoint_that_cannot_be_invoked_is_said():
    refused = _error("Endpoint ep not found", "ValidationError")
    said = smoke_test(WHERE, SPEC, Runtime(refused))
    assert said == f"smoke test: invoking ep failed: {refused}"
    unreachable = EndpointConnectionError(endpoint_url="https://runtime.sagemaker")
    said = smoke_test(WHERE, SPEC, Runtime(unreachable))
    assert said == f"smoke test: invoking ep failed: {unreachable}"


# -- failure_reasons -------------------------------------------------------------------------


def test_sagemakers_failure_reasons_for_the_endpoint_and_components():
    sm = FakeSageMaker()
    sm.endpoints["ep"] = {"EndpointStatus": "Failed", "FailureReason": "image pull failed"}
    sm.components["ic-1"] = {"EndpointName": "ep", "FailureReason": "health check"}
    sm.statuses["ic-1"] = ["Failed"]
    sm.components["ic-2"] = {"EndpointName": "ep"}  # no reason: nothing said
    reasons = failure_reasons(Deployed("ep", ("ic-1", "ic-2", "ic-gone"), "r"), sm)
    assert reasons == [
        "endpoint ep Failed: image pull failed",
        "inference component ic-1 Failed: health check",
    ]
    assert failure_reasons(Deployed("gone", (), "r"), sm) == []


# -- Remover and sweep_up --------------------------------------------------------------------


def test_components_first_then_the_endpoint_its_config_and_models():
    sm = deployment()
    gone: list[str] = []
    rm, clock = remover(sm)
    rm.delete("ep", gone)
    assert gone == [
        "inference component ic-1",
        "inference component ic-2",
        "endpoint ep",
        "endpoint config epc",
        "model m-1",
        "model m-config",
    ]
    assert set(sm.endpoints) == set() and set(sm.configs) == set()
    assert set(sm.components) == {"other"} and sm.models == {"m-o"}
    assert clock.slept == []


def test_the_remover_waits_for_components_to_go(tmp_path):
    sm = deployment()
    sm.lingering = {"ic-1": 2}  # deleted, still described twice
    rm, clock = remover(sm, patience=60, poll=7)
    gone: list[str] = []
    rm.delete("ep", gone)
    assert clock.slept == [7, 7]
    assert "endpoint ep" in gone


def test_components_that_never_go_keep_the_endpoint():
    sm = deployment()
    sm.lingering = {"ic-2": 1000}
    rm, clock = remover(sm, patience=30, poll=10)
    gone: list[str] = []
    with pytest.raises(RuntimeError) as raised:
        rm.delete("ep", gone)
    assert str(raised.value) == (
        "inference components still deleting after 30s: ic-2; the endpoint stays until they"
        " are gone"
    )
    assert clock.slept == [10, 10, 10]
    assert "ep" in sm.endpoints and gone == ["inference component ic-1", "inference component ic-2"]


def test_a_component_in_progress_is_deleted_once_it_settles():
    sm = deployment()
    sm.statuses["ic-1"] = ["Creating", "Updating", "InService"]
    rm, clock = remover(sm, patience=60, poll=5)
    rm.delete("ep", [])
    assert clock.slept == [5, 5]
    assert "delete_inference_component ic-1" in sm.calls


def test_a_component_that_never_settles_keeps_the_endpoint():
    sm = deployment()
    sm.statuses["ic-1"] = ["Creating"]
    rm, clock = remover(sm, patience=20, poll=5)
    with pytest.raises(RuntimeError) as raised:
        rm.delete("ep", [])
    assert str(raised.value) == (
        "inference component ic-1 still Creating after 20s: SageMaker deletes none in progress;"
        " the endpoint stays until it settles"
    )
    assert clock.slept == [5, 5, 5, 5]
    assert "ep" in sm.endpoints and "ic-1" in sm.components


def test_a_component_already_deleting_is_not_deleted_again():
    sm = deployment()
    sm.statuses["ic-1"] = ["Deleting"]
    sm.lingering = {}
    rm, _ = remover(sm)
    gone: list[str] = []
    sm.delete_inference_component = lambda **kw: pytest.fail(f"deleted again: {kw}")  # type: ignore[method-assign]
    del sm.components["ic-2"]
    sm.components["ic-1"]["EndpointName"] = "ep"
    # ic-1 is being deleted by someone else: the remover waits for it, deleting nothing
    original = sm.describe_inference_component

    def describe(InferenceComponentName):
        spec = original(InferenceComponentName)
        sm.components.pop(InferenceComponentName, None)  # gone after this look
        return spec

    sm.describe_inference_component = describe  # type: ignore[method-assign]
    rm.delete("ep", gone)
    assert gone == ["endpoint ep", "endpoint config epc", "model m-1", "model m-config"]


def test_an_endpoint_without_a_config_or_with_one_gone():
    sm = deployment()
    del sm.components["ic-1"], sm.components["ic-2"]
    del sm.configs["epc"]
    rm, _ = remover(sm)
    gone: list[str] = []
    rm.delete("ep", gone)
    assert gone == ["endpoint ep"]
    sm.endpoints["ep2"] = {"EndpointStatus": "Failed"}
    rm.delete("ep2", gone)
    assert gone == ["endpoint ep", "endpoint ep2"]


def test_an_error_other_than_missing_is_raised():
    sm = deployment()
    sm.configs = {}
    sm.broken = None
    rm, _ = remover(sm)
    throttled = _error("Rate exceeded", "ThrottlingException")

    def throttle(**kw):
        raise throttled

    sm.describe_endpoint_config = throttle  # type: ignore[method-assign]
    with pytest.raises(ClientError):
        rm.delete("ep", [])
    assert "ep" in sm.endpoints
    with pytest.raises(ClientError):
        rm.config_exists("epc")
    sm.broken = throttled
    with pytest.raises(ClientError):
        rm.exists("ep")


def test_a_component_that_cannot_be_described_is_raised():
    sm = deployment()
    rm, _ = remover(sm)
    original = sm.describe_inference_component
    seen = []

    def describe(InferenceComponentName):
        seen.append(InferenceComponentName)
        if len(seen) > 2:  # after both were deleted: a throttle, not "does not exist"
            raise _error("Rate exceeded", "ThrottlingException")
        return original(InferenceComponentName)

    sm.describe_inference_component = describe  # type: ignore[method-assign]
    with pytest.raises(ClientError, match="Rate exceeded"):
        rm.delete("ep", [])
    assert "ep" in sm.endpoints


def test_sweep_up_deletes_what_teardown_left():
    sm = deployment()
    rm, _ = remover(sm)
    assert sweep_up(Deployed("ep", (), "r", "epc"), rm)[-1] == "model m-config"
    assert sm.endpoints == {}
    # nothing left: nothing deleted
    assert sweep_up(Deployed("ep", (), "r", "epc"), rm) == []


def test_sweep_up_leaves_an_endpoint_being_deleted():
    sm = deployment()
    sm.endpoints["ep"]["EndpointStatus"] = "Deleting"
    rm, _ = remover(sm)
    assert rm.exists("ep") is False
    assert rm.exists("missing") is False
    assert sweep_up(Deployed("ep", (), "r"), rm) == []
    assert "ep" in sm.endpoints


def test_sweep_up_deletes_a_config_whose_endpoint_was_refused():
    sm = FakeSageMaker()
    sm.configs["epc"] = {"ProductionVariants": []}
    rm, _ = remover(sm)
    assert rm.config_exists("epc") is True
    assert sweep_up(Deployed("ep", (), "r", "epc"), rm) == ["endpoint config epc"]
    assert sm.configs == {}
    assert rm.config_exists("epc") is False
    assert sweep_up(Deployed("ep", (), "r", "epc"), rm) == []
    assert sweep_up(Deployed("ep", (), "r", ""), rm) == []


# -- client: the run's credentials, region and endpoint -------------------------------------------


def test_a_client_uses_the_runs_credentials_region_and_endpoint():
    from mlcc_ci.endpoint import client

    env = {
        "AWS_ACCESS_KEY_ID": "AKIARUN",
        "AWS_SECRET_ACCESS_KEY": "run-secret",
        "AWS_SESSION_TOKEN": "run-token",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:4566",
    }
    made = client("sagemaker-runtime", "eu-west-1", env)
    assert made.meta.service_model.service_name == "sagemaker-runtime"
    assert made.meta.region_name == "eu-west-1"
    assert made.meta.endpoint_url == "http://127.0.0.1:4566"
    credentials = made._request_signer._credentials.get_frozen_credentials()
    assert (credentials.access_key, credentials.secret_key, credentials.token) == (
        "AKIARUN",
        "run-secret",
        "run-token",
    )
    # no endpoint named: AWS's own for the region
    plain = client("sagemaker", "ap-southeast-2", {**env, "AWS_ENDPOINT_URL": ""})
    assert plain.meta.endpoint_url == "https://api.sagemaker.ap-southeast-2.amazonaws.com"


def test_a_component_or_config_without_models_deletes_no_model():
    sm = deployment()
    sm.components["ic-1"] = {"EndpointName": "ep"}  # no Specification
    sm.components["ic-2"] = {"EndpointName": "ep", "Specification": {}}  # no ModelName
    sm.configs["epc"] = {}  # no ProductionVariants
    rm, _ = remover(sm)
    gone: list[str] = []
    rm.delete("ep", gone)
    assert gone == [
        "inference component ic-1",
        "inference component ic-2",
        "endpoint ep",
        "endpoint config epc",
    ]
    assert sm.models == {"m-1", "m-config", "m-o"}


def test_every_component_still_deleting_is_named():
    sm = deployment()
    sm.lingering = {"ic-1": 1000, "ic-2": 1000}
    rm, _ = remover(sm, patience=10, poll=10)
    with pytest.raises(RuntimeError) as raised:
        rm.delete("ep", [])
    assert str(raised.value).startswith(
        "inference components still deleting after 10s: ic-1, ic-2; the endpoint stays"
    )


def test_a_component_is_said_when_its_endpoint_cannot_be_described():
    sm = FakeSageMaker()
    sm.components["ic-1"] = {"EndpointName": "gone", "FailureReason": "no capacity"}
    sm.statuses["ic-1"] = ["Failed"]
    reasons = failure_reasons(Deployed("gone", ("ic-1",), "r"), sm)
    assert reasons == ["inference component ic-1 Failed: no capacity"]
