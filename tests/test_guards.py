"""Tests talk only to 127.0.0.1: in the pytest process (conftest), in node
(tests/guards/loopback-only.cjs) and in every Python process they start
(tests/guards/python/sitecustomize.py, on PYTHONPATH)."""

import os
import socket
import subprocess
import sys

from tests.conftest import PYTHON_GUARD

REACH = (
    "import socket, sys\n"
    "s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)\n"
    "s.settimeout(3)\n"
    "s.connect((sys.argv[1], int(sys.argv[2])))\n"
    "s.sendall(b'ping')\n"
    "print('connected')\n"
)


def _reach(host: str, port: int, env: dict[str, str] | None = None):
    return subprocess.run(
        [sys.executable, "-c", REACH, host, str(port)],
        capture_output=True,
        text=True,
        timeout=30,
        env=env,
    )


def test_a_python_subprocess_cannot_reach_beyond_loopback():
    assert os.environ["PYTHONPATH"].split(os.pathsep)[0] == str(PYTHON_GUARD)
    result = _reach("10.255.255.1", 9)
    assert result.returncode != 0 and "connected" not in result.stdout
    assert (
        "AssertionError: mlcc-ci tests: a subprocess tried to reach 10.255.255.1: "
        "only 127.0.0.1 is allowed"
    ) in result.stderr, result.stderr
    # connect_ex, and an address the resolver hands back, are guarded the same way
    other = subprocess.run(
        [
            sys.executable,
            "-c",
            "import socket; socket.socket().connect_ex(('192.0.2.1', 80))",
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert "tried to reach 192.0.2.1" in other.stderr, other.stderr


def test_a_python_subprocess_still_reaches_127_0_0_1():
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        result = _reach("127.0.0.1", port)
        conn, _ = server.accept()
        with conn:
            assert conn.recv(4) == b"ping"
    assert result.returncode == 0 and result.stdout == "connected\n", result.stderr


def test_the_twin_codebuild_environment_carries_the_guard(tmp_path):
    """The simulated CodeBuild builds its environment from scratch: the guard goes in it."""
    from tests.twin.codebuild import Build, CodeBuild, Image

    codebuild = object.__new__(CodeBuild)  # its environment, without a template or server
    codebuild.image = Image(tmp_path / "image", tmp_path / "wheels", tmp_path / "npm")
    codebuild.endpoint = "http://127.0.0.1:1"
    work = tmp_path / "src001"
    work.mkdir()
    build = Build("p:1234", "p", "s/1234", work / "build.log", work)
    props = {"Environment": {"Image": "aws/codebuild/standard:7.0"}}
    env = codebuild.environment(props, build, {})
    assert env["PYTHONPATH"] == str(PYTHON_GUARD)
    result = _reach("10.255.255.1", 9, env={**env, "PATH": os.environ["PATH"]})
    assert "tried to reach 10.255.255.1: only 127.0.0.1 is allowed" in result.stderr, result
