"""Issue 32's lifecycle survivors: do/validate gets no npm credential, and the harness's own
smoke test really invokes the endpoint the project deployed."""

import json
import os
import re
import threading
import urllib.request
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from mlcc_ci import clock
from mlcc_ci.catalog import load_valid_catalog, merge
from mlcc_ci.lifecycle import Runner
from mlcc_ci.profiles import load_profile
from mlcc_ci.registration import from_entry
from mlcc_ci.stores.base import claim
from mlcc_ci.stores.sqlite import SqliteStore

pytestmark = pytest.mark.functional
CATALOG = load_valid_catalog()
EXAMPLE_GENERATE = (
    '"$MLCC_PYTHON" "$MLCC_EXAMPLES/local-generator/mlcc-example-generator" '
    '--config "$MLCC_CONFIG_FILE" --skip-prompts'
)


@pytest.fixture
def store(tmp_path):
    s = SqliteStore(tmp_path / "r.db")
    yield s
    s.close()


def _claimed(store, name="http-flask"):
    entry = CATALOG.get(name)
    store.register(from_entry(entry), clock.iso(clock.now()))
    record = claim(
        store, store.get(entry.config_id), f"run-{name}", clock.iso(clock.now(), ms=True)
    )
    return record, entry


# -- do/validate gets no npm credential -----------------------------------------------------

# npm reads its settings from npm_config_* variables in any case, a registry's auth token
# among them: the prefix passes them on, and only is_secret keeps these back.
NPM_SECRETS = {
    "npm_config__authToken": "npm_" + "A1b2" * 9,
    "NPM_CONFIG__AUTH": "dXNlcjpodW50ZXIy",
    "npm_config__password": "aHVudGVyMg==",
}


def test_do_validate_gets_no_npm_auth_token_but_npm_settings(store, tmp_path):
    seen = tmp_path / "seen-env"
    body = f"env > {seen}"
    gen = (
        f"{EXAMPLE_GENERATE} && printf '%s\\n' '#!/bin/bash' '{body}' "
        '> "$MLCC_PROJECT_DIR/do/validate" && chmod +x "$MLCC_PROJECT_DIR/do/validate"'
    )
    profile = load_profile(CATALOG, "example")
    profile = replace(profile, stages=merge(profile.stages, {"generate": {"command": gen}}))
    env = {**os.environ, **NPM_SECRETS, "npm_config_cache": str(tmp_path / "npm-cache")}
    record, entry = _claimed(store)
    report = Runner(store, profile, work_root=tmp_path / "work", env=env).run(record, entry)
    assert report.status == "pass", report.outcome.stageResults
    given = dict(line.split("=", 1) for line in seen.read_text().splitlines() if "=" in line)
    assert given["npm_config_cache"] == str(tmp_path / "npm-cache")  # npm settings pass
    assert [k for k in given if k.lower().startswith("npm_config__")] == []
    out = seen.read_text()
    assert [v for v in NPM_SECRETS.values() if v in out] == []


def test_validate_env_keeps_npm_settings_and_drops_every_npm_credential(tmp_path):
    """The registry-scoped form (`//registry.npmjs.org/:_authToken`) too."""
    from mlcc_ci import validate_env

    scoped = "npm_config_//registry.npmjs.org/:_authToken"
    env = {
        "PATH": os.environ["PATH"],
        **NPM_SECRETS,
        scoped: "npm_" + "Z9" * 18,
        "npm_config_registry": "http://127.0.0.1:4873/",
        "NPM_CONFIG_PREFIX": str(tmp_path / "prefix"),
    }
    prepared = validate_env.prepare(tmp_path / "validate-env", env, tmp_path / "home")
    assert {k: v for k, v in prepared.items() if k.lower().startswith("npm_config_")} == {
        "npm_config_registry": "http://127.0.0.1:4873/",
        "NPM_CONFIG_PREFIX": str(tmp_path / "prefix"),
    }


# -- the harness's smoke test invokes the endpoint --------------------------------------------

_INVOKE = re.compile(r"^/endpoints/([^/]+)/invocations$")


class FakeSageMaker:
    """What the harness asks of SageMaker around the example's endpoint, on 127.0.0.1:
    InvokeEndpoint, forwarded to the example's own server (the port its do/deploy wrote),
    every call recorded; DescribeEndpoint after teardown says the endpoint is gone."""

    def __init__(self, work: Path, answer: bytes | None = None) -> None:
        self.work, self.answer = work, answer
        self.invocations: list[dict[str, object]] = []
        self.calls: list[str] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                invoked = _INVOKE.match(self.path)
                if invoked:
                    fake.calls.append("InvokeEndpoint")
                    self._reply(200, fake.invoke(invoked.group(1), body, self.headers))
                    return
                action = str(self.headers.get("X-Amz-Target", "")).removeprefix("SageMaker.")
                fake.calls.append(action)
                name = json.loads(body or b"{}").get("EndpointName", "")
                error = {"__type": "ValidationException", "message": f"Could not find {name}"}
                self._reply(400, json.dumps(error).encode())

            def _reply(self, code: int, data: bytes) -> None:
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def invoke(self, name: str, body: bytes, headers: object) -> bytes:
        (port_file,) = self.work.glob("**/endpoint/port")
        port = int(port_file.read_text())
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/invocations",
            data=body,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as served:
            answer = served.read()
        self.invocations.append({"endpoint": name, "body": json.loads(body), "served": answer})
        return self.answer if self.answer is not None else answer

    def __enter__(self) -> "FakeSageMaker":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def _checked_runner(store, tmp_path, url):
    """The example profile with the harness's endpoint checks on, as the default profile
    has them: do/config names the endpoint, SageMaker is the fake."""
    profile = replace(
        load_profile(CATALOG, "example"),
        endpoint_checks=True,
        project_config={"ENDPOINT_NAME": "{projectName}-endpoint"},
    )
    env = {**os.environ, "AWS_ENDPOINT_URL": url, "AWS_REGION": "us-east-1"}
    return Runner(store, profile, work_root=tmp_path / "work", env=env)


def test_the_smoke_test_invokes_the_endpoint_the_project_deployed(store, tmp_path):
    """After do/deploy and do/test pass, the harness sends the entry's smokeTest payload to
    the endpoint do/config names, once, and the example's server answers it."""
    record, entry = _claimed(store)
    with FakeSageMaker(tmp_path / "work") as sagemaker:
        report = _checked_runner(store, tmp_path, sagemaker.url).run(record, entry)
    assert report.status == "pass", report.outcome.stageResults
    assert [(i["endpoint"], i["body"]) for i in sagemaker.invocations] == [
        (f"mlcc-ci-{entry.name}-endpoint", entry.data["smokeTest"]["payload"])
    ]
    # the example's server summed the one row: {"predictions": [10.0]}
    assert json.loads(sagemaker.invocations[0]["served"]) == {"predictions": [10.0]}
    # after teardown the harness looked for what do/clean might have left
    assert sagemaker.calls == ["InvokeEndpoint", "DescribeEndpoint"]


def test_an_answer_without_the_expected_path_fails_deploy_test(store, tmp_path):
    """do/test (which asks the server itself) passes; the harness's smoke test, through
    SageMaker, gets an answer without `predictions` and fails the stage."""
    record, entry = _claimed(store)
    with FakeSageMaker(tmp_path / "work", answer=b'{"outputs": []}') as sagemaker:
        report = _checked_runner(store, tmp_path, sagemaker.url).run(record, entry)
    assert report.status == "fail-deploy_test"
    result = store.get(record.configId).stageResults
    assert result["deploy_test"].errorSummary == (
        'smoke test: the answer has no predictions: {"outputs": []}'
    )
    assert result["teardown"].status == "pass"
    assert len(sagemaker.invocations) == 1
