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


def test_the_images_aws_runs_the_cli_through_the_builds_server_as_the_cli_itself(twin, tmp_path):
    """The image's `aws` hands each command to the build's CLI server (one import of the
    CLI a build): the same output, exit codes, standard input and folder as the CLI run
    alone; and a command whose caller is killed stops with it."""
    import signal
    import sys
    import time

    from tests.twin.buildimage import IMAGE_DIR, stop_cli_server

    image = Image(tmp_path / "image", TWIN_CACHE / "wheels", TWIN_CACHE / "npm-cache")
    work = tmp_path / "build"
    (work / "src").mkdir(parents=True)
    env = {
        **os.environ,
        "CODEBUILD_SRC_DIR": str(work / "src"),
        "AWS_ENDPOINT_URL": twin.url,
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    server = subprocess.Popen(
        [sys.executable, "-I", str(IMAGE_DIR / "awsd.py"), str(work / "aws.sock")], env=env
    )
    aws = str(image.root / "bin" / "aws")
    try:
        for _ in range(100):
            if (work / "aws.sock.pid").exists():
                break
            time.sleep(0.05)

        def both(*args: str, stdin: str = "") -> list[tuple[int, str, str]]:
            found = []
            for command in ([aws], [sys.executable, "-I", "-m", "awscli"]):
                done = subprocess.run(
                    [*command, *args],
                    env=env,
                    input=stdin,
                    capture_output=True,
                    text=True,
                    cwd=work,
                )
                found.append((done.returncode, done.stdout, done.stderr))
            return found

        through_server, alone = both("sts", "get-caller-identity", "--query", "Account")
        assert through_server == alone == (0, '"123456789012"\n', "")
        through_server, alone = both("sagemaker", "describe-endpoint", "--endpoint-name", "nope")
        assert through_server == alone and through_server[0] == 255
        assert "Could not find endpoint" in through_server[2]
        (work / "config.json").write_text(
            '{"EndpointConfigName": "c", "ProductionVariants": [{"VariantName": "A", '
            '"InstanceType": "ml.m5.large", "InitialInstanceCount": 1}]}'
        )
        made = subprocess.run(
            [aws, "sagemaker", "create-endpoint-config", "--cli-input-json", "file://config.json"],
            env=env,
            cwd=work,
            capture_output=True,
            text=True,
        )
        assert made.returncode == 0 and "endpoint-config/c" in made.stdout  # its folder
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="stdin-bucket")
        sent = subprocess.run(
            [aws, "s3", "cp", "-", "s3://stdin-bucket/k"], env=env, input="from stdin\n", text=True
        )
        got = boto3.client("s3", region_name="us-east-1").get_object(Bucket="stdin-bucket", Key="k")
        assert (sent.returncode, got["Body"].read()) == (0, b"from stdin\n")
        # a wait that never ends, its caller killed as a stage's timeout would
        waiting = subprocess.Popen(
            [aws, "sagemaker", "wait", "endpoint-in-service", "--endpoint-name", "nope2"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(1)
        waiting.send_signal(signal.SIGTERM)
        waiting.wait(5)
        time.sleep(0.5)
        children = subprocess.run(
            ["pgrep", "-P", str(server.pid)], capture_output=True, text=True
        ).stdout.split()
        assert children == []
    finally:
        stop_cli_server(work)
        server.wait(5)


SHARED_MODELS = """
import importlib, json, os, sys
build = dict(os.environ)  # the server's environment, before the CLI's import adds to it
sys.path.insert(0, sys.argv[1])
import awscli, awscli.clidriver, awsd
awsd._share_models()
from botocore import loaders
read = []
load_file = loaders.JSONFileLoader.load_file
loaders.JSONFileLoader.load_file = lambda self, path: read.append(path) or load_file(self, path)

def command(**env):  # what a child of the server does for each command (awsd._serve)
    os.environ.clear()
    os.environ.update(build, **env)
    importlib.reload(awscli)  # a session of its own, from the command's environment
    session = awscli.clidriver.create_clidriver().session
    session.create_client("sagemaker", aws_access_key_id="-", aws_secret_access_key="-")
    delay = session.get_waiter_model("sagemaker").get_waiter("EndpointInService").delay
    found, read[:] = len(read), []
    return {"delay": delay, "read": found}

# a command whose AWS_DATA_PATH is not the server's: another speed's waiters
print(json.dumps([command(), command(AWS_DATA_PATH=sys.argv[2])]))
"""


def test_the_cli_servers_commands_parse_no_model_it_parsed_and_each_data_path_its_own(tmp_path):
    """The server parses the do-scripts' services' models once (awsd._share_models): a
    command's own session then reads no model file, and a command whose AWS_DATA_PATH
    differs (another speed's waiters) gets that path's models, not the server's."""
    import json
    import sys

    from tests.twin.buildimage import IMAGE_DIR

    scaled = Image(tmp_path / "image", TWIN_CACHE / "wheels", TWIN_CACHE / "npm-cache", speed=10)
    env = {"PATH": os.defpath, "HOME": str(tmp_path), "AWS_DEFAULT_REGION": "us-east-1"}
    done = subprocess.run(
        [sys.executable, "-I", "-c", SHARED_MODELS, str(IMAGE_DIR), scaled.data_path()],
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    server_path, other_path = json.loads(done.stdout)
    assert server_path == {"delay": 30, "read": 0}
    assert other_path["delay"] == 3 and other_path["read"] > 0
