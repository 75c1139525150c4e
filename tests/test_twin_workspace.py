"""Where the simulated builds work, and the time stamps on CodeBuild's own log lines."""

import re
import subprocess
from collections import namedtuple
from datetime import UTC, datetime, timedelta

import pytest

from tests.twin import fixture
from tests.twin.codebuild import script

GIB = 1 << 30
StatVfs = namedtuple("StatVfs", "f_bavail f_frsize f_flag")


@pytest.fixture
def memory(monkeypatch):
    """Set what /dev/shm holds and how it is mounted, and the machine's MemAvailable;
    MLCC_TWIN_WORK and MLCC_TWIN_KEEP unset, /dev/shm writable."""
    monkeypatch.delenv("MLCC_TWIN_WORK", raising=False)
    monkeypatch.delenv("MLCC_TWIN_KEEP", raising=False)
    monkeypatch.setattr(fixture.os, "access", lambda path, mode: path == "/dev/shm")

    def set_memory(shm_free: int | None, available: int, flags: int = 0) -> None:
        def statvfs(path):
            assert path == "/dev/shm"
            if shm_free is None:
                raise FileNotFoundError(path)
            return StatVfs(shm_free // 4096, 4096, flags)

        monkeypatch.setattr(fixture.os, "statvfs", statvfs)
        monkeypatch.setattr(fixture, "_memory_available", lambda: available)

    return set_memory


def test_builds_work_in_memory_when_enough_is_free_there_and_in_the_machine(memory):
    need = fixture.BUILD_DISK_FREE
    memory(need, need)
    assert fixture.build_disk() == "/dev/shm"
    memory(need - 4096, need)
    assert fixture.build_disk() == "/var/tmp"
    memory(need, need - 1)  # /dev/shm's size is a ceiling, not memory the machine has
    assert fixture.build_disk() == "/var/tmp"
    memory(None, need)  # no /dev/shm on this machine
    assert fixture.build_disk() == "/var/tmp"


def test_builds_work_on_disk_where_memory_cannot_run_programs_or_be_written(memory, monkeypatch):
    memory(4 * GIB * 8, 4 * GIB * 8, flags=fixture.os.ST_NOEXEC)  # Docker's /dev/shm
    assert fixture.build_disk() == "/var/tmp"
    memory(4 * GIB * 8, 4 * GIB * 8)
    assert fixture.build_disk() == "/dev/shm"
    monkeypatch.setattr(fixture.os, "access", lambda path, mode: False)
    assert fixture.build_disk() == "/var/tmp"


def test_what_builds_leave_is_kept_on_disk(memory, monkeypatch):
    memory(4 * GIB * 8, 4 * GIB * 8)
    monkeypatch.setenv("MLCC_TWIN_KEEP", "1")
    assert fixture.build_disk() == "/var/tmp"


def test_a_folder_named_for_the_builds_is_theirs_unless_under_tmp(memory, monkeypatch):
    memory(None, 0)
    monkeypatch.setenv("MLCC_TWIN_KEEP", "1")
    monkeypatch.setenv("MLCC_TWIN_WORK", "/var/tmp/twin-builds")
    assert fixture.build_disk() == "/var/tmp/twin-builds"
    monkeypatch.setenv("MLCC_TWIN_WORK", "/tmp/twin-builds")
    with pytest.raises(pytest.fail.Exception, match="under /tmp, which each build mounts"):
        fixture.build_disk()


def test_the_machines_available_memory_is_read_from_proc():
    assert fixture._memory_available() > 0


STAMP = re.compile(r"^\[Container\] (\d{4}/\d\d/\d\d \d\d:\d\d:\d\d\.\d{6}) (.*)$")


@pytest.mark.functional
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
        env={"PATH": "/usr/bin:/bin", "TZ": "JST-9"},
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


@pytest.mark.functional
def test_a_stamp_is_one_line_whatever_the_commands_do(tmp_path):
    """A command's trace or output never lands inside one of CodeBuild's lines, and a failed
    install ends the build with its stamped line."""
    spec = {
        "phases": {
            "install": {
                "runtime-versions": {"python": "3.12"},
                "commands": ["set -x", "printf() { echo hijacked; }", "false"],
            },
            "build": {"commands": ["echo never"]},
        }
    }
    (tmp_path / "buildspec.sh").write_text(script(spec))
    done = subprocess.run(
        ["bash", "buildspec.sh"],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    said = [m[2] for m in map(STAMP.match, done.stdout.splitlines()) if m]
    assert said == [
        "Entering phase INSTALL",
        "runtime-versions python 3.12: the simulated image has its own",
        "Running command set -x",
        "Running command printf() { echo hijacked; }",
        "Running command false",
        "Command did not exit successfully false exit status 1",
        "Phase INSTALL FAILED",
    ]
    lines = done.stdout.splitlines()
    assert "never" not in lines and "hijacked" not in lines
    # every line that starts as CodeBuild's is one of its whole stamped lines
    starts = [line for line in lines if line.startswith("[Container]")]
    assert len(starts) == len(said)
