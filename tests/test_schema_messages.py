"""The one-line messages schema problems get, by example: each kind of JSON Schema failure,
each type named as a person would, values cut short, and unknown keys with a suggestion only
when one is close."""

import datetime

from jsonschema import Draft202012Validator

from mlcc_ci.schema import (
    DEFAULTS_SCHEMA,
    ENTRY_SCHEMA,
    Problem,
    _describe,
    json_path,
    problems,
    short,
)

ENTRY = {"name": "x", "architecture": "http", "backend": "flask"}


def entry(**changes):
    return {**ENTRY, "support": {"state": "supported"}, **changes}


def described(schema, instance):
    """The problems _describe makes of each error a plain validator finds in `instance`."""
    return [p for e in Draft202012Validator(schema).iter_errors(instance) for p in _describe(e)]


def test_short_keeps_a_value_of_forty_characters_and_cuts_a_longer_one():
    assert short("a" * 38) == '"' + "a" * 38 + '"'  # 40 characters with the quotes
    assert short("a" * 39) == '"' + "a" * 36 + "..."  # 41: cut to 40
    assert short("abcdefgh", limit=6) == '"ab...'
    assert short(12) == "12"


def test_short_writes_what_json_cannot_as_text_and_keeps_non_ascii():
    assert short("café") == '"café"'
    assert short(datetime.date(2026, 1, 2)) == '"2026-01-02"'
    circular: list = []
    circular.append(circular)
    assert short(circular) == "[[...]]"  # json.dumps refuses it: its repr


def test_json_path():
    assert json_path(()) == "$"
    assert json_path(("stages", "build", "command", 0)) == "$.stages.build.command[0]"


def test_a_wrong_type_names_what_was_expected_and_what_was_found():
    by_value = [
        ("text", "a string"),
        (1, "an integer"),
        (1.5, "a number"),
        (True, "a boolean"),
        (None, "null"),
    ]
    for value, found in by_value:
        got = problems(value, ENTRY_SCHEMA, "/$defs/generatorOptions")
        assert got == [Problem((), f"expected object, got {found}")]
    assert problems([], ENTRY_SCHEMA, "/$defs/generatorOptions") == [
        Problem((), "expected object, got a list")
    ]
    assert problems({}, ENTRY_SCHEMA, "/$defs/instanceType") == [
        Problem((), "expected string, got a mapping")
    ]
    # a YAML date is no JSON type: its Python name
    assert problems(datetime.date(2026, 1, 2), ENTRY_SCHEMA, "/$defs/instanceType") == [
        Problem((), "expected string, got date")
    ]
    assert problems(entry(backend=7), ENTRY_SCHEMA) == [
        Problem(("backend",), "expected string or null, got an integer")
    ]


def test_every_missing_key_is_named():
    assert problems({"name": "x"}, ENTRY_SCHEMA) == [
        Problem((), "missing required key 'architecture', 'backend', 'support'")
    ]


def test_lengths_and_bounds_say_which_they_break():
    assert problems(entry(support={"state": "supported", "reason": ""}), ENTRY_SCHEMA) == [
        Problem(("support", "reason"), '"" breaks minLength 1')
    ]
    long = entry(support={"state": "supported", "reason": "r" * 301})
    assert problems(long, ENTRY_SCHEMA) == [
        Problem(("support", "reason"), '"' + "r" * 36 + "... breaks maxLength 300")
    ]
    assert problems({"timeoutSeconds": 0}, ENTRY_SCHEMA, "/$defs/stage") == [
        Problem(("timeoutSeconds",), "0 breaks minimum 1")
    ]
    assert problems({"timeoutSeconds": 86401}, ENTRY_SCHEMA, "/$defs/stage") == [
        Problem(("timeoutSeconds",), "86401 breaks maximum 86400")
    ]
    assert problems({"command": {}}, ENTRY_SCHEMA, "/$defs/stage") == [
        Problem(("command",), "{} breaks minProperties 1")
    ]


def test_enum_and_const_list_what_is_allowed():
    assert problems(entry(architecture="web"), ENTRY_SCHEMA) == [
        Problem(
            ("architecture",),
            '"web" is not one of: transformers, http, triton, diffusors, marketplace',
        )
    ]
    assert problems({"extends": "mine"}, DEFAULTS_SCHEMA) == [
        Problem(("extends",), '"mine" is not one of: mlcc-ci')
    ]


def test_unknown_keys_get_the_closest_known_key_only_when_one_is_close():
    got = problems(entry(support={"state": "supported", "reasn": "x", "zzz": 1}), ENTRY_SCHEMA)
    assert got == [
        Problem(("support", "reasn"), "unknown key \"reasn\" (did you mean 'reason'?)"),
        Problem(("support", "zzz"), 'unknown key "zzz"'),
    ]
    # a schema that closes a mapping without naming any property
    closed = {"type": "object", "additionalProperties": False}
    assert described(closed, {"b": 2}) == [Problem(("b",), 'unknown key "b"')]


def test_a_one_of_speaks_for_the_branch_of_the_right_type():
    # a command is a string or a mapping of strings: a long string breaks the string branch
    assert problems({"command": "c" * 2001}, ENTRY_SCHEMA, "/$defs/stage") == [
        Problem(("command",), '"' + "c" * 36 + "... breaks maxLength 2000")
    ]


def test_other_combinators_keep_the_validators_own_message():
    either = {"anyOf": [{"type": "string"}, {"type": "integer"}]}
    assert described(either, 1.5) == [
        Problem((), "1.5 is not valid under any of the given schemas")
    ]
    unique = {"type": "array", "uniqueItems": True}
    assert described(unique, [1, 1]) == [Problem((), "items must be unique")]


def test_another_validators_message_is_cut_after_120_characters():
    either = {"anyOf": [{"type": "integer"}, {"type": "boolean"}]}
    tail = "' is not valid under any of the given schemas"
    assert described(either, "y" * 74) == [Problem((), "'" + "y" * 74 + tail)]  # 120: kept
    cut = "'" + "y" * 75 + "' is not valid under any of the given sch..."  # 121: cut to 120
    assert described(either, "y" * 75) == [Problem((), cut)]


def test_nan_is_no_number_wherever_it_is_and_problems_sort_by_path():
    nan = float("nan")
    assert problems({"timeoutSeconds": nan, "command": {}}, ENTRY_SCHEMA, "/$defs/stage") == [
        Problem(("command",), "{} breaks minProperties 1"),
        Problem(("timeoutSeconds",), "NaN is not a number"),
        Problem(("timeoutSeconds",), "expected integer, got a number"),
    ]
    assert problems({"command": [1.0, nan]}, ENTRY_SCHEMA, "/$defs/stage") == [
        Problem(("command",), "expected string, got a list"),
        Problem(("command", 1), "NaN is not a number"),
    ]
