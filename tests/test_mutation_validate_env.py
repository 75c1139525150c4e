"""The environment a generated project's own `do/validate` runs in (mlcc_ci/validate_env.py):
what of the run's environment it is given (no credential), its virtualenv and HOME, the
schema registry written from botocore's models, and the note a failed do/validate leaves.
Written for make mutation (issue 32 item 2): each test fails on a mutant of validate_env.py
that changes what do/validate is given or what a person reads."""

import json
import os
import stat
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

from mlcc_ci import validate_env
from mlcc_ci.validate_env import (
    activation,
    failure_note,
    prepare,
    python_env,
    schema_home,
    smithy_model,
)

pytestmark = pytest.mark.unit

TAG = f"py{sys.version_info.major}.{sys.version_info.minor}"
NS = "com.amazonaws.demo"


# -- failure_note: why do/validate exited 1 ------------------------------------------------


def test_the_validate_runners_findings_come_first():
    lines = ["checking", "❌ config wrong", "  ✗ instance type unknown", "✗ role missing"]
    assert failure_note(lines) == (
        "do/validate found errors:   ✗ instance type unknown; ✗ role missing"
    )


def test_else_its_own_alarms():
    lines = ["checking", "❌ no venv", "more", "❌ no schemas", "  ❌ indented is no alarm"]
    assert failure_note(lines) == "do/validate exited 1: ❌ no venv; ❌ no schemas"


def test_else_the_last_three_lines_it_printed():
    assert failure_note(["a", "b", "c", "d"]) == "do/validate exited 1; it last printed: b / c / d"
    assert failure_note(["only"]) == "do/validate exited 1; it last printed: only"
    assert failure_note([]) == "do/validate exited 1 without any output"


# -- smithy_model: botocore's model as sync-schemas stores it -----------------------------


def test_a_botocore_model_in_smithys_form():
    model = {
        "shapes": {
            "Name": {"type": "string", "min": 1, "max": 63, "pattern": "^[a-z]+$"},
            "Count": {"type": "integer", "min": 0},
            "Ratio": {"type": "double", "max": 1},
            "Size": {"type": "long", "min": 1, "max": 9},
            "Share": {"type": "float", "min": 0, "max": 1},
            "Kind": {"type": "string", "enum": ["A", "B"]},
            "Tags": {"type": "list", "member": {"shape": "Name"}, "max": 50},
            "Labels": {"type": "map", "key": {"shape": "Name"}, "value": {"shape": "Kind"}},
            "Flags": {"type": "map", "key": {"shape": "String"}, "value": {"shape": "Boolean"}},
            "Request": {
                "type": "structure",
                "required": ["Name"],
                "members": {
                    "Name": {"shape": "Name"},
                    "At": {"shape": "Timestamp"},
                    "Body": {"shape": "Blob"},
                },
            },
            "Loose": {"members": {"Flag": {"shape": "Boolean"}}},
            "Empty": {"type": "structure"},
            "Plain": {"type": "string"},
        },
        "operations": {
            "Create": {
                "input": {"shape": "Request"},
                "output": {"shape": "Empty"},
                "errors": [{"shape": "Tags"}],
            },
            "Ping": {},
        },
    }
    assert smithy_model("demo", model) == {
        "smithy": "2.0",
        "shapes": {
            f"{NS}#Name": {
                "type": "string",
                "traits": {
                    "smithy.api#length": {"min": 1, "max": 63},
                    "smithy.api#pattern": "^[a-z]+$",
                },
            },
            f"{NS}#Count": {"type": "integer", "traits": {"smithy.api#range": {"min": 0}}},
            f"{NS}#Ratio": {"type": "double", "traits": {"smithy.api#range": {"max": 1}}},
            f"{NS}#Size": {"type": "long", "traits": {"smithy.api#range": {"min": 1, "max": 9}}},
            f"{NS}#Share": {"type": "float", "traits": {"smithy.api#range": {"min": 0, "max": 1}}},
            f"{NS}#Kind": {
                "type": "enum",
                "members": {
                    "V0": {"target": "smithy.api#Unit", "traits": {"smithy.api#enumValue": "A"}},
                    "V1": {"target": "smithy.api#Unit", "traits": {"smithy.api#enumValue": "B"}},
                },
            },
            f"{NS}#Tags": {
                "type": "list",
                "member": {"target": f"{NS}#Name"},
                "traits": {"smithy.api#length": {"max": 50}},
            },
            f"{NS}#Labels": {
                "type": "map",
                "key": {"target": f"{NS}#Name"},
                "value": {"target": f"{NS}#Kind"},
            },
            f"{NS}#Flags": {
                "type": "map",
                "key": {"target": "smithy.api#String"},
                "value": {"target": "smithy.api#Boolean"},
            },
            f"{NS}#Request": {
                "type": "structure",
                "members": {
                    "Name": {"target": f"{NS}#Name", "traits": {"smithy.api#required": {}}},
                    "At": {"target": "smithy.api#Timestamp"},
                    "Body": {"target": "smithy.api#Blob"},
                },
            },
            f"{NS}#Loose": {
                "type": "structure",
                "members": {"Flag": {"target": "smithy.api#Boolean"}},
            },
            f"{NS}#Empty": {"type": "structure", "members": {}},
            f"{NS}#Plain": {"type": "string"},
            f"{NS}#Create": {
                "type": "operation",
                "input": {"target": f"{NS}#Request"},
                "output": {"target": f"{NS}#Empty"},
                "errors": [{"target": f"{NS}#Tags"}],
            },
            f"{NS}#Ping": {"type": "operation", "errors": []},
        },
    }


def test_every_simple_type_is_smithys_own():
    simple = ("String", "Boolean", "Integer", "Long", "Double", "Float", "Timestamp", "Blob")
    members = {f"M{i}": {"shape": s} for i, s in enumerate((*simple, "Other"))}
    shapes = smithy_model("demo", {"shapes": {"S": {"members": members}}})["shapes"]
    targets = [m["target"] for m in shapes[f"{NS}#S"]["members"].values()]
    assert targets == [*(f"smithy.api#{s}" for s in simple), f"{NS}#Other"]
    assert smithy_model("demo", {}) == {"smithy": "2.0", "shapes": {}}


# -- the virtualenv and the HOME, built -------------------------------------------------------


def test_the_virtualenv_sees_the_harnesss_boto3(tmp_path):
    import boto3

    python = python_env(tmp_path)
    assert python == tmp_path / f"python-env-{TAG}"
    assert (python / "bin" / "python").is_symlink()  # the harness's interpreter, linked
    assert not list(python.glob("bin/pip*"))
    pth = python / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}"
    text = (pth / "site-packages" / "mlcc-ci-harness.pth").read_text()
    dirs = text.splitlines()
    assert text == "\n".join(dirs) + "\n"
    assert dirs[0] == str(Path(boto3.__file__).resolve().parent.parent)
    assert len(dirs) == len(set(dirs)) and all(Path(d).is_dir() for d in dirs)
    assert python_env(tmp_path) == python  # built once


def test_the_virtualenv_sees_every_site_folder_one_a_line(tmp_path, monkeypatch):
    monkeypatch.setattr(validate_env, "_site_dirs", lambda: ["/opt/boto", "/usr/lib/site"])
    python = python_env(tmp_path)
    pth = python / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}"
    text = (pth / "site-packages" / "mlcc-ci-harness.pth").read_text()
    assert text == "/opt/boto\n/usr/lib/site\n"


def test_a_boto3_outside_site_packages_comes_first(tmp_path, monkeypatch):
    import boto3

    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "boto3").mkdir(parents=True)
    monkeypatch.setattr(boto3, "__file__", str(elsewhere / "boto3" / "__init__.py"))
    dirs = validate_env._site_dirs()
    assert dirs[0] == str(elsewhere)
    assert len(dirs) > 1  # then the interpreter's own site-packages


def test_the_schema_registry_holds_each_service_read_only(tmp_path):
    home = schema_home(tmp_path)
    botocore = version("botocore")
    assert home == tmp_path / f"home-botocore-{botocore}"
    registry = home / ".ml-container-creator" / "schemas"
    text = (registry / "manifest.json").read_text()
    assert text.startswith('{\n  "lastSynced": "') and text.endswith("}\n")
    manifest = json.loads(text)
    assert set(manifest["services"]) == {"sagemaker", "iam", "ecr", "s3"}
    assert manifest["services"]["sagemaker"] == {"version": "2017-07-24"}
    assert manifest["services"]["s3"] == {"version": "2006-03-01"}
    assert manifest["source"] == f"botocore {botocore} (prepared offline by mlcc-ci)"
    assert manifest["lastSynced"].endswith("Z")
    sagemaker = json.loads((registry / "sagemaker" / "service-2.json").read_text())
    assert sagemaker["smithy"] == "2.0"
    create = sagemaker["shapes"]["com.amazonaws.sagemaker#CreateEndpoint"]
    assert create["type"] == "operation"
    assert create["input"] == {"target": "com.amazonaws.sagemaker#CreateEndpointInput"}
    iam = json.loads((registry / "iam" / "service-2.json").read_text())
    assert "com.amazonaws.iam#CreateRole" in iam["shapes"]
    assert sorted(os.listdir(registry)) == ["ecr", "iam", "manifest.json", "s3", "sagemaker"]
    for where, _, files in os.walk(home):
        if where != str(home):
            assert stat.S_IMODE(os.stat(where).st_mode) == 0o555, where
        for name in files:
            assert stat.S_IMODE(os.stat(os.path.join(where, name)).st_mode) == 0o444, name
    assert stat.S_IMODE(os.stat(home).st_mode) == 0o700  # the top folder: mkdtemp's
    assert schema_home(tmp_path) == home  # built once


@pytest.fixture
def built(tmp_path):
    """A root whose virtualenv and HOME are already there (as a second run finds them)."""
    root = tmp_path / "root"
    python = root / f"python-env-{TAG}"
    (python / "bin").mkdir(parents=True)
    home = root / f"home-botocore-{version('botocore')}"
    (home / ".ml-container-creator" / "schemas" / "iam").mkdir(parents=True)
    (home / ".ml-container-creator" / "schemas" / "iam" / "service-2.json").write_text("{1}")
    for where, _, files in os.walk(home):
        for name in files:
            os.chmod(os.path.join(where, name), 0o444)
        if where != str(home):
            os.chmod(where, 0o555)
    return root, python, home


def test_the_virtualenv_is_activated_first_on_path(built):
    root, python, _ = built
    bin_ = str(python / "bin")
    env = {"PATH": os.pathsep.join(["/usr/bin", bin_, "/bin"])}
    assert activation(root, env) == {
        "VIRTUAL_ENV": str(python),
        "PATH": os.pathsep.join([bin_, "/usr/bin", "/bin"]),
    }
    assert activation(root, {})["PATH"] == os.pathsep.join([bin_, *os.defpath.split(os.pathsep)])


def test_do_validate_gets_what_it_needs_and_no_credential(built, tmp_path):
    root, python, _ = built
    env = {
        "PATH": "/usr/bin",
        "LANG": "C.UTF-8",
        "TZ": "UTC",
        "NODE_OPTIONS": "--max-old-space-size=512",
        "NPM_CONFIG_PREFIX": "/opt/npm",
        "npm_config_cache": "/tmp/npm",
        "NPM_CONFIG_REGISTRY": "https://registry.example",
        "AWS_REGION": "us-east-1",
        "MLCC_PROJECT_DIR": "/work/p",
        # credentials and what is not needed: never given
        "npm_config__authToken": "npm_secret",
        "NPM_CONFIG_//registry.npmjs.org/:_authToken": "npm_secret",
        "NPM_CONFIG_PASSWORD": "hunter2",
        "AWS_ACCESS_KEY_ID": "AKIA",
        "AWS_SECRET_ACCESS_KEY": "s",
        "AWS_SESSION_TOKEN": "t",
        "GITHUB_TOKEN": "g",
        "HOME": "/root",
        "VIRTUAL_ENV": "/elsewhere",
        "OTHER": "x",
    }
    home = tmp_path / "home"
    given = prepare(root, env, home)
    assert given == {
        "PATH": os.pathsep.join([str(python / "bin"), "/usr/bin"]),
        "LANG": "C.UTF-8",
        "TZ": "UTC",
        "NODE_OPTIONS": "--max-old-space-size=512",
        "NPM_CONFIG_PREFIX": "/opt/npm",
        "npm_config_cache": "/tmp/npm",
        "NPM_CONFIG_REGISTRY": "https://registry.example",
        "AWS_REGION": "us-east-1",
        "MLCC_PROJECT_DIR": "/work/p",
        "VIRTUAL_ENV": str(python),
        "HOME": str(home),
        "MCC_NO_STALE_WARNING": "true",
    }


def test_each_run_gets_a_writable_copy_of_the_home(built, tmp_path):
    root, _, prepared = built
    home = tmp_path / "home"
    home.mkdir()
    (home / "left-by-the-last-run").write_text("x")
    prepare(root, {}, home)
    assert not (home / "left-by-the-last-run").exists()
    registry = home / ".ml-container-creator" / "schemas"
    assert (registry / "iam" / "service-2.json").read_bytes() == (
        prepared / ".ml-container-creator" / "schemas" / "iam" / "service-2.json"
    ).read_bytes()
    for where, _, files in os.walk(home):
        assert stat.S_IMODE(os.stat(where).st_mode) == 0o700, where
        for name in files:
            assert stat.S_IMODE(os.stat(os.path.join(where, name)).st_mode) == 0o600, name
    (registry / "iam" / "service-2.json").write_text("{}")  # this run's own to change
    assert (
        prepared / ".ml-container-creator" / "schemas" / "iam" / "service-2.json"
    ).read_text() == "{1}"


# -- _publish: concurrent runs never see half a folder --------------------------------------


def test_a_folder_is_published_whole_and_once(tmp_path):
    built = []

    def build(tmp):
        assert tmp.parent == tmp_path / "deep" / "er"
        assert tmp.name.startswith(".target-")
        (tmp / "done").write_text("yes")
        built.append(tmp)

    target = tmp_path / "deep" / "er" / "target"  # its folders made on the way
    assert validate_env._publish(target, build) == target
    assert (target / "done").read_text() == "yes"
    assert os.listdir(tmp_path / "deep" / "er") == ["target"]
    assert validate_env._publish(target, build) == target
    assert len(built) == 1


def test_a_build_that_another_run_beat_gives_the_winners_folder(tmp_path):
    target = tmp_path / "target"

    def beaten(tmp):
        target.mkdir()
        (target / "winner").write_text("1")
        raise OSError("rename would fail: the target exists")

    assert validate_env._publish(target, beaten) == target
    assert (target / "winner").exists()
    assert os.listdir(tmp_path) == ["target"]


def test_a_build_that_fails_alone_fails_and_leaves_nothing(tmp_path):
    target = tmp_path / "target"

    def broken(tmp):
        (tmp / "half").write_text("x")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        validate_env._publish(target, broken)
    assert os.listdir(tmp_path) == []
