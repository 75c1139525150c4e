"""Where a page finds a local stage log (mlcc_ci/loglinks.py): the dashboard's /logs/ address
of a log in its work folder, a report's relative link, the page a log is served as, and the
file the dashboard may open for an address (nothing linked, nothing outside). Written for
make mutation (issue 32 item 2): each test fails on a mutant of loglinks.py that changes a
link, a page or what the dashboard serves."""

import pytest

from mlcc_ci.loglinks import confined_log, log_url, page, relative_href
from mlcc_ci.logs import Cleaner

pytestmark = pytest.mark.unit


def _log(root, run="run-1", stage="deploy_test", text="deployed\n"):
    logs = root / run / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    path = logs / f"{stage}.log"
    path.write_text(text)
    return path


# -- log_url: the dashboard's address of a log in its work folder --------------------------


def test_a_log_in_the_work_folder_has_a_dashboard_address(tmp_path):
    for stage in ("generate", "validate", "build", "deploy_test", "register", "teardown"):
        log = _log(tmp_path, "http-flask-20261130", stage)
        assert log_url(str(log), tmp_path) == f"/logs/http-flask-20261130/{stage}.log"
    # a run folder of 201 characters, the longest a run folder may be
    longest = "a" + "b" * 200
    assert log_url(str(tmp_path / longest / "logs" / "build.log"), tmp_path) == (
        f"/logs/{longest}/build.log"
    )
    # the characters a run folder may hold after its first
    odd = "9A.z_-0"
    assert log_url(str(tmp_path / odd / "logs" / "build.log"), tmp_path) == (
        f"/logs/{odd}/build.log"
    )


@pytest.mark.parametrize(
    "relative",
    [
        "run-1/logs/smoke.log",  # not a stage that leaves a log
        "run-1/logs/build.stderr.log",  # the stderr file is served with its stage's log
        "run-1/logs/build.txt",
        "run-1/logs/build",
        "run-1/build.log",  # not in logs/
        "run-1/other/build.log",
        "run-1/logs/more/build.log",
        "logs/build.log",
        "-run/logs/build.log",  # a run folder starts with a letter or digit
        ".run/logs/build.log",
        "run 1/logs/build.log",
        "run%2F1/logs/build.log",
        "a" + "b" * 201 + "/logs/build.log",  # longer than a run folder may be
    ],
)
def test_what_is_not_a_stage_log_of_a_run_folder_has_no_address(tmp_path, relative):
    assert log_url(str(tmp_path / relative), tmp_path) is None


def test_a_log_outside_the_work_folder_or_named_relatively_has_no_address(tmp_path, monkeypatch):
    work = tmp_path / "work"
    work.mkdir()
    assert log_url(str(_log(tmp_path / "elsewhere")), work) is None
    assert log_url("run-1/logs/deploy_test.log", work) is None
    monkeypatch.chdir(work)
    assert log_url("run-1/logs/deploy_test.log", work) is None


def test_a_linked_work_folder_is_known_by_both_of_its_names(tmp_path):
    real = tmp_path / "real"
    log = _log(real)
    link = tmp_path / "link"
    link.symlink_to(real)
    # a record written through the link, and one written through the real folder
    assert log_url(str(link / "run-1" / "logs" / "deploy_test.log"), link) == (
        "/logs/run-1/deploy_test.log"
    )
    assert log_url(str(log), link) == "/logs/run-1/deploy_test.log"
    assert log_url(str(link / "run-1" / "logs" / "deploy_test.log"), real) is None


# -- relative_href: a report's link to a log -----------------------------------------------


def test_a_report_links_a_log_relatively_and_never_as_a_scheme(tmp_path):
    reports = tmp_path / "reports"
    href = relative_href(reports)
    assert href(str(tmp_path / "work" / "run-1" / "logs" / "build.log")) == (
        "../work/run-1/logs/build.log"
    )
    # ':' and spaces encoded: "c:" read as a scheme would open nothing
    assert href(str(reports / "c:x y" / "build.log")) == "c%3Ax%20y/build.log"
    assert href("work/run-1/logs/build.log") is None
    assert href(str(tmp_path / "run-1" / "logs" / "build.txt")) is None
    assert href("cloudwatch:/aws/codebuild/x") is None


def test_a_report_named_relatively_links_from_where_it_is(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    href = relative_href(tmp_path.relative_to(tmp_path) / "reports")
    assert href(str(tmp_path / "run-1" / "logs" / "build.log")) == "../run-1/logs/build.log"


# -- page: a log as the dashboard serves it -------------------------------------------------


def test_a_page_shows_the_log_then_its_stderr_cleaned(tmp_path):
    log = _log(tmp_path, text="step 1\n\x1b[31mtoken hunter2\x1b[0m\n")
    (log.parent / "deploy_test.stderr.log").write_text("oops hunter2\n")
    shown = page(log, Cleaner(["hunter2"]), tail=1000)
    assert shown == ("step 1\ntoken ***\n==> deploy_test.stderr.log <==\noops ***\n"), shown


def test_a_page_says_when_it_shows_only_the_last_bytes(tmp_path):
    log = _log(tmp_path, text="".join(f"line {i:02}\n" for i in range(10)))  # 80 bytes
    err = log.parent / "deploy_test.stderr.log"
    err.write_text("e" * 29 + "\n")  # 30 bytes
    shown = page(log, Cleaner(), tail=30).splitlines()
    # the stderr file is no longer than the tail: no note for it
    assert shown[:2] == ["(only the last 30 bytes of deploy_test.log, of 80)", "line 07"]
    err.write_text("e" * 30 + "\n")  # 31 bytes: more than the tail
    shown = page(log, Cleaner(), tail=30).splitlines()
    assert shown[:2] == [
        "(only the last 30 bytes of deploy_test.stderr.log, of 31)",
        "(only the last 30 bytes of deploy_test.log, of 80)",
    ]
    # exactly the tail: all of it shown, no note
    log.write_text("x" * 29 + "\n")
    err.unlink()
    assert page(log, Cleaner(), tail=30) == "x" * 29 + "\n"


def test_a_page_of_a_stage_with_no_log_yet_is_empty(tmp_path):
    assert page(tmp_path / "run-1" / "logs" / "build.log", Cleaner(), tail=30) == "\n"
    err = tmp_path / "build.stderr.log"
    err.write_text("first\nsecond\n")
    assert page(tmp_path / "build.log", Cleaner(), tail=8) == (
        "(only the last 8 bytes of build.stderr.log, of 13)\n==> build.stderr.log <==\nsecond\n"
    )


# -- confined_log: the file the dashboard opens for /logs/<run folder>/<stage>.log ---------


def test_the_log_of_a_run_folder_in_the_work_folder(tmp_path):
    log = _log(tmp_path, "http-flask-1", "build")
    assert confined_log(tmp_path, "http-flask-1", "build") == log
    # a stage that has not written its log yet: still its place
    assert confined_log(tmp_path, "http-flask-1", "teardown") == log.parent / "teardown.log"


def test_a_linked_work_folder_gives_the_real_path(tmp_path):
    real = tmp_path / "real"
    log = _log(real, "run-1", "build")
    link = tmp_path / "link"
    link.symlink_to(real)
    assert confined_log(link, "run-1", "build") == log


@pytest.mark.parametrize(
    ("run", "stage"),
    [("..", "build"), (".", "build"), ("a/b", "build"), ("", "build"), ("run-1", "smoke")],
)
def test_no_log_for_an_address_that_is_not_a_run_folders_stage(tmp_path, run, stage):
    _log(tmp_path, "run-1", "build")
    (tmp_path / "run-1" / "logs" / "smoke.log").write_text("x\n")
    assert confined_log(tmp_path, run, stage) is None


def test_no_log_where_a_folder_is_missing_or_not_a_folder(tmp_path):
    assert confined_log(tmp_path / "nowhere", "run-1", "build") is None
    assert confined_log(tmp_path, "run-1", "build") is None
    (tmp_path / "run-1").mkdir()
    assert confined_log(tmp_path, "run-1", "build") is None  # no logs/ folder
    (tmp_path / "run-1" / "logs").write_text("a file\n")
    assert confined_log(tmp_path, "run-1", "build") is None
    (tmp_path / "run-2").write_text("a file\n")
    assert confined_log(tmp_path, "run-2", "build") is None


def test_no_log_through_a_link(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    outside = _log(tmp_path / "outside", "run-1", "build")
    # a linked logs/ folder, even to a folder inside the work folder
    (work / "run-1").mkdir()
    (work / "run-1" / "logs").symlink_to(outside.parent)
    assert confined_log(work, "run-1", "build") is None
    inside = _log(work, "run-2", "build")
    (work / "run-3").mkdir()
    (work / "run-3" / "logs").symlink_to(inside.parent)
    assert confined_log(work, "run-3", "build") is None
    # a log file linked out of the work folder
    (work / "run-2" / "logs" / "deploy_test.log").symlink_to(outside)
    assert confined_log(work, "run-2", "deploy_test") is None
    # a log file linked to another inside it is that file's place in the folder
    (work / "run-2" / "logs" / "teardown.log").symlink_to(inside)
    assert confined_log(work, "run-2", "teardown") == work / "run-2" / "logs" / "teardown.log"


def test_a_stage_log_linked_to_itself_is_no_log(tmp_path):
    """A link loop where a stage log should be: no file to serve (the dashboard's 404), not
    an exception out of the request (Python 3.11 and 3.12 raise RuntimeError for a loop)."""
    logs = tmp_path / "run-1" / "logs"
    logs.mkdir(parents=True)
    (logs / "build.log").symlink_to(logs / "build.log")
    assert confined_log(tmp_path, "run-1", "build") is None
