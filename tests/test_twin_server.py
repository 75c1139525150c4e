"""`make twin-server`: the simulated account as a server of its own (`python -m
tests.twin`), answering the real AWS CLI until SIGINT."""

import json
import os
import re
import signal
import subprocess
import sys

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.functional


def aws(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "any", "AWS_SECRET_ACCESS_KEY": "dummy"}
    command = [sys.executable, "-m", "awscli", *args, "--endpoint-url", url]
    return subprocess.run(
        [*command, "--region", "us-east-1"], env=env, capture_output=True, text=True, timeout=60
    )


def test_the_twin_server_answers_the_aws_cli_until_sigint():
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.twin", "--port", "0"],
        cwd=REPO,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        first = server.stdout.readline()
        match = re.fullmatch(
            r"Simulated AWS account 123456789012 on (http://127\.0\.0\.1:\d+)\n", first
        )
        assert match, first + server.stderr.read() if server.stderr else first
        url = match.group(1)
        assert server.stdout.readline() == (
            "Point the AWS CLI or boto3 at it (any credentials, any region):\n"
        )
        assert server.stdout.readline() == (
            f"  aws sagemaker list-endpoints --endpoint-url {url} --region us-east-1\n"
        )

        listed = aws(url, "sagemaker", "list-endpoints")
        assert (listed.returncode, listed.stderr) == (0, "")
        assert json.loads(listed.stdout) == {"Endpoints": []}

        created = aws(
            url,
            "sagemaker",
            "create-endpoint-config",
            "--endpoint-config-name",
            "by-hand",
            "--production-variants",
            "VariantName=AllTraffic,InstanceType=ml.m5.large,InitialInstanceCount=1",
        )
        assert created.returncode == 0, created.stderr
        assert json.loads(created.stdout)["EndpointConfigArn"].endswith(
            ":123456789012:endpoint-config/by-hand"
        )
        configs = aws(url, "sagemaker", "list-endpoint-configs")
        names = [c["EndpointConfigName"] for c in json.loads(configs.stdout)["EndpointConfigs"]]
        assert names == ["by-hand"]

        # the server validates: a name the CLI lets through, SageMaker refuses
        refused = aws(url, "sagemaker", "describe-endpoint", "--endpoint-name", "by_hand")
        assert refused.returncode == 255
        assert (
            "(ValidationException) when calling the DescribeEndpoint operation: 1 validation"
            in (refused.stderr)
        )

        server.send_signal(signal.SIGINT)
        assert server.wait(timeout=10) == 0
        assert server.stdout.read().endswith("stopped\n")
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
