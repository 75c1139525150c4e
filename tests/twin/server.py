"""A simulated AWS account on 127.0.0.1: moto's server, with what the generated projects'
do-scripts call and moto lacks (see hosting.py), nested CodeBuild builds that leave an
image in ECR, injected faults, and a record of every call.

Only the endpoint is simulated: clients are the real AWS CLI and boto3, pointed here with
`AWS_ENDPOINT_URL`.
"""

import io
import json
import re
import threading
import time
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

import yaml
from werkzeug.serving import make_server
from werkzeug.wrappers import Request

from tests.twin import iam, images
from tests.twin.dynamodb import IndexLag
from tests.twin.hosting import ACCOUNT, ApiError, Hosting
from tests.twin.nested import NestedBuilds

_CREDENTIAL = re.compile(r"Credential=([^/]+)/\d+/([^/]+)/([^/]+)/")
_INVOKE = re.compile(r"^/endpoints/([^/]+)/invocations$")


@dataclass(frozen=True)
class Call:
    service: str  # the signing name: sagemaker, iam, ecr, s3, ...
    action: str  # the API operation: CreateEndpoint, PutObject, ...
    key: str  # the access key id that signed it: who called
    region: str
    params: dict[str, Any]
    status: int
    error: str = ""
    # the client, from its User-Agent: "aws-cli" (the do-scripts), "boto3" (mlcc-ci), ...
    client: str = ""


@dataclass
class Rule:
    kind: str
    match: str  # a substring of the resource's name; "" matches all
    times: int | None  # None: every time


@dataclass
class Faults:
    """What the account does wrong, on request. Kinds: capacity (an endpoint fails to
    provision), ic-unhealthy (an inference component fails its health check), ic-hang (one
    stays Creating), slow-delete (deleting an inference component takes SLOW_DELETE_SECONDS,
    as on SageMaker, where it takes minutes), nested-build-fails (a nested CodeBuild build
    ends FAILED), answer-empty (the container answers with every list empty, e.g.
    `{"predictions": []}`), answer-text (it answers `OK`, not JSON), and throttle:<Action>
    (the call is refused with ThrottlingException)."""

    rules: list[Rule] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, kind: str, match: str = "", times: int | None = None) -> None:
        with self.lock:
            self.rules.append(Rule(kind, match, times))

    def take(self, kind: str, name: str) -> bool:
        with self.lock:
            for rule in self.rules:
                if rule.kind == kind and rule.match in name and rule.times != 0:
                    if rule.times is not None:
                        rule.times -= 1
                    return True
        return False

    def clear(self) -> None:
        with self.lock:
            self.rules.clear()


def _s3_action(method: str, path: str, query: dict[str, list[str]]) -> str:
    parts = [p for p in path.split("/") if p]
    if len(parts) <= 1:
        if method == "HEAD":
            return "HeadBucket"
        if method == "GET":
            return "ListObjectsV2" if "list-type" in query else "ListObjects"
        if method == "POST" and "delete" in query:
            return "DeleteObjects"
        return {"PUT": "CreateBucket", "DELETE": "DeleteBucket"}.get(method, method)
    return {
        "PUT": "PutObject",
        "GET": "GetObject",
        "HEAD": "HeadObject",
        "DELETE": "DeleteObject",
    }.get(method, method)


def parse(request: Request, body: bytes) -> tuple[str, str, str, str, dict[str, Any]]:
    """(service, action, access key, region, params) of one AWS request."""
    match = _CREDENTIAL.search(request.headers.get("Authorization", ""))
    key, region, service = match.groups() if match else ("", "us-east-1", "")
    params: dict[str, Any] = {}
    target = request.headers.get("X-Amz-Target", "")
    invoke = _INVOKE.match(unquote(request.path))
    if target:
        action = target.rsplit(".", 1)[-1]
        try:
            params = json.loads(body or b"{}")
        except ValueError:
            params = {}
    elif service == "sagemaker" and invoke:
        action = "InvokeEndpoint"
        params = {
            "EndpointName": invoke.group(1),
            "InferenceComponentName": request.headers.get("X-Amzn-SageMaker-Inference-Component"),
        }
    elif service == "s3":
        query = parse_qs(urlparse(request.url).query, keep_blank_values=True)
        action = _s3_action(request.method, request.path, query)
        parts = [p for p in unquote(request.path).split("/") if p]
        params = {"Bucket": parts[0] if parts else "", "Key": "/".join(parts[1:])}
        if "prefix" in query:
            params["Prefix"] = query["prefix"][0]
    else:
        form = parse_qs(body.decode("utf-8", errors="replace"))
        flat = {k: v[0] for k, v in form.items()}
        action = flat.pop("Action", request.method)
        params = flat
    return service, action, key, region, params


def _denied(service: str, message: str) -> tuple[int, dict[str, str], bytes]:
    """AccessDenied as the service's protocol says it."""
    if service in ("iam", "sts", "sns"):
        body = (
            "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code>"
            f"<Message>{message}</Message></Error><RequestId>twin</RequestId></ErrorResponse>"
        )
        return 403, {"Content-Type": "text/xml"}, body.encode()
    if service == "s3":
        body = f"<Error><Code>AccessDenied</Code><Message>{message}</Message></Error>"
        return 403, {"Content-Type": "application/xml"}, body.encode()
    return _error("AccessDeniedException", message)


def _error(code: str, message: str, status: int = 400) -> tuple[int, dict[str, str], bytes]:
    body = json.dumps({"__type": code, "message": message, "Message": message}).encode()
    return status, {"Content-Type": "application/x-amz-json-1.1", "x-amzn-ErrorType": code}, body


def _fix_moto() -> None:
    """Where moto 5.2 refuses what AWS accepts: a NO_SOURCE CodeBuild project (the nested
    build's) has no source location, only its buildspec."""
    from moto.codebuild import responses

    if getattr(responses, "_twin_fixed", False):
        return
    original = responses._validate_required_params_source

    def validate(source: dict[str, Any]) -> None:
        if source.get("type") == "NO_SOURCE" and source.get("buildspec"):
            return
        original(source)

    responses._validate_required_params_source = validate
    responses._twin_fixed = True


class Twin:
    def __init__(self, *, settle_seconds: float = 0.3) -> None:
        _fix_moto()
        from moto.moto_server.threaded_moto_server import MotoRequestHandler
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

        self.faults = Faults()
        self.calls: list[Call] = []
        self._lock = threading.Lock()
        self._failed_builds: set[str] = set()
        self.settle_seconds = settle_seconds
        self.hosting = Hosting(self.faults, self._image_labels, settle_seconds=settle_seconds)
        self._moto = DomainDispatcherApplication(create_backend_app)

        class Quiet(MotoRequestHandler):  # type: ignore[misc, valid-type]
            def log_request(self, *args: Any, **kwargs: Any) -> None:
                pass

        self._server = make_server("127.0.0.1", 0, self, threaded=True, request_handler=Quiet)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self.baseline: dict[str, set[str]] = {}
        # access key -> why IAM refuses a call (None: allowed); keys not here are not checked
        self.enforced: dict[str, Callable[[Call], str | None]] = {}

    def start(self) -> "Twin":
        self._thread.start()
        return self.reset()

    def reset(self) -> "Twin":
        """An empty account: moto's backends live in this process, shared by every server."""
        import urllib.request

        urllib.request.urlopen(urllib.request.Request(f"{self.url}/moto-api/reset", method="POST"))
        self.faults.clear()
        self._failed_builds.clear()
        self.nested = NestedBuilds()  # nested builds that take time (fault nested-build-slow)
        self.index_lag = 0.0  # how many seconds GSI reads lag the table's writes
        # or, when set (a time.time()), the moment GSI reads answer as of, however long ago:
        # an index that stopped there, whatever the machine's load makes its readers take
        self.index_as_of: float | None = None
        self.tables = IndexLag(ACCOUNT)
        with self._lock:
            self.calls.clear()
        self.hosting = Hosting(self.faults, self._image_labels, settle_seconds=self.settle_seconds)
        self.baseline = {}
        self.enforced = {}
        return self

    def set_quotas(self, quotas: dict[str, int]) -> "Twin":
        """Endpoint instance quotas by instance type until the next reset (which lifts them)."""
        self.hosting.quotas = dict(quotas)
        return self

    def stop(self) -> None:
        self._server.shutdown()

    # -- WSGI -----------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        body = request.get_data(cache=True)
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        if request.path.startswith("/moto-api"):
            return self._moto(environ, start_response)
        service, action, key, region, params = parse(request, body)
        check = self.enforced.get(key)
        refusal = check(Call(service, action, key, region, params, 0)) if check else None
        if refusal:
            status, headers, payload = _denied(service, refusal)
        else:
            status, headers, payload = self._answer(
                environ, request, body, service, action, region, params
            )
        error = ""
        if status >= 300:
            error = headers.get("x-amzn-ErrorType", "") or _error_code(payload)
        with self._lock:
            self.calls.append(
                Call(service, action, key, region, params, status, error, _client(request))
            )
        start_response(f"{status} {'OK' if status < 300 else 'Error'}", list(headers.items()))
        return [payload]

    def _answer(
        self,
        environ: dict[str, Any],
        request: Request,
        body: bytes,
        service: str,
        action: str,
        region: str,
        params: dict[str, Any],
    ) -> tuple[int, dict[str, str], bytes]:
        # -- issue 28: refuse what the service's model refuses, before moto and hosting --
        from tests.twin.validation import refusal

        refused = refusal(service, action, params) if request.headers.get("X-Amz-Target") else None
        if refused:
            return _error(refused.code, refused.message)
        # -- end of the validation hook --
        name = _name_in(params)
        if self.faults.take(f"throttle:{action}", name):
            return _error("ThrottlingException", "Rate exceeded")
        try:
            if service == "sagemaker" and action == "InvokeEndpoint":
                reply = self.hosting.invoke(
                    params["EndpointName"], params.get("InferenceComponentName"), body, region
                )
                headers = {
                    "Content-Type": "application/json",
                    "X-Amzn-Invoked-Production-Variant": "AllTraffic",
                }
                return 200, headers, reply
            if service == "sagemaker" and action in Hosting.HANDLED:
                result = self.hosting.handle(action, params, region)
                return (
                    200,
                    {"Content-Type": "application/x-amz-json-1.1"},
                    json.dumps(result).encode(),
                )
        except ApiError as exc:
            return _error(exc.code, exc.message, exc.status)
        if service == "ecr" and action == "PutImage" and not self._repository(region, params):
            # moto 5.2 answers 500 here; ECR says which repository is missing
            name = params.get("repositoryName", "")
            return _error(
                "RepositoryNotFoundException",
                f"The repository with name '{name}' does not exist in the registry with id "
                f"'{ACCOUNT}'",
            )
        if service == "dynamodb":  # GSIs that lag writes (dynamodb.py)
            return self.tables.answer(
                self.index_lag, action, region, params, environ, self._pass, self.index_as_of
            )
        status, headers, payload = self._pass(environ)
        if service == "codebuild" and status == 200:
            payload = self._nested_build(action, region, params, payload)
        return status, headers, payload

    @staticmethod
    def _repository(region: str, params: dict[str, Any]) -> bool:
        from moto.ecr.models import ecr_backends

        return params.get("repositoryName") in ecr_backends[ACCOUNT][region].repositories

    def _pass(self, environ: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
        captured: dict[str, Any] = {}

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
            captured["status"] = int(status.split()[0])
            captured["headers"] = dict(headers)

        chunks = self._moto(environ, start)
        payload = b"".join(chunks)
        if hasattr(chunks, "close"):
            chunks.close()
        headers = {k: v for k, v in captured["headers"].items() if k.lower() != "content-length"}
        return captured["status"], headers, payload

    # -- nested CodeBuild builds --------------------------------------------------------

    def _nested_build(
        self, action: str, region: str, params: dict[str, Any], payload: bytes
    ) -> bytes:
        from moto.codebuild.models import codebuild_backends

        if action == "StartBuild":
            build = json.loads(payload)["build"]
            project = codebuild_backends[ACCOUNT][region].codebuild_projects[params["projectName"]]
            self._nested_log_group(region, params["projectName"])
            if self.faults.take("nested-build-fails", params["projectName"]):
                self._failed_builds.add(build["id"])
            elif self.faults.take("nested-build-slow", params["projectName"]):
                # it takes nested.slow_minutes: the image is pushed if it succeeds in time
                metadata = project.project_metadata
                self.nested.start(
                    build["id"],
                    metadata,
                    params,
                    lambda: self._push_from_build(region, metadata, params),
                )
                doc = json.loads(payload)
                self.nested.rewrite(doc["build"])
                return json.dumps(doc).encode()
            else:
                self._push_from_build(region, project.project_metadata, params)
            return payload
        if action == "StopBuild":
            self.nested.stop(params.get("id", ""))
            doc = json.loads(payload)
            self.nested.rewrite(doc.get("build", {"id": ""}))
            return json.dumps(doc).encode()
        if action == "BatchGetBuilds":
            doc = json.loads(payload)
            for build in doc.get("builds", []):
                if build["id"] in self._failed_builds:
                    build["buildStatus"] = "FAILED"
                    build["currentPhase"] = "COMPLETED"
                else:
                    self.nested.rewrite(build)
            return json.dumps(doc).encode()
        return payload

    def _push_from_build(
        self, region: str, project: dict[str, Any], params: dict[str, Any]
    ) -> None:
        """What the nested build's buildspec does: build the uploaded source, push it as
        <repository>:<project>-<time>, <project>-latest and latest."""
        from moto.s3.models import s3_backends

        spec = yaml.safe_load(project["source"].get("buildspec") or "{}") or {}
        variables = (spec.get("env") or {}).get("variables") or {}
        repository, name = variables.get("ECR_REPOSITORY_NAME"), variables.get("PROJECT_NAME")
        if iam.refuse_nested_build(self, region, project, params, repository):
            return  # its service role may not read the source or push: FAILED, in its log
        location = params.get("sourceLocationOverride", "")
        bucket, _, key = location.partition("/")
        source = s3_backends[ACCOUNT]["global"].get_object(bucket, key)
        with zipfile.ZipFile(io.BytesIO(source.value)) as archive:  # type: ignore[union-attr]
            config = archive.read("do/config").decode()
        stamp = time.strftime("%Y%m%d-%H%M%S")
        self.push_image(
            region, repository, name, config, [f"{name}-{stamp}", f"{name}-latest", "latest"]
        )

    def _nested_log_group(self, region: str, project: str) -> None:
        """CodeBuild writes a build's log to /aws/codebuild/<project>, made on first use with
        no retention."""
        from moto.logs.models import logs_backends

        backend = logs_backends[ACCOUNT][region]
        group = f"/aws/codebuild/{project}"
        if group not in backend.groups:
            backend.create_log_group(group, {})

    # -- ECR images ---------------------------------------------------------------------

    def push_image(
        self, region: str, repository: str, project: str, config: str, tags: list[str]
    ) -> None:
        """Put an image in the simulated ECR, as a nested build pushes it."""
        from moto.ecr.models import ecr_backends

        document = images.manifest(images.labels_from_config(config, project))
        backend = ecr_backends[ACCOUNT][region]
        for tag in tags:
            backend.put_image(repository, document, tag)

    def _image_labels(self, region: str, uri: str) -> dict[str, str] | None:
        from moto.ecr.models import ecr_backends

        match = re.match(r"^\d+\.dkr\.ecr\.[^/]+\.amazonaws\.com/([^:@]+):(.+)$", uri)
        if not match:
            return None
        repository, tag = match.groups()
        repo = ecr_backends[ACCOUNT][region].repositories.get(repository)
        for image in repo.images if repo else []:
            if tag in image.image_tags:
                return images.labels_of(image.image_manifest)
        return None

    # -- what is left -------------------------------------------------------------------

    def snapshot(self) -> dict[str, set[str]]:
        """Every resource a run could leave behind, by kind."""
        from moto.codebuild.models import codebuild_backends
        from moto.ecr.models import ecr_backends
        from moto.iam.models import iam_backends

        found = {k: set(v) for k, v in self.hosting.alive().items()}
        found["codebuild-project"] = set(
            codebuild_backends[ACCOUNT]["us-east-1"].codebuild_projects
        )
        found["iam-role"] = {r.name for r in iam_backends[ACCOUNT]["global"].roles.values()}
        found["ecr-image"] = {
            f"{repo.name}:{tag}"
            for repo in ecr_backends[ACCOUNT]["us-east-1"].repositories.values()
            for image in repo.images
            for tag in image.image_tags
        }
        return found

    def mark_baseline(self) -> None:
        """What the stack itself provisioned: never a leak."""
        self.baseline = self.snapshot()

    def alive(self, *, kinds: Iterable[str] | None = None) -> dict[str, list[str]]:
        """What exists now and did not at the baseline."""
        now = self.snapshot()
        wanted = set(kinds) if kinds is not None else set(now)
        return {
            kind: sorted(names - self.baseline.get(kind, set()))
            for kind, names in now.items()
            if kind in wanted and names - self.baseline.get(kind, set())
        }

    def calls_by(self, key: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.key == key]


def _client(request: Request) -> str:
    """Which client sent a request: the first product of its User-Agent, by name."""
    agent = request.headers.get("User-Agent", "")
    first = agent.split(" ", 1)[0].split("/", 1)[0]
    return first.lower()


def _name_in(params: dict[str, Any]) -> str:
    for key in ("EndpointName", "InferenceComponentName", "projectName", "name", "RoleName"):
        if isinstance(params.get(key), str):
            return str(params[key])
    return ""


def _error_code(payload: bytes) -> str:
    try:
        doc = json.loads(payload)
        return str(doc.get("__type", "")).rsplit("#", 1)[-1]
    except ValueError:
        match = re.search(rb"<Code>([^<]+)</Code>", payload)
        return match.group(1).decode() if match else "error"
