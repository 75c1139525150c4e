"""A stage's log, without the CLI: which run and stage `mlcc-ci logs` shows, where the log
is, its lines made safe, and the build-log copy of AWS runs. Written for make mutation
(issue 32); tests/test_logs.py drives the same through `mlcc-ci logs` and the dashboard."""

import os
from dataclasses import replace

import pytest

from mlcc_ci import logs
from mlcc_ci.errors import NotFound, UsageError
from mlcc_ci.files import NotARegularFile
from mlcc_ci.models import Record, Run, StageResult
from tests.stores import registration

NAME = "http-flask"
LOG = "/work/http-flask-r1/logs/{}.log"


def result(status: str, stage: str = "", summary: str = "") -> StageResult:
    return StageResult(status, 1.0, LOG.format(stage) if stage else "", summary)


def record(**changes) -> Record:
    return replace(Record.registered(registration(1), "2026-01-01T00:00:00Z"), **changes)


def run(run_id: str, **stages: StageResult) -> Run:
    return Run(
        configId=registration(1).configId,
        startedAt="2026-01-01T00:00:00.000Z",
        runId=run_id,
        finishedAt="2026-01-01T01:00:00Z",
        status="pass",
        durationSeconds=1.0,
        deploymentConfig="cfg-1",
        stageResults=stages,
    )


# -- which stage ------------------------------------------------------------------------


def test_the_default_stage_is_the_first_failed_else_the_last_that_left_a_log():
    assert logs.default_stage({}) is None
    assert logs.default_stage({"generate": result("skip")}) is None
    failed_twice = {
        "teardown": result("fail", "teardown"),
        "build": result("fail", "build"),
        "generate": result("pass", "generate"),
    }
    assert logs.default_stage(failed_twice) == "build"
    passed = {
        "register": result("pass"),  # the harness's own: no log
        "build": result("pass", "build"),
        "generate": result("pass", "generate"),
        "deploy_test": result("skip"),
    }
    assert logs.default_stage(passed) == "build"
    no_logs = {"generate": result("pass"), "validate": result("pass"), "build": result("skip")}
    assert logs.default_stage(no_logs) == "validate"


def test_an_unknown_stage_is_refused_with_the_closest_or_the_list():
    with pytest.raises(UsageError) as raised:
        logs.pick(NAME, None, [], None, "biuld")
    assert str(raised.value) == "no stage 'biuld' (did you mean 'build'?)"
    with pytest.raises(UsageError) as raised:
        logs.pick(NAME, None, [], None, "update")  # a stage with no command, so no log
    assert str(raised.value) == (
        "no stage 'update' (stages: generate, validate, build, deploy_test, register, teardown)"
    )


def test_a_configuration_with_nothing_run_has_no_logs():
    for rec in (None, record()):
        with pytest.raises(NotFound) as raised:
            logs.pick(NAME, rec, [], None, None)
        assert str(raised.value) == f"{NAME} has no runs yet: `mlcc-ci run {NAME}` starts one"


def test_the_last_run_and_its_failed_stage_by_default_or_the_ones_asked_for():
    runs = [
        run("r2", generate=result("pass", "generate"), build=result("fail", "build")),
        run("r1", generate=result("pass", "generate"), build=result("pass", "build")),
    ]
    rec = record(testStatus="fail-build", stageResults=dict(runs[0].stageResults))
    target = logs.pick(NAME, rec, runs, None, None)
    assert target == logs.Target(
        NAME, rec.configId, "r2", "build", False, runs[0].stageResults["build"]
    )
    assert logs.pick(NAME, rec, runs, "r1", None).runId == "r1"
    assert logs.pick(NAME, rec, runs, "r1", None).stage == "build"
    assert logs.pick(NAME, rec, runs, None, "generate").stage == "generate"
    with pytest.raises(NotFound) as raised:
        logs.pick(NAME, rec, runs, "r9", None)
    assert str(raised.value) == f"{NAME} has no run r9 (recent runs: r2, r1)"
    with pytest.raises(NotFound) as raised:
        logs.pick(NAME, rec, runs, None, "teardown")
    assert str(raised.value) == f"run r2 of {NAME} has no result for stage teardown"


def test_the_recent_runs_named_are_the_last_five():
    runs = [run(f"r{n}", build=result("pass", "build")) for n in range(7, 0, -1)]
    with pytest.raises(NotFound) as raised:
        logs.pick(NAME, record(testStatus="pass"), runs, "r0", None)
    assert str(raised.value).endswith("(recent runs: r7, r6, r5, r4, r3)")
    with pytest.raises(NotFound) as raised:
        logs.pick(
            NAME, record(testStatus="pass", stageResults={"build": result("pass")}), [], "r0", None
        )
    assert str(raised.value).endswith("(recent runs: none)")


def test_a_record_without_history_answers_with_its_own_result():
    stages = {"generate": result("pass", "generate"), "build": result("fail", "build")}
    rec = record(testStatus="fail-build", runId="r7", stageResults=stages)
    target = logs.pick(NAME, rec, [], None, None)
    assert (target.runId, target.stage, target.running) == ("r7", "build", False)
    anonymous = logs.pick(NAME, replace(rec, runId=None), [], None, None)
    assert anonymous.runId == "-"
    with pytest.raises(NotFound) as raised:
        logs.pick(
            NAME, record(testStatus="pass", stageResults={"build": result("skip")}), [], None, None
        )
    assert str(raised.value) == f"run - of {NAME} has no result for any stage"


def test_a_run_under_way_shows_its_stage_now_or_one_it_finished():
    done = {"generate": result("pass", "generate")}
    rec = record(testStatus="running", runId="r3", currentStage="build", runStages=done)
    older = [run("r2", build=result("fail", "build"))]
    now = logs.pick(NAME, rec, older, None, None)
    assert now == logs.Target(NAME, rec.configId, "r3", "build", True)
    assert logs.pick(NAME, rec, older, "r3", None).running
    finished = logs.pick(NAME, rec, older, None, "generate")
    assert finished == logs.Target(NAME, rec.configId, "r3", "generate", False, done["generate"])
    with pytest.raises(NotFound) as raised:
        logs.pick(NAME, rec, older, None, "teardown")
    assert (
        str(raised.value) == f"stage teardown of {NAME} has not run yet in run r3 (it is in build)"
    )
    assert logs.pick(NAME, rec, older, "r2", None).runId == "r2"  # an earlier run, asked for
    starting = replace(rec, currentStage=None, runStages={})
    assert logs.pick(NAME, starting, [], None, None).stage == "generate"
    assert not logs.pick(NAME, replace(rec, runId=None), older, None, None).running


# -- where the log is -------------------------------------------------------------------


def test_where_a_local_stage_writes_and_what_a_pointer_may_name(tmp_path):
    log = logs.local_log(tmp_path, NAME, "r1", "build")
    assert log == tmp_path / f"{NAME}-r1" / "logs" / "build.log"
    assert logs.stderr_of(log) == tmp_path / f"{NAME}-r1" / "logs" / "build.stderr.log"
    assert logs.pointer_path(str(log), "build") == log
    assert logs.pointer_path(str(log), "generate") is None  # another stage's file
    assert logs.pointer_path("/etc/logs/passwd", "build") is None
    assert logs.pointer_path("/etc/passwd/build.log", "build") is None  # not in a logs folder
    assert logs.pointer_path("relative/logs/build.log", "build") is None
    assert logs.pointer_path("cloudwatch:stream/1", "build") is None
    assert logs.place(NAME, "build", str(log)) == str(log)
    assert logs.place(NAME, "build", "cloudwatch:s") == f"mlcc-ci logs {NAME} --stage build"
    assert logs.place(NAME, "build", "") == f"mlcc-ci logs {NAME} --stage build"


def test_the_place_of_a_failed_stage_s_log():
    build = LOG.format("build")
    assert logs.failed_place(NAME, {"build": result("fail", "build")}) == build
    assert logs.failed_place(NAME, {"build": result("fail")}) is None  # it left none
    in_aws = {"build": StageResult("fail", 1.0, "cloudwatch:build/1")}
    assert logs.failed_place(NAME, in_aws) == f"mlcc-ci logs {NAME} --stage build"
    assert logs.failed_place(NAME, {"build": result("pass", "build")}) is None
    assert logs.failed_place(NAME, {}) is None


def test_the_first_failure_and_what_its_stage_said_after_the_first_line():
    said = "build failed: exit 2\n  step 3: npm ci\n  ENOSPC\n"
    stages = {"generate": result("pass"), "build": result("fail", "build", said)}
    assert logs.first_failure(stages) == ("build", "  step 3: npm ci\n  ENOSPC")
    assert logs.first_failure({"build": result("pass", "build")}) == ("", "")
    assert logs.first_failure({}) == ("", "")


def test_a_failure_is_given_whole_wrapped_at_spaces_with_its_log_on_a_line():
    lines = logs.failure_lines(
        NAME, "build   failed:\nexit 2 " + "x" * 50, "/w/logs/build.log", 40, "a\nb  c"
    )
    assert lines == [
        f"  {NAME}: build failed: exit 2",
        "    " + "x" * 50,  # a long word is never cut
        "    a",
        "    b c",
        "    log: /w/logs/build.log",
    ]
    far = "/work/" + "d" * 40 + "/logs/build.log"
    assert logs.failure_lines(NAME, "", far, 20)[-3:] == [
        f"  {NAME}: (no error output)",
        "    log:",
        f"      {far}",
    ]
    fits = "/w/" + "e" * 28  # "    log: " and 31 characters: 40, the narrowest width
    assert logs.failure_lines(NAME, "m", fits, 40)[-1] == f"    log: {fits}"
    assert logs.failure_lines(NAME, "m", fits, 10)[-1] == f"    log: {fits}"  # never under 40
    assert logs.failure_lines(NAME, "m", fits + "e", 10)[-2:] == ["    log:", f"      {fits}e"]


def test_a_failure_message_wraps_at_the_width_and_never_inside_a_hyphenated_word():
    message = "the build of the image failed at step seven of nine-hundred-and-twelve"
    assert logs.failure_lines(NAME, message, None, 40) == [
        f"  {NAME}: the build of the image",
        "    failed at step seven of",
        "    nine-hundred-and-twelve",
    ]
    assert logs.failure_lines(NAME, "m", None, 80) == [f"  {NAME}: m"]


# -- lines safe to print ----------------------------------------------------------------


def test_a_line_is_cleaned_of_escapes_and_redraws_and_masked_unless_asked_not_to():
    cleaner = logs.Cleaner(["s3cr3t-value"])
    assert cleaner.line("progress 10%\rprogress 90%\r") == "progress 90%"
    assert cleaner.line("1%\r2%\r3%") == "3%"  # what the terminal shows last
    assert cleaner.line("done  \r") == "done  "  # spaces are the line's own
    assert cleaner.line("grade XX\r") == "grade XX"
    assert cleaner.line("\x1b[31mred\x1b[0m token s3cr3t-value") == "red token ***"
    assert cleaner.line("AKIAABCDEFGHIJKLMNOP") == "***"
    raw = logs.Cleaner(["s3cr3t-value"], redacting=False)
    assert raw.line("\x1b[1mbold\x1b[0m s3cr3t-value") == "bold s3cr3t-value"
    assert raw.line("-----BEGIN RSA PRIVATE KEY-----") == "-----BEGIN RSA PRIVATE KEY-----"


def test_a_private_key_is_masked_across_its_lines_and_only_it():
    cleaner = logs.Cleaner()
    lines = [
        "before -----BEGIN RSA PRIVATE KEY-----",
        "MIIEowIBAAKCAQEAu1SU1L7",
        "-----END RSA PRIVATE KEY----- after",
        "plain again",
        "one line *** done",  # a key begun and ended on one line: masked there
        "still plain",
    ]
    again = logs.Cleaner()  # an END before a BEGIN on a line ends nothing that follows
    assert again.line("-----END RSA PRIVATE KEY----- x -----BEGIN RSA PRIVATE KEY-----") == (
        "-----END RSA PRIVATE KEY----- x ***"
    )
    assert again.line("MIIEowIBAAKCAQEAu1SU1L7") == "***"
    assert [cleaner.line(line) for line in lines] == [
        "before ***",
        "***",
        "*** after",
        "plain again",
        "one line *** done",  # a key begun and ended on one line: masked there
        "still plain",
    ]
    again = logs.Cleaner()  # an END before a BEGIN on a line ends nothing that follows
    assert again.line("-----END RSA PRIVATE KEY----- x -----BEGIN RSA PRIVATE KEY-----") == (
        "-----END RSA PRIVATE KEY----- x ***"
    )
    assert again.line("MIIEowIBAAKCAQEAu1SU1L7") == "***"


def test_only_a_regular_file_is_opened(tmp_path):
    real = tmp_path / "build.log"
    real.write_bytes(b"ok\n")
    with logs.open_regular(real) as fh:
        assert fh.read() == b"ok\n"
    link = tmp_path / "link.log"
    link.symlink_to(real)
    with pytest.raises(NotARegularFile, match=f"^{link} is a symbolic link$"):
        logs.open_regular(link)
    fifo = tmp_path / "fifo.log"
    os.mkfifo(fifo)
    with pytest.raises(NotARegularFile, match=f"^{fifo} is not a regular file$"):
        logs.open_regular(fifo)  # never blocks waiting for a writer
    with pytest.raises(NotARegularFile, match="is not a regular file"):
        logs.open_regular(tmp_path)
    with pytest.raises(FileNotFoundError):
        logs.open_regular(tmp_path / "none.log")
    with pytest.raises(NotADirectoryError):
        logs.open_regular(real / "below.log")  # other errors are the caller's


def test_lines_arrive_whole_however_the_bytes_are_cut():
    pieces = logs._Lines()
    assert pieces.feed(b"ab") == []
    assert pieces.feed(b"c\nd") == ["abc"]
    assert pieces.feed(b"e\n\nf\xc3") == ["de", ""]
    assert pieces.feed(b"\xa9\n") == ["f\u00e9"]
    assert pieces.flush() == []
    assert pieces.feed(b"tail without end") == []
    assert pieces.flush() == ["tail without end"]
    pieces.feed(b"cut in the middle of \xe2\x9c")
    assert pieces.flush() == ["cut in the middle of \ufffd"]
    assert pieces.flush() == []
    bad = logs._Lines()
    assert bad.feed(b"\xff\n") == ["\ufffd"]


def test_of_a_line_redrawn_with_cr_only_the_last_drawing_is_kept():
    bar = logs._Lines()
    for n in range(10):
        assert bar.feed(f"\r{n * 10}%".encode()) == []
    assert bar.rest == [b"\r90%"]  # bounded however long the bar runs
    bar.feed(b"\r91%\r92%")  # several drawings in one read: the last
    assert bar.rest == [b"\r92%"]
    bar.feed(b"\rXX")  # a drawing that ends in X
    assert bar.rest == [b"\rXX"]
    bar.feed(b" \r \r")  # a drawing of a space, then a CR that nothing follows yet
    assert bar.rest == [b"\r \r"]
    bar.feed(b"\r\r")  # a CR that nothing follows yet: the drawing stays
    assert bar.feed(b"\n") == ["\r \r\r\r"]
    assert logs.Cleaner().line("\r90%\r\r") == "90%"


def test_a_file_s_lines_or_its_last_bytes_from_a_whole_line(tmp_path, monkeypatch):
    monkeypatch.setattr(logs, "CHUNK", 4)  # lines cut across reads
    log = tmp_path / "build.log"
    log.write_bytes(b"first line\nsecond\nthird line\nlast")
    assert list(logs.file_lines(log)) == ["first line", "second", "third line", "last"]
    # the first line read is dropped as cut, even one cut just at its start
    assert list(logs.file_lines(log, tail=14)) == ["last"]
    assert list(logs.file_lines(log, tail=15)) == ["last"]
    assert list(logs.file_lines(log, tail=16)) == ["third line", "last"]  # from its "\n"
    assert list(logs.file_lines(log, tail=1000)) == ["first line", "second", "third line", "last"]
    whole = len(log.read_bytes())  # not more than the file: nothing is cut
    assert list(logs.file_lines(log, tail=whole)) == ["first line", "second", "third line", "last"]
    assert list(logs.file_lines(tmp_path / "none.log")) == []


def test_a_stage_s_output_then_its_errors_under_a_header(tmp_path):
    log = tmp_path / "logs" / "build.log"
    log.parent.mkdir()
    log.write_text("out 1\nout 2\n")
    assert list(logs.stage_lines(log)) == ["out 1", "out 2"]
    logs.stderr_of(log).write_text("err 1\nerr 2\n")
    assert list(logs.stage_lines(log)) == [
        "out 1",
        "out 2",
        "==> build.stderr.log <==",
        "err 1",
        "err 2",
    ]
    assert list(logs.stage_lines(log, tail=7)) == ["out 2", "==> build.stderr.log <==", "err 2"]


def test_follow_prints_as_the_files_grow_with_a_header_at_each_switch(tmp_path):
    log = tmp_path / "build.log"
    err = logs.stderr_of(log)
    steps = [
        lambda: None,  # nothing yet
        lambda: log.write_text("out 1\npart"),
        lambda: err.write_text("err 1\n"),
        lambda: log.write_text("out 1\npartial done\nout 3\n"),
        lambda: err.write_text("err 1\nerr tail"),  # the stage ends with this unfinished
    ]
    waits: list[float] = []
    calls = iter(range(len(steps) + 1))

    def going() -> bool:
        n = next(calls)
        if n < len(steps):
            steps[n]()
        return n < len(steps) - 1

    shown = list(logs.follow(log, going, interval=0.25, sleep=waits.append))
    assert shown == [
        "out 1",
        "==> build.stderr.log <==",
        "err 1",
        "==> build.log <==",
        "partial done",
        "out 3",
        "==> build.stderr.log <==",
        "err tail",
    ]
    assert waits == [0.25] * 4


def test_follow_of_a_stage_that_never_wrote_ends_with_nothing(tmp_path):
    assert list(logs.follow(tmp_path / "build.log", lambda: False, sleep=pytest.fail)) == []


def test_follow_reads_errors_before_any_output_and_all_of_the_last_round(tmp_path, monkeypatch):
    monkeypatch.setattr(logs, "CHUNK", 4)  # many reads a round
    log = tmp_path / "build.log"
    err = logs.stderr_of(log)
    err.write_text("err 1\nerr 2\n")  # stdout not there yet
    rounds = iter([True, True, False])
    waits: list[float] = []

    def going() -> bool:
        still = next(rounds)
        if still:
            err.write_text(err.read_text() + "err more\n")  # the same file again next round
        else:
            log.write_text("out 1\nout 2\n")  # the stage's last words, whole lines
        return still

    shown = list(logs.follow(log, going, sleep=waits.append))
    assert shown == [
        "==> build.stderr.log <==",
        "err 1",
        "err 2",
        "err more",
        "err more",
        "==> build.log <==",
        "out 1",
        "out 2",
    ]
    assert waits == [0.5, 0.5]  # half a second between looks, unless told


# -- the build log in AWS ---------------------------------------------------------------


def test_the_build_log_copy_is_masked_between_markers_and_section_finds_it(tmp_path):
    log = tmp_path / "logs" / "build.log"
    log.parent.mkdir()
    log.write_text("step 1\ntoken s3cr3t-value\n")
    copied = list(logs.build_log_copy(NAME, "build", log, logs.Cleaner(["s3cr3t-value"])))
    assert copied == [
        f"[mlcc-ci log begin] {NAME} build",
        "step 1",
        "token ***",
        f"[mlcc-ci log end] {NAME} build",
    ]
    logs.stderr_of(log).write_text("\x1b[31mboom\x1b[0m\n")
    copied = list(logs.build_log_copy(NAME, "build", log, logs.Cleaner()))
    assert copied[-3:] == [
        f"[mlcc-ci log stderr] {NAME} build",
        "boom",
        f"[mlcc-ci log end] {NAME} build",
    ]
    copied[1:1] = ["TOTAL: XX  ", "grade: XX"]  # what a line ends with is its own (not \n)
    stream = ["CodeBuild: starting\n", f"[mlcc-ci log begin] {NAME} generate\n", "other\n"]
    stream += [f"[mlcc-ci log end] {NAME} generate\n", *(line + "\n" for line in copied)]
    stream += ["after\n"]
    section = logs.Section(NAME, "build")
    shown = []
    for line in stream:
        shown += section.take(line)
        if section.done:
            break
    assert section.found and section.done and not section.inside
    assert shown == [
        "TOTAL: XX  ",
        "grade: XX",
        "step 1",
        "token s3cr3t-value",
        "==> build.stderr.log <==",
        "boom",
    ]


def test_a_section_never_begun_is_not_found():
    section = logs.Section(NAME, "build")
    for line in (
        "a\n",
        f"[mlcc-ci log end] {NAME} build\n",
        f"[mlcc-ci log begin] {NAME} generate\n",
    ):
        assert section.take(line) == []
    assert not section.found and not section.done


def test_the_copy_keeps_the_last_bytes_of_a_long_log(tmp_path, monkeypatch):
    monkeypatch.setattr(logs, "COPY_LIMIT", 12)
    log = tmp_path / "build.log"
    log.write_text("line one\nline two\nline three\n")
    copied = list(logs.build_log_copy(NAME, "build", log, logs.Cleaner()))
    assert copied[1:-1] == ["line three"]
    logs.stderr_of(log).write_text("err one\nerr two\n")
    copied = list(logs.build_log_copy(NAME, "build", log, logs.Cleaner()))
    assert copied[1:] == [
        "line three",
        f"[mlcc-ci log stderr] {NAME} build",
        "err two",  # of the errors too, only the last bytes
        f"[mlcc-ci log end] {NAME} build",
    ]
