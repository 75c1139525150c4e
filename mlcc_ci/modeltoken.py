"""The Hugging Face token: the harness never hands one to a generated project.

Generator 1.6.0's `do/deploy` puts the token (HF_TOKEN, or the secret HF_TOKEN_ARN or the
bootstrap profile's `secrets.hfToken` names, resolved) into the container environment of
the SageMaker model or inference component it creates, in plain text: anyone allowed to
describe the component reads it. Its `do/build` passes the same token to `docker build`
as a build argument, which the image's layers keep. So no stage gets a token: the variables
the do-scripts read it from are withheld, their secret discovery (ListSecrets by name) is
off, and a configuration that would need one, a gated model, is refused at validate,
before the build, saying why (failure rule `hf-token-withheld`, class credentials).
"""

from collections.abc import Mapping
from pathlib import Path
from typing import Any

# Where the do-scripts look for a Hugging Face token (do/lib/secrets.sh, do/lib/profile.sh,
# do/build, do/lib/inference-component.sh's IC_ENV_* overrides).
VARIABLES = (
    "HF_TOKEN",
    "HF_TOKEN_ARN",
    "HUGGING_FACE_HUB_TOKEN",
    "_PROFILE_secrets_hfToken",
    "IC_ENV_HF_TOKEN",
    "IC_ENV_HF_TOKEN_ARN",
    "IC_ENV_HUGGING_FACE_HUB_TOKEN",
)
# do/lib/profile.sh otherwise searches Secrets Manager for a secret named like a token.
NO_DISCOVERY = {"MLCC_SKIP_SECRET_DISCOVERY": "1"}
# The generator's own bootstrap profile, which do/lib/profile.sh reads from HOME.
BOOTSTRAP_CONFIG = ".ml-container-creator/config.json"
CHECK = "model-token"
_WHY = (
    "do/deploy would put it in plain text into the inference component's container "
    "environment, readable by anyone allowed to describe the component"
)


def withheld(env: Mapping[str, str]) -> dict[str, str]:
    """A stage's environment without a Hugging Face token, and without the do-scripts'
    search for one."""
    kept = {k: v for k, v in env.items() if k not in VARIABLES}
    kept.update(NO_DISCOVERY)
    return kept


def refusal(entry: Mapping[str, Any], env: Mapping[str, str]) -> str | None:
    """Why a deploy of `entry` with the stage environment `env` is refused: its model is
    gated, or the generator's bootstrap profile in the stage's HOME names a token secret
    (do/deploy reads that one itself, whatever the harness withholds). None: neither."""
    if entry.get("modelAccess") == "gated":
        model = str(entry.get("modelName") or entry.get("name") or "the model")
        return (
            f"no Hugging Face token for the gated model {model}: the harness passes none to a "
            f"generated project, as {_WHY}"
        )
    where = profile_secret(env)
    if where is not None:
        return (
            f"no Hugging Face token from {where} (its active profile's secrets.hfToken): "
            f"{_WHY}; the harness deploys nothing while that profile names one"
        )
    return None


def refused_before_build(
    checks: Mapping[str, Any], deploys: bool, entry: Mapping[str, Any], env: Mapping[str, str]
) -> str | None:
    """The refusal at validate, where a profile that deploys and checks the model token
    (at any stage) learns it before the build spends an hour."""
    if not deploys or not any(CHECK in (names or ()) for names in checks.values()):
        return None
    return refusal(entry, env)


def profile_secret(env: Mapping[str, str]) -> str | None:
    """The bootstrap profile file (as `~/...`) when its active profile names a Hugging
    Face token secret; None when there is no such file or it names none (as profile.sh, a
    file it cannot read names none)."""
    from mlcc_ci.files import load_json

    home = env.get("HOME")
    if not home:
        return None
    try:
        config = load_json(Path(home) / BOOTSTRAP_CONFIG, 1024 * 1024)
        profile = config["profiles"][config["activeProfile"]]
        secret = profile.get("secrets", {}).get("hfToken")
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    return f"~/{BOOTSTRAP_CONFIG}" if isinstance(secret, str) and secret else None
