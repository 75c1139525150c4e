"""The shipped schemas are valid, agree with the code's canonical lists, and describe what
the code writes."""

import json
import re

from jsonschema import Draft202012Validator

from mlcc_ci import constants
from mlcc_ci.resources import data_path, load_schema


def test_every_schema_is_valid_draft_2020_12_with_an_id():
    for path in sorted(data_path("schema").glob("*.json")):
        schema = json.loads(path.read_text())
        Draft202012Validator.check_schema(schema)
        assert schema["$id"].endswith(path.name)


def test_record_statuses_are_the_canonical_list():
    record = load_schema("ci-record.schema.json")
    assert record["$defs"]["status"]["enum"] == list(constants.STATUSES)
    # our stages, and the stages other writers recorded (kept, never refused)
    names = record["properties"]["stageResults"]["propertyNames"]["pattern"]
    for stage in (*constants.STAGES, "adapter_test"):
        assert re.match(names, stage), stage


def test_profile_checks_and_stages_match_the_code():
    from mlcc_ci.preflight import CHECKS

    defaults = load_schema("catalog-defaults.schema.json")
    checks = defaults["$defs"]["profile"]["properties"]["checks"]
    assert set(checks["patternProperties"][".*"]["items"]["enum"]) == set(CHECKS)
    assert checks["propertyNames"]["enum"] == list(constants.FAILABLE_STAGES)
