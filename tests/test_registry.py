"""The base image digest lookup (mlcc_ci/registry.py) against a registry on 127.0.0.1 that
speaks the Docker Registry HTTP API v2: the bearer-token flow, a manifest list's digest, 404,
no answer, and how a failure reads in the plan (it never blocks)."""

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from mlcc_ci import registry
from mlcc_ci.registry import DOCKER_HUB, LookupFailed, Lookups, Pinned, Reference, Registry, parse

pytestmark = pytest.mark.functional

LIST = "sha256:" + "1" * 64
SINGLE = "sha256:" + "2" * 64
TOKEN = "t0ken"


class FakeRegistry:
    """A registry that wants a bearer token (from its own /token realm) for every manifest;
    `slow/...` never answers until the test ends."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, dict[str, str]]] = []
        self.release = threading.Event()
        self.token_asked = 0
        self.realm_scheme = "http"
        this = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                this.seen.append(("GET", self.path, dict(self.headers.items())))
                if not self.path.startswith("/token?"):
                    self.send_response(404)
                    self.end_headers()
                    return
                this.token_asked += 1
                body = json.dumps({"token": TOKEN}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_HEAD(self) -> None:
                this.seen.append(("HEAD", self.path, dict(self.headers.items())))
                name = self.path.removeprefix("/v2/").split("/manifests/")[0]
                if name.startswith("slow/"):
                    this.release.wait(10)
                    return
                if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    self.send_response(401)
                    realm = f"{this.realm_scheme}://127.0.0.1:{this.port}/token"
                    self.send_header(
                        "WWW-Authenticate",
                        f'Bearer realm="{realm}",service="fake",scope="repository:{name}:pull"',
                    )
                    self.end_headers()
                    return
                if not self.path.endswith("/manifests/v1"):
                    self.send_response(404)
                    self.end_headers()
                    return
                accept = self.headers.get("Accept", "")
                multi = "application/vnd.docker.distribution.manifest.list.v2+json" in accept
                self.send_response(200)
                self.send_header("Docker-Content-Digest", LIST if multi else SINGLE)
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self.thread.start()

    def image(self, name: str, tag: str = "v1") -> str:
        return f"127.0.0.1:{self.port}/{name}:{tag}"

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake() -> Iterator[FakeRegistry]:
    server = FakeRegistry()
    yield server
    server.close()


def test_the_token_flow_and_the_manifest_lists_digest(fake):
    client = Registry(timeout=5)
    assert client.digest(fake.image("team/vllm")) == LIST
    head, token, again = fake.seen
    assert head[0] == "HEAD" and "Authorization" not in head[2]
    assert token[0] == "GET"
    assert token[1] == "/token?service=fake&scope=repository%3Ateam%2Fvllm%3Apull"
    assert again[1] == "/v2/team/vllm/manifests/v1"
    assert again[2]["Authorization"] == f"Bearer {TOKEN}"
    accept = again[2]["Accept"].split(", ")
    assert accept[:2] == [
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
    ]


def test_a_token_is_asked_once_per_scope_and_each_answer_kept_for_the_scan(fake):
    lookups = Lookups(Registry(timeout=5))
    image = fake.image("team/vllm")
    assert lookups.get(image) == LIST
    assert lookups.get(image) == LIST  # kept: asked of the registry once
    assert fake.token_asked == 1 and len(fake.seen) == 3
    assert lookups.registry.digest(image) == LIST  # a second lookup reuses the token
    assert fake.token_asked == 1 and len(fake.seen) == 5
    assert dict(lookups) == {image: LIST} and lookups.errors == {}


def test_a_missing_tag_is_a_404_said_once(fake):
    lookups = Lookups(Registry(timeout=5))
    image = fake.image("team/vllm", "v9")
    assert lookups.get(image) is None
    assert lookups.errors == {image: f"127.0.0.1:{fake.port} has no team/vllm:v9 (404)"}
    assert lookups.get(image) is None and len(fake.seen) == 3  # not asked again


def test_no_answer_within_the_timeout_fails_the_lookup_not_the_scan(fake):
    lookups = Lookups(Registry(timeout=0.2))
    image = fake.image("slow/vllm")
    assert lookups.get(image) is None
    assert lookups.errors[image] == f"127.0.0.1:{fake.port}: no answer within 0.2s"


def test_a_token_realm_that_is_not_https_is_refused(fake):
    fake.realm_scheme = "ftp"
    with pytest.raises(LookupFailed, match=r"asks for a token from 'ftp://127\.0\.0\.1:"):
        Registry(timeout=5).digest(fake.image("team/vllm"))
    assert fake.token_asked == 0


def test_nothing_listening_is_a_lookup_failure():
    server = FakeRegistry()
    image = server.image("team/vllm")
    server.close()
    with pytest.raises(LookupFailed, match=r"^127\.0\.0\.1:\d+: .*refused"):
        Registry(timeout=2).digest(image)


@pytest.mark.parametrize(
    ("image", "ref"),
    [
        ("python:3.12-slim", Reference(DOCKER_HUB, "library/python", "3.12-slim")),
        ("python", Reference(DOCKER_HUB, "library/python", "latest")),
        ("vllm/vllm-openai:v0.10.1", Reference(DOCKER_HUB, "vllm/vllm-openai", "v0.10.1")),
        ("docker.io/python:3", Reference(DOCKER_HUB, "library/python", "3")),
        (
            "public.ecr.aws/deep-learning-containers/vllm:0.10",
            Reference("public.ecr.aws", "deep-learning-containers/vllm", "0.10"),
        ),
        ("localhost:5000/team/x:1", Reference("localhost:5000", "team/x", "1")),
        ("nvcr.io/nvidia/tritonserver", Reference("nvcr.io", "nvidia/tritonserver", "latest")),
    ],
)
def test_references_read_as_docker_reads_them(image, ref):
    assert parse(image) == ref


def test_only_local_registries_are_asked_over_http():
    assert parse("127.0.0.1:5000/x:1").manifest_url == "http://127.0.0.1:5000/v2/x/manifests/1"
    assert parse("python:3").manifest_url == (
        "https://registry-1.docker.io/v2/library/python/manifests/3"
    )


def test_a_pinned_reference_has_nothing_to_look_up():
    with pytest.raises(Pinned):
        parse("python@sha256:" + "0" * 64)
    with pytest.raises(LookupFailed, match="is no image reference"):
        parse("two words")


def test_a_failed_lookup_reads_in_the_plan_and_blocks_nothing(fake):
    """The selection asks the lookups only for images a run recorded a digest of; a failed
    one is scheduled as if unchanged, and the plan says why."""
    from dataclasses import replace
    from datetime import UTC, datetime

    from mlcc_ci.cadence import Inputs
    from mlcc_ci.models import Record, Run
    from mlcc_ci.selection import Policy, select

    image = fake.image("team/vllm", "v9")
    ran = Run(
        configId="c",
        startedAt="2026-06-01T00:00:00.000Z",
        runId="r",
        finishedAt="2026-06-01T00:10:00.000Z",
        status="pass",
        durationSeconds=600,
        deploymentConfig="x",
        generatorVersion="1.6.0",
        provenImage=f"{image}@{SINGLE}",
    )
    record = Record(
        configId="c",
        configJson="{}",
        deploymentConfig="x",
        buildStrategy="codebuild-submit",
        projectName="p",
        createdAt="2026-05-01T00:00:00Z",
        source="catalog",
        version=2,
        testStatus="pass",
        lastTestTimestamp=ran.finishedAt,
        baseImage=image,
        recentRuns=(ran,),
    )
    lookups = Lookups(Registry(timeout=5))
    inputs = Inputs(digests=lookups, lookup_errors=lookups.errors)
    plan = select([record], datetime(2026, 6, 1, 12, tzinfo=UTC), Policy(), inputs=inputs)
    [fresh] = plan.skipped
    assert fresh.reason == "fresh"
    assert fresh.detail.endswith(
        f"; digest of {image} not looked up (127.0.0.1:{fake.port} has no team/vllm:v9 (404)): "
        "scheduled as if unchanged"
    )
    moved = Lookups(Registry(timeout=5))
    tagged = fake.image("team/vllm")
    bumped = replace(
        record, baseImage=tagged, recentRuns=(replace(ran, provenImage=f"{tagged}@{SINGLE}"),)
    )
    inputs = Inputs(digests=moved, lookup_errors=moved.errors)
    [due] = select([bumped], datetime(2026, 6, 1, 12, tzinfo=UTC), Policy(), inputs=inputs).due
    assert due.reason == "changed" and "sha256:222222222222 -> sha256:111111111111" in due.detail
    assert registry.TIMEOUT == 5.0


def test_a_run_records_the_digest_its_tag_has_when_lookups_are_on(fake):
    """What register writes into the run's provenImage (lifecycle/stage.py), the digest the
    confidence schedule later compares."""
    image = fake.image("team/vllm")
    on = {"MLCC_CI_IMAGE_DIGESTS": "on"}
    assert registry.recorded(image, on) == f"{image}@{LIST}"
    assert registry.recorded(image, {"MLCC_CI_IMAGE_DIGESTS": "off"}) == image
    pinned = f"{image}@{SINGLE}"
    assert registry.recorded(pinned, on) == pinned  # what the Dockerfile pinned stays
    assert len(fake.seen) == 3  # neither off nor pinned asked the registry
    missing = fake.image("team/vllm", "v9")
    assert registry.recorded(missing, on) == missing  # a failed lookup records the tag


def test_lookups_are_off_unless_the_setting_says_on(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mlcc-ci.toml").write_text('image-digests = "on"\n')
    assert registry.digests_on({}) is True
    assert registry.digests_on({"MLCC_CI_IMAGE_DIGESTS": "off"}) is False
    (tmp_path / "mlcc-ci.toml").write_text("")
    assert registry.digests_on({}) is False
    (tmp_path / "mlcc-ci.toml").write_text('image-digests = "yes"\n')
    assert registry.digests_on({}) is False  # the command says what is wrong with it


def test_register_records_the_image_with_its_digest(fake, tmp_path):
    """lifecycle/stage.py's register: the generator that wrote the project and the image
    its Dockerfile builds on, with the tag's digest when lookups are on."""
    from mlcc_ci.generator import PARAMS_FILE
    from mlcc_ci.lifecycle.stage import _register

    image = fake.image("team/vllm")
    (tmp_path / PARAMS_FILE).write_text(json.dumps({"generatorVersion": "1.6.0"}))
    (tmp_path / "Dockerfile").write_text(f"FROM {image}\nRUN true\n")
    proven: dict[str, str] = {}
    assert _register(tmp_path, proven, {"MLCC_CI_IMAGE_DIGESTS": "on"}) is None
    assert proven == {"generatorVersion": "1.6.0", "image": f"{image}@{LIST}"}
    assert _register(tmp_path, proven, {"MLCC_CI_IMAGE_DIGESTS": "off"}) is None
    assert proven["image"] == image
