"""A report as Allure results: one `<uuid>-result.json` per configuration, its stages as
steps, the failed stage's log as an attachment, and `categories.json`, one category per
failure class, so that Allure groups failures as the report does (the configuration's
first, the infrastructure's and mlcc-ci's own apart).

Statuses: a pass is `passed`; a failure the configuration's (a product failure, or one no
rule placed) `failed`; mlcc-ci's own error `broken`; blocked, running, unsupported and
never-run configurations `skipped`. A failure's message starts with its class in brackets
(`[product] build: ...`), which is what the categories match. File names come from the
configuration, its profile and its run id, so writing the same report again replaces its
files rather than adding to them. Pure, but for `write`."""

import hashlib
import json
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mlcc_ci import clock
from mlcc_ci.failures import HARNESS, UNCLASSIFIED
from mlcc_ci.report.cases import ERROR, FAILED, PASSED, SKIPPED, Case, LogReader
from mlcc_ci.report.classes import CLASS_ORDER, CLASS_TITLES
from mlcc_ci.resultparts import BLOCKING

PARENT_SUITE = "mlcc-ci"
CATEGORIES_FILE = "categories.json"
STATUS = {PASSED: "passed", FAILED: "failed", ERROR: "broken", SKIPPED: "skipped"}
STEP_STATUS = {"pass": "passed", "fail": "failed", "skip": "skipped"}
_NAMESPACE = uuid.UUID("5f0c8a3e-6d1b-4c52-9a7e-2b9f1c3d4e50")  # of mlcc-ci's Allure files


def _ms(moment: str | None, fallback: int) -> int:
    if not moment:
        return fallback
    try:
        return int(clock.parse(moment).timestamp() * 1000)
    except ValueError:  # another writer's text
        return fallback


def _class_statuses(cls: str) -> list[str]:
    if cls == HARNESS:
        return ["broken"]
    if cls in BLOCKING:  # blocked (skipped); a run another writer recorded may say failed
        return ["skipped", "failed"]
    return ["failed"]


def categories() -> list[dict[str, Any]]:
    """One category per failure class, in the report's order; a message names its class."""
    return [
        {
            "name": f"{cls}: {CLASS_TITLES[cls]}",
            "matchedStatuses": _class_statuses(cls),
            "messageRegex": rf"\[{cls}\] .*",
        }
        for cls in CLASS_ORDER
    ]


def message(case: Case) -> str:
    """`[product] build: ERROR: ...`; a case with no class (not run, running): as it is."""
    if case.outcome in (FAILED, ERROR) or case.cls:
        return f"[{case.cls or UNCLASSIFIED}] {case.message}"
    return case.message


def _utf8(text: str) -> str:
    """`text` with what UTF-8 cannot encode (half a surrogate pair) as '?'."""
    return text.encode("utf-8", "replace").decode("utf-8")


def _digest(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def result(
    case: Case, generated_at: str, logs: LogReader | None = None
) -> tuple[dict[str, Any], dict[str, bytes]]:
    """The result document of one case and the attachment files it names."""
    full_name = _utf8(f"{PARENT_SUITE}.{case.profile}.{case.name}")
    key = uuid.uuid5(_NAMESPACE, _utf8(f"{full_name}\0{case.runId or '-'}"))
    fallback = _ms(generated_at, 0)
    start = _ms(case.startedAt, fallback)
    stop = _ms(case.finishedAt, start + int(case.seconds * 1000))
    attachments: dict[str, bytes] = {}
    steps = []
    at = start
    for stage, stage_result in case.stages:
        took = int(stage_result.durationSeconds * 1000)
        status = STEP_STATUS.get(stage_result.status, "unknown")
        if status == "failed" and case.outcome != FAILED:  # mlcc-ci's or the infrastructure's
            status = "broken"
        step: dict[str, Any] = {
            "name": stage,
            "status": status,
            "stage": "finished",
            "start": at,
            "stop": at + took,
            "steps": [],
            "attachments": [],
            "parameters": [],
            "statusDetails": {"message": stage_result.note} if stage_result.note else {},
        }
        if stage == case.stage and case.outcome != PASSED:
            step["statusDetails"] = {"message": message(case), "trace": case.detail}
            text = logs(case.name, stage, stage_result) if logs else None
            if text:
                source = f"{uuid.uuid5(key, stage)}-attachment.txt"
                attachments[source] = (text + "\n").encode("utf-8")
                step["attachments"].append(
                    {"name": f"{stage} log", "source": source, "type": "text/plain"}
                )
        steps.append(step)
        at += took
    labels = [
        {"name": "parentSuite", "value": PARENT_SUITE},
        {"name": "suite", "value": f"{PARENT_SUITE} {case.profile}"},
        {"name": "framework", "value": "mlcc-ci"},
        {"name": "feature", "value": case.facts.get("architecture", "-")},
        {"name": "owner", "value": case.facts.get("owner", "-")},
        *({"name": "tag", "value": tag} for tag in case.tags),
    ]
    document: dict[str, Any] = {
        "uuid": str(key),
        "historyId": _digest(full_name),
        "testCaseId": _digest(full_name),
        "name": case.name,
        "fullName": full_name,
        "status": STATUS[case.outcome],
        "statusDetails": {
            "known": False,
            "muted": False,
            "flaky": False,
            **({"message": message(case)} if case.message else {}),
            **({"trace": case.detail} if case.detail else {}),
        },
        "stage": "finished",
        "start": start,
        "stop": max(stop, start),
        "steps": steps,
        "attachments": [],
        "parameters": [
            {"name": k, "value": case.facts[k]}
            for k in ("instanceType", "region")
            if k in case.facts
        ],
        "labels": labels,
        "links": [],
    }
    return document, attachments


def allure_results(
    cases: Sequence[Case], *, generated_at: str, logs: LogReader | None = None
) -> dict[str, bytes]:
    """File name -> content: every case's result and attachments, and categories.json."""
    files: dict[str, bytes] = {}
    for case in cases:
        document, attachments = result(case, generated_at, logs)
        files[f"{document['uuid']}-result.json"] = _json(document)
        files.update(attachments)
    files[CATEGORIES_FILE] = _json(categories())
    return files


def _json(value: object) -> bytes:
    # half a surrogate pair (a record's JSON can hold one) is no UTF-8: it goes as '?'
    return (json.dumps(value, indent=2, ensure_ascii=False) + "\n").encode("utf-8", "replace")


def write(directory: Path, files: Mapping[str, bytes]) -> None:
    """Into `directory` (made if missing), each file whole or not at all; an OSError names
    the file it could not write (its `filename`), not a temporary one beside it."""
    from mlcc_ci.files import write_output

    directory.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():  # regular files only: never a link, FIFO or device
        target = directory / name
        try:
            write_output(target, data)
        except OSError as exc:
            if exc.filename == str(target):
                raise
            raise OSError(exc.errno, exc.strerror or str(exc), str(target)) from None
