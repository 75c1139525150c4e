"""Where the simulated builds work, and the time stamps on CodeBuild's own log lines."""

import re
import subprocess
from collections import namedtuple
from datetime import UTC, datetime, timedelta

import pytest

from tests.twin import fixture
from tests.twin.codebuild import script

Usage = namedtuple("Usage", "total used free")


@pytest.fixture
def free(monkeypatch):
    """Set how much of /dev/shm is free; MLCC_TWIN_WORK and MLCC_TWIN_KEEP unset."""
    monkeypatch.delenv("MLCC_TWIN_WORK", raising=False)
    monkeypatch.delenv("MLCC_TWIN_KEEP", raising=False)

    def set_free(amount: int | None) -> None:
        def usage(path):
            assert str(path) == "/dev/shm"
            if amount is None:
                raise FileNotFoundError(path)
            return Usage(amount, 0, amount)

        monkeypatch.setattr(fixture.shutil, "disk_usage", usage)

    return set_free


def test_builds_work_in_memory_when_enough_is_free(free, monkeypatch):
    monkeypatch.setattr(fixture.os, "access", lambda path, mode: path == "/dev/shm")
    free(fixture.BUILD_DISK_FREE)
    assert fixture.build_disk() == "/dev/shm"
    free(fixture.BUILD_DISK_FREE - 1)
    assert fixture.build_disk() == "/var/tmp"
    free(None)  # no /dev/shm on this machine
    assert fixture.build_disk() == "/var/tmp"


def test_builds_work_on_disk_when_memory_is_not_writable_or_kept(free, monkeypatch):
    free(fixture.BUILD_DISK_FREE * 4)
    monkeypatch.setattr(fixture.os, "access", lambda path, mode: False)
    assert fixture.build_disk() == "/var/tmp"
    monkeypatch.setattr(fixture.os, "access", lambda path, mode: True)
    monkeypatch.setenv("MLCC_TWIN_KEEP", "1")  # what builds leave is kept: on disk
    assert fixture.build_disk() == "/var/tmp"


def test_a_folder_named_for_the_builds_is_theirs(free, monkeypatch, tmp_path):
    free(None)
    monkeypatch.setenv("MLCC_TWIN_KEEP", "1")
    monkeypatch.setenv("MLCC_TWIN_WORK", str(tmp_path))
    assert fixture.build_disk() == str(tmp_path)


STAMP = re.compile(r"^\[Container\] (\d{4}/\d\d/\d\d \d\d:\d\d:\d\d\.\d{6}) (.*)$")


def test_codebuilds_own_lines_carry_the_utc_time_to_the_microsecond(tmp_path):
    spec = {
        "phases": {
            "install": {"commands": ["echo installed"]},
            "build": {"commands": ["sleep 0.01", "false"]},
        }
    }
    (tmp_path / "buildspec.sh").write_text(script(spec))
    before = datetime.now(UTC)
    done = subprocess.run(
        ["bash", "buildspec.sh"],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "TZ": "Asia/Tokyo"},
        capture_output=True,
        text=True,
        check=False,
    )
    after = datetime.now(UTC)
    assert done.returncode == 1
    stamped = [STAMP.match(line) for line in done.stdout.splitlines()]
    said = [m[2] for m in stamped if m]
    assert said == [
        "Entering phase INSTALL",
        "Running command echo installed",
        "Entering phase PRE_BUILD",
        "Entering phase BUILD",
        "Running command sleep 0.01",
        "Running command false",
        "Command did not exit successfully false exit status 1",
        "Entering phase POST_BUILD",
    ]
    assert "installed" in done.stdout.splitlines()
    times = [
        datetime.strptime(m[1], "%Y/%m/%d %H:%M:%S.%f").replace(tzinfo=UTC) for m in stamped if m
    ]
    # UTC whatever the machine's zone, in order, within the run
    assert times == sorted(times)
    assert before - timedelta(seconds=1) <= times[0] and times[-1] <= after
    assert times[5] - times[4] >= timedelta(seconds=0.01)  # the sleep between them
