"""`mlcc-ci pr-comment`: post or update the one sticky comment on a pull request."""

import json
import os
from pathlib import Path

import click


@click.command("pr-comment")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--pr", type=click.IntRange(min=1), help="The pull request (default: the event's).")
def pr_comment(file: Path, pr: int | None) -> None:
    """Post FILE (a Markdown report) as the pull request's one mlcc-ci comment, or update the
    comment already there. Reads GITHUB_TOKEN, GITHUB_REPOSITORY, GITHUB_API_URL and, without
    --pr, the pull request of GITHUB_EVENT_PATH, as a GitHub Actions job has them."""
    from mlcc_ci.errors import UsageError
    from mlcc_ci.files import read_regular
    from mlcc_ci.github import Api, sticky
    from mlcc_ci.report.render import MD_MARKER

    env = os.environ
    token = env.get("GITHUB_TOKEN") or env.get("GH_TOKEN")
    if not token:
        raise UsageError(
            "no GITHUB_TOKEN: give the job's token (`GITHUB_TOKEN: ${{ github.token }}`)"
        )
    repository = env.get("GITHUB_REPOSITORY", "")
    if pr is None:
        pr = _event_pr(env.get("GITHUB_EVENT_PATH"))
    try:
        body = read_regular(file, 1 << 20).decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{file}: cannot read the comment ({exc})") from None
    api = Api(env.get("GITHUB_API_URL", "https://api.github.com"), repository, token)
    click.echo(sticky(api, pr, body, MD_MARKER))


def _event_pr(path: str | None) -> int:
    from mlcc_ci.errors import UsageError

    if not path:
        raise UsageError("no --pr and no GITHUB_EVENT_PATH: which pull request?")
    try:
        event = json.loads(Path(path).read_text(encoding="utf-8"))
        return int(event["pull_request"]["number"])
    except (OSError, ValueError, KeyError, TypeError):
        raise UsageError(f"{path}: not a pull request event; give --pr N") from None


COMMANDS = [pr_comment]
