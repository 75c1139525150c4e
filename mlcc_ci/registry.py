"""The digest a base image's tag points to now, asked of its registry: looked up, never pulled.

Docker Registry HTTP API v2: `HEAD /v2/<name>/manifests/<tag>` with an `Accept` of the
multi-platform types first (OCI image index, Docker manifest list) and the single-platform
ones after, and the answer's `Docker-Content-Digest`: for a multi-platform image the digest
of its index, what `docker pull NAME:TAG` resolves and `FROM NAME:TAG@sha256:...` pins. A
registry that wants a token answers 401 with `WWW-Authenticate: Bearer realm=...,service=...,
scope=...`; an anonymous token is asked of the realm (Docker Hub's auth.docker.io, public
ECR's public.ecr.aws/token) once per realm, service and scope, and the HEAD asked again with it.

References as Docker reads them: `python:3.12-slim` is Docker Hub's `library/python`,
`vllm/vllm-openai:v0.10.1` Docker Hub's `vllm/vllm-openai`, `public.ecr.aws/NS/NAME:TAG`
and `HOST[:PORT]/NAME:TAG` their own registry's; no tag is `latest`. A reference with a
digest is pinned: nothing to look up (`Pinned`).

HTTPS only, but for a registry on 127.0.0.1 or localhost (a local mirror, the tests), as
Docker allows. Every failure (no answer within the timeout, 404, a refused token, an answer
without a digest) is a `LookupFailed` with one line saying what; `Lookups` keeps each
image's answer for one scan, and a failure never blocks scheduling (cadence.py says so).
"""

import json
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

DOCKER_HUB = "registry-1.docker.io"
ACCEPT = ", ".join(
    (
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    )
)
DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
_PARAM = re.compile(r'(\w+)="([^"]*)"')
TIMEOUT = 5.0
MAX_TOKEN_BYTES = 1 << 16
LOCAL_HOSTS = ("127.0.0.1", "localhost")


class LookupFailed(Exception):
    """A digest that could not be looked up: the message says why, in one line."""


class Pinned(LookupFailed):
    """A reference that names its digest: nothing to look up."""


@dataclass(frozen=True)
class Reference:
    host: str  # the registry, HOST[:PORT]
    name: str  # the repository: library/python, vllm/vllm-openai
    tag: str

    @property
    def scheme(self) -> str:
        return "http" if self.host.split(":")[0] in LOCAL_HOSTS else "https"

    @property
    def manifest_url(self) -> str:
        return f"{self.scheme}://{self.host}/v2/{self.name}/manifests/{self.tag}"


def parse(image: str) -> Reference:
    """The registry, repository and tag `image` names, as Docker reads a reference."""
    if "@" in image:
        raise Pinned(f"{image} names its digest")
    if not image or any(c.isspace() for c in image):
        raise LookupFailed(f"{image!r} is no image reference")
    name, tag = image, "latest"
    if ":" in image.rsplit("/", 1)[-1]:
        name, tag = image.rsplit(":", 1)
    first, _, rest = name.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        host, repository = first, rest
    else:
        host, repository = DOCKER_HUB, name if "/" in name else f"library/{name}"
    if host in ("docker.io", "index.docker.io"):
        host = DOCKER_HUB
        repository = repository if "/" in repository else f"library/{repository}"
    if not tag or not repository:
        raise LookupFailed(f"{image!r} is no image reference")
    return Reference(host, repository, tag)


class Registry:
    """One scan's client: anonymous tokens kept per realm, service and scope."""

    def __init__(self, timeout: float = TIMEOUT) -> None:
        self.timeout = timeout
        self.tokens: dict[tuple[str, str, str], str] = {}
        self.requests = 0

    def digest(self, image: str) -> str:
        """The digest `image`'s tag points to now (`sha256:...`)."""
        ref = parse(image)
        try:
            return self._head(ref, None)
        except _Challenge as challenge:
            token = self._token(challenge.params, ref)
        try:
            return self._head(ref, token)
        except _Challenge:
            raise LookupFailed(f"{ref.host} refused the token it gave for {ref.name}") from None

    def _open(self, request: urllib.request.Request, what: str) -> "_Answer":
        self.requests += 1
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                body = response.read(MAX_TOKEN_BYTES) if request.get_method() == "GET" else b""
                return _Answer(response.status, dict(response.headers.items()), body)
        except urllib.error.HTTPError as exc:
            return _Answer(exc.code, dict(exc.headers.items()), b"")
        except TimeoutError:
            raise LookupFailed(f"{what}: no answer within {self.timeout:g}s") from None
        except urllib.error.URLError as exc:
            reason = exc.reason
            if isinstance(reason, TimeoutError):
                raise LookupFailed(f"{what}: no answer within {self.timeout:g}s") from None
            raise LookupFailed(f"{what}: {reason}") from None
        except (OSError, ValueError) as exc:
            raise LookupFailed(f"{what}: {exc}") from None

    def _head(self, ref: Reference, token: str | None) -> str:
        headers = {"Accept": ACCEPT}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        request = urllib.request.Request(ref.manifest_url, method="HEAD", headers=headers)
        answer = self._open(request, ref.host)
        if answer.status == 401 and token is None:
            raise _Challenge(_bearer(answer.header("WWW-Authenticate"), ref))
        if answer.status == 401:
            raise _Challenge({})
        if answer.status == 404:
            raise LookupFailed(f"{ref.host} has no {ref.name}:{ref.tag} (404)")
        if answer.status != 200:
            raise LookupFailed(f"{ref.host} answered {answer.status} for {ref.name}:{ref.tag}")
        digest = answer.header("Docker-Content-Digest").strip()
        if not DIGEST.fullmatch(digest):
            raise LookupFailed(f"{ref.host} gave no sha256 digest for {ref.name}:{ref.tag}")
        return digest

    def _token(self, params: Mapping[str, str], ref: Reference) -> str:
        realm = params.get("realm", "")
        parsed = urllib.parse.urlsplit(realm)
        local = (parsed.hostname or "") in LOCAL_HOSTS
        if parsed.scheme != "https" and not (parsed.scheme == "http" and local):
            raise LookupFailed(f"{ref.host} asks for a token from {realm!r}, not an https URL")
        scope = params.get("scope") or f"repository:{ref.name}:pull"
        key = (realm, params.get("service", ""), scope)
        if key in self.tokens:
            return self.tokens[key]
        query = urllib.parse.urlencode(
            {"service": key[1], "scope": scope} if key[1] else {"scope": scope}
        )
        url = f"{realm}{'&' if '?' in realm else '?'}{query}"
        answer = self._open(urllib.request.Request(url, method="GET"), parsed.netloc)
        if answer.status != 200:
            raise LookupFailed(f"{parsed.netloc} gave no token for {ref.name} ({answer.status})")
        try:
            data = json.loads(answer.body)
            token = str(data.get("token") or data.get("access_token") or "")
        except (ValueError, AttributeError):
            token = ""
        if not token:
            raise LookupFailed(f"{parsed.netloc} gave no token for {ref.name}")
        self.tokens[key] = token
        return token


@dataclass(frozen=True)
class _Answer:
    status: int
    headers: Mapping[str, str]
    body: bytes

    def header(self, name: str) -> str:
        wanted = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == wanted), "")


class _Challenge(Exception):
    def __init__(self, params: Mapping[str, str]) -> None:
        super().__init__("token needed")
        self.params = params


def _bearer(header: str, ref: Reference) -> dict[str, str]:
    scheme, _, rest = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        raise LookupFailed(f"{ref.host} wants {scheme or 'an unnamed'} authentication, not a token")
    return dict(_PARAM.findall(rest))


class Lookups(Mapping[str, str]):
    """Image -> its digest now, looked up on first asking and kept for the scan; `errors`
    says, for each image that could not be looked up, why. What cadence.Inputs takes as
    `digests` (and `errors` as `lookup_errors`): only the images a change check needs are
    ever asked for."""

    def __init__(self, registry: Registry | None = None) -> None:
        self.registry = registry or Registry()
        self.found: dict[str, str] = {}
        self.errors: dict[str, str] = {}

    def __getitem__(self, image: str) -> str:
        if image not in self.found and image not in self.errors:
            try:
                self.found[image] = self.registry.digest(image)
            except LookupFailed as exc:
                self.errors[image] = str(exc)
        if image in self.found:
            return self.found[image]
        raise KeyError(image)

    def __iter__(self) -> Iterator[str]:
        return iter(self.found)

    def __len__(self) -> int:
        return len(self.found)


def digests_on(env: Mapping[str, str]) -> bool:
    """Whether the `image-digests` setting (MLCC_CI_IMAGE_DIGESTS, else the settings file)
    is on; a settings file that cannot be read leaves it off (the command said why)."""
    from mlcc_ci.errors import MlccError
    from mlcc_ci.settings import value_of

    try:
        return bool(value_of("image-digests", env) == "on")
    except MlccError:
        return False


def recorded(image: str, env: Mapping[str, str], lookups: Lookups | None = None) -> str:
    """What a run records as the base image it built on (Run.provenImage): `image` as its
    Dockerfile names it, with the digest its tag has now (`NAME:TAG@sha256:...`) when the
    `image-digests` setting is on and the registry says; unchanged otherwise (a pinned
    image, lookups off, a failed lookup). The lookup follows the build by minutes: a tag
    moved between the two is taken for the newer digest, and is caught by the next move."""
    if "@" in image or not digests_on(env):
        return image
    digest = (lookups or Lookups()).get(image)
    return f"{image}@{digest}" if digest else image
