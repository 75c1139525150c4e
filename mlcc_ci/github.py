"""The one sticky pull request comment, through GitHub's REST API (stdlib HTTP only).

The comment is found by the hidden marker every mlcc-ci comment starts with, and updated in
place; without one, it is created. The token is sent to the API only, never printed."""

import json
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlparse

from mlcc_ci.errors import HarnessError, UsageError

PAGE = 100
MAX_PAGES = 50  # 5,000 comments: more than any pull request that gets reviewed
MAX_BODY = 65_536  # GitHub refuses longer comments


class Api:
    def __init__(self, url: str, repository: str, token: str, timeout: float = 30) -> None:
        parsed = urlparse(url)
        if parsed.scheme not in ("https", "http") or not parsed.netloc:
            raise UsageError(f"GITHUB_API_URL {url!r} is not an http(s) URL")
        if repository.count("/") != 1 or not all(repository.split("/")):
            raise UsageError(f"GITHUB_REPOSITORY {repository!r} is not OWNER/NAME")
        self.url, self.repository, self.timeout = url.rstrip("/"), repository, timeout
        self._token = token

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            f"{self.url}/repos/{self.repository}{path}",
            data=data,
            method=method,
            headers={
                "Accept": "application/vnd.github+json",
                "Authorization": f"Bearer {self._token}",
                "X-GitHub-Api-Version": "2022-11-28",
                "User-Agent": "mlcc-ci",
                **({"Content-Type": "application/json"} if data else {}),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            raise HarnessError(
                f"GitHub answered {exc.code} to {method} {path}: {exc.reason}"
            ) from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            raise HarnessError(f"cannot reach GitHub at {self.url}: {reason}") from None


def sticky(api: Api, pr: int, body: str, marker: str) -> str:
    """Create or update the one comment of `pr` that starts with `marker`; what was done."""
    if not body.startswith(marker):
        body = f"{marker}\n{body}"
    if len(body) > MAX_BODY:
        raise UsageError(f"the comment is {len(body)} characters, more than GitHub's {MAX_BODY}")
    for page in range(1, MAX_PAGES + 1):
        comments = api.call("GET", f"/issues/{pr}/comments?per_page={PAGE}&page={page}")
        if not isinstance(comments, list):
            raise HarnessError("GitHub's answer to listing comments is not a list")
        for comment in comments:
            if isinstance(comment, dict) and str(comment.get("body", "")).startswith(marker):
                api.call("PATCH", f"/issues/comments/{int(comment['id'])}", {"body": body})
                return f"updated comment {comment['id']} on #{pr}"
        if len(comments) < PAGE:
            break
    created = api.call("POST", f"/issues/{pr}/comments", {"body": body})
    return f"created comment {created.get('id') if isinstance(created, dict) else '?'} on #{pr}"
