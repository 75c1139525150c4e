"""Redaction by example: what is masked, what is kept, and where the mask goes."""

from mlcc_ci.redact import MASK, looks_secret, redact, secret_values

KEY = "AKIA" + "ABCDEFGHIJKLMNOP"  # the shape of an AWS access key id
HF = "hf_" + "a1B2c3D4e5F6g7H8"


def test_the_mask():
    assert MASK == "***"


def test_credential_shaped_values_look_secret_and_words_do_not():
    assert looks_secret(f"the key {KEY} leaked")
    assert looks_secret(HF)
    assert looks_secret("postgres://app:pw@db/x")  # a URL with a password
    assert not looks_secret("postgres://db/x")
    assert not looks_secret("AKIA is a prefix, hf_ too")
    assert not looks_secret("")


def test_secret_values_are_those_of_secret_names_longest_first():
    env = {
        "API_TOKEN": "abcd",
        "DB_PASSWORD": "longer-value",
        "MYSQL_PWD": "abc",  # under 4 characters: too short to mask anywhere
        "NAME": "visible-name",
        "HF_TOKEN": "abcd",  # the same value once
        "PWD": "/home/me",  # the shell's folder, not a password
    }
    assert secret_values(env) == ["longer-value", "abcd"]
    # by length, not by letter
    assert secret_values({"A_TOKEN": "zzzz", "B_TOKEN": "aaaaaaaa"}) == ["aaaaaaaa", "zzzz"]
    assert secret_values({}) == []


def test_known_values_are_masked_wherever_they_are():
    assert redact("x hunter22 y hunter22", ["hunter22"]) == "x *** y ***"
    # longest first: the longer value is not half-masked
    assert redact("pw=abcdefgh", ["abcdefgh", "abcd"]) == "pw=***"
    assert redact("nothing here", ["absent"]) == "nothing here"


def test_a_url_keeps_its_scheme_and_host_and_loses_user_and_password():
    assert redact("see https://user:pw@example.com/x") == "see https://***@example.com/x"
    assert redact("db postgres://app:s3cret@db:5432/x") == "db postgres://***@db:5432/x"
    assert redact("time 12:30@noon") == "time 12:30@noon"  # no scheme: no URL


def test_credentials_are_masked_whatever_their_key():
    assert redact(f"key {KEY} and {HF}.") == "key *** and ***."


def test_a_secret_named_key_loses_its_value_in_any_case():
    assert redact("API_KEY=Secret123 next") == "API_KEY=*** next"
    assert redact("Password: Hunter2") == "Password: ***"
    assert redact('token="two words" kept') == "token=*** kept"
    assert redact("token=a1 then secret=b2 end") == "token=*** then secret=*** end"
    assert redact("Authorization: Bearer abcdefgh12345") == "Authorization: Bearer ***"
    assert redact("plain text, nothing secret") == "plain text, nothing secret"


def test_a_character_whose_lower_case_is_longer_keeps_the_mask_in_place():
    # 'İ'.lower() is two characters: matching on the lowered text must not shift positions
    assert redact("İİ token=abcdef tail") == "İİ token=*** tail"
    assert redact("İ Bearer abcdefgh12345 tail") == "İ Bearer *** tail"
