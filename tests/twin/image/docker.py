"""A stand-in `docker` for the simulated CodeBuild image (no Docker engine runs here).

`build` records an image made from the context's project (what it serves, from do/config);
`tag` names it again; `push` puts it into the simulated ECR as the registry would, failing
as docker does when the repository is missing; `login`, `images` and `rmi` do what the
generated scripts need of them. Images live beside the socket DOCKER_HOST names, as they
would in the engine behind it. Every call is appended to calls.log there.
"""

import json
import os
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from tests.twin.images import labels_from_config, manifest

_ECR = re.compile(r"^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com/([^:]+):(.+)$")


def _state() -> Path:
    host = os.environ.get("DOCKER_HOST", "")
    if not host.startswith("unix://"):
        sys.exit(
            "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?"
        )
    return Path(host.removeprefix("unix://")).parent


def _images(state: Path) -> dict[str, dict[str, str]]:
    path = state / "images.json"
    return json.loads(path.read_text()) if path.exists() else {}


def _save(state: Path, images: dict[str, dict[str, str]]) -> None:
    (state / "images.json").write_text(json.dumps(images, indent=1))


def _flag_value(args: list[str], *names: str) -> str | None:
    for i, arg in enumerate(args):
        if arg in names and i + 1 < len(args):
            return args[i + 1]
        for name in names:
            if arg.startswith(name + "="):
                return arg.split("=", 1)[1]
    return None


def main(args: list[str]) -> int:
    state = _state()
    with (state / "calls.log").open("a") as log:
        log.write(json.dumps(args) + "\n")
    command, rest = (args[0], args[1:]) if args else ("", [])
    images = _images(state)
    if command == "login":
        if not sys.stdin.read().strip():
            print(
                "Error: Cannot perform an interactive login from a non TTY device", file=sys.stderr
            )
            return 1
        logins = state / "logins"
        with logins.open("a") as fh:
            fh.write((rest[-1] if rest else "docker.io") + "\n")
        print("Login Succeeded")
        return 0
    if command == "build":
        tag = _flag_value(rest, "-t", "--tag")
        context = Path(rest[-1]) if rest else Path(".")
        config = (
            (context / "do" / "config").read_text() if (context / "do" / "config").is_file() else ""
        )
        if not (context / "Dockerfile").is_file():
            print(
                f"ERROR: failed to solve: failed to read dockerfile: open {context}/Dockerfile: no such file or directory",
                file=sys.stderr,
            )
            return 1
        project = re.search(r'^export PROJECT_NAME="?([^"\n]*)', config, re.M)
        images[tag or "<none>"] = labels_from_config(config, project.group(1) if project else "")
        _save(state, images)
        print(f"Successfully tagged {tag}")
        return 0
    if command == "tag":
        source, target = rest[0], rest[1]
        if source not in images:
            print(f"Error response from daemon: No such image: {source}", file=sys.stderr)
            return 1
        images[target] = images[source]
        _save(state, images)
        return 0
    if command == "push":
        ref = rest[0]
        if ref not in images:
            print(f"An image does not exist locally with the tag: {ref}", file=sys.stderr)
            return 1
        match = _ECR.match(ref)
        if not match:
            print(
                f"denied: the simulated registry only takes ECR references, not {ref}",
                file=sys.stderr,
            )
            return 1
        account, region, repository, tag = match.groups()
        registry = ref.split("/", 1)[0]
        logins = (state / "logins").read_text().split() if (state / "logins").exists() else []
        if registry not in logins:
            print("no basic auth credentials", file=sys.stderr)
            return 1
        import boto3

        ecr = boto3.client("ecr", region_name=region)
        try:
            ecr.put_image(
                repositoryName=repository, imageManifest=manifest(images[ref]), imageTag=tag
            )
        except ecr.exceptions.RepositoryNotFoundException:
            print(
                f"name unknown: The repository with name '{repository}' does not exist in the "
                f"registry with id '{account}'",
                file=sys.stderr,
            )
            return 1
        print(f"{tag}: digest: sha256:{'0' * 64} size: 1024")
        return 0
    if command == "images":
        fmt = _flag_value(rest, "--format") or ""
        for ref in images:
            repo, _, tag = ref.rpartition(":")
            print(fmt.replace("{{.Repository}}", repo).replace("{{.Tag}}", tag) if fmt else ref)
        return 0
    if command == "rmi":
        for ref in rest:
            images.pop(ref, None)
        _save(state, images)
        return 0
    if command in ("info", "version"):
        print("Server: simulated (mlcc-ci twin)")
        return 0
    print(f"docker: '{command}' is not a docker command the simulated image knows", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
