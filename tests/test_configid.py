import hashlib

from hypothesis import given
from hypothesis import strategies as st

from mlcc_ci.configid import config_id

text = st.text(min_size=1, max_size=40).filter(lambda s: ":" not in s)


def test_documented_example(cli):
    canonical = (
        "transformers-vllm:meta-llama/Llama-2-7b-chat-hf:ml.g5.xlarge:us-east-1:managed-inference"
    )
    expected = hashlib.sha256(canonical.encode()).hexdigest()[:16]
    result = cli(
        "config-id",
        "--deployment-config",
        "transformers-vllm",
        "--model",
        "meta-llama/Llama-2-7b-chat-hf",
        "--instance-type",
        "ml.g5.xlarge",
        "--region",
        "us-east-1",
        "--target",
        "managed-inference",
    )
    assert result.exit_code == 0
    assert result.output == expected + "\n"
    assert expected == "27d99a90e91450da"


def test_cli_without_model_is_none(cli):
    args = [
        "config-id",
        "--deployment-config",
        "http-flask",
        "--instance-type",
        "ml.m5.large",
        "--region",
        "us-east-1",
    ]
    omitted = cli(*args).output.strip()
    empty = cli(*args, "--model", "").output.strip()
    assert (
        omitted
        == empty
        == config_id("http-flask", "none", "ml.m5.large", "us-east-1", "realtime-inference")
    )


@given(text, st.one_of(st.none(), text), text, text, text)
def test_deterministic_16_hex(dc, model, inst, region, target):
    first = config_id(dc, model, inst, region, target)
    assert first == config_id(dc, model, inst, region, target)
    assert len(first) == 16 and all(c in "0123456789abcdef" for c in first)


@given(text, text, text, text)
def test_missing_model_means_none(dc, inst, region, target):
    assert config_id(dc, None, inst, region, target) == config_id(dc, "", inst, region, target)
    assert config_id(dc, None, inst, region, target) == config_id(dc, "none", inst, region, target)


@given(text, text, text, text, text, text)
def test_a_different_model_is_a_different_record(dc, model, other, inst, region, target):
    if model != other and "none" not in (model, other):
        assert config_id(dc, model, inst, region, target) != config_id(
            dc, other, inst, region, target
        )


@given(text, text, text, text, text)
def test_a_separator_inside_a_field_is_refused(a, b, inst, region, target):
    """Otherwise `a:b` + `c` and `a` + `b:c` would name one deployment."""
    import pytest

    with pytest.raises(ValueError):
        config_id(f"{a}:{b}", None, inst, region, target)
    with pytest.raises(ValueError):
        config_id(a, f"{b}:x", inst, region, target)


def test_cli_refuses_a_separator(cli):
    result = cli("config-id", "--deployment-config", "a:b", "--instance-type", "c", "--region", "r")
    assert result.exit_code == 2
    assert result.output == (
        "Error: an identity field holds ':', the separator: 'a:b:none:c:r:realtime-inference'\n"
    )
