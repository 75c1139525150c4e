"""Parts of the simulated account (tests/twin) on their own: the stand-in docker of its
CodeBuild image, and the moto gaps it fills."""

import os
import subprocess

import boto3
import pytest

from tests.conftest import REPO
from tests.twin.codebuild import Image

pytestmark = pytest.mark.functional
TWIN_CACHE = REPO / ".twin"


def test_the_stand_in_docker_fails_as_docker_does_without_the_repository(twin, tmp_path):
    image = Image(tmp_path / "image", TWIN_CACHE / "wheels", TWIN_CACHE / "npm-cache")
    (tmp_path / "ctx" / "do").mkdir(parents=True)
    (tmp_path / "ctx" / "Dockerfile").write_text("FROM python:3.12-slim\n")
    (tmp_path / "ctx" / "do" / "config").write_text(
        'export PROJECT_NAME="p"\nexport FRAMEWORK="http"\n'
    )
    env = {
        **os.environ,
        "DOCKER_HOST": f"unix://{tmp_path / 'docker.sock'}",
        "AWS_ENDPOINT_URL": twin.url,
    }
    registry = "123456789012.dkr.ecr.us-east-1.amazonaws.com"

    def docker(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(image.root / "bin" / "docker"), *args],
            env=env,
            input=stdin,
            capture_output=True,
            text=True,
        )

    assert docker("build", "-t", "p:latest", str(tmp_path / "ctx")).returncode == 0
    assert docker("tag", "p:latest", f"{registry}/mlcc-ci-images:p-latest").returncode == 0
    unauthorized = docker("push", f"{registry}/mlcc-ci-images:p-latest")
    assert (unauthorized.returncode, unauthorized.stderr) == (1, "no basic auth credentials\n")
    assert (
        docker("login", "--username", "AWS", "--password-stdin", registry, stdin="token").returncode
        == 0
    )
    missing = docker("push", f"{registry}/mlcc-ci-images:p-latest")
    assert missing.returncode == 1
    assert missing.stderr == (
        "name unknown: The repository with name 'mlcc-ci-images' does not exist in the registry "
        "with id '123456789012'\n"
    )
    boto3.client("ecr", region_name="us-east-1").create_repository(repositoryName="mlcc-ci-images")
    assert docker("push", f"{registry}/mlcc-ci-images:p-latest").returncode == 0
    assert twin._image_labels("us-east-1", f"{registry}/mlcc-ci-images:p-latest") == {
        "framework": "http",
        "server": "",
        "project": "p",
    }
    no_engine = subprocess.run(
        [str(image.root / "bin" / "docker"), "images"],
        env={k: v for k, v in env.items() if k != "DOCKER_HOST"},
        capture_output=True,
        text=True,
    )
    assert no_engine.returncode == 1 and "Is the docker daemon running?" in no_engine.stderr
