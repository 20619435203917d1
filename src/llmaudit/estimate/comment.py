"""The one pull-request comment of the CI cost gate: created, updated in place, or deleted and
posted anew, through GitHub's or GitLab's REST API, found again by its hidden marker."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

from llmaudit.errors import ProviderError, UsageError
from llmaudit.estimate.check import MARKER
from llmaudit.http import Client

BEHAVIORS = ("update", "new", "delete-and-new")
GITHUB_LIMIT = 65_536  # characters GitHub accepts in one comment body
GITLAB_LIMIT = 1_000_000
MAX_PAGES = 50
TRUNCATED = (
    "\n\n... (truncated: the comment would be over the platform's size limit; the whole "
    "report is in the job's step summary)"
)


@dataclass
class Posted:
    action: str  # created, updated, unchanged
    url: str | None
    deleted: int = 0


def fit(body: str, limit: int) -> str:
    """The body with the marker first, cut to the platform's limit with a note (and, on
    GitHub Actions, a link to the run, whose summary holds the whole report)."""
    if not body.startswith(MARKER):
        body = f"{MARKER}\n{body}"
    if len(body) <= limit:
        return body
    note = TRUNCATED
    server, repo, run = (
        os.environ.get(k) for k in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")
    )
    if server and repo and run:
        note = note[:-1] + f": {server}/{repo}/actions/runs/{run})"
    return body[: limit - len(note)] + note


def _pull_number() -> int | None:
    path = os.environ.get("GITHUB_EVENT_PATH")
    if path:
        try:
            with open(path, encoding="utf-8") as fh:
                event = json.load(fh)
            number = (event.get("pull_request") or {}).get("number") or event.get("number")
            if isinstance(number, int):
                return number
        except (OSError, ValueError, AttributeError):
            pass
    ref = os.environ.get("GITHUB_REF", "")
    parts = ref.split("/")
    if len(parts) >= 3 and parts[1] == "pull" and parts[2].isdigit():
        return int(parts[2])
    return None


def github(
    body: str,
    *,
    repo: str | None,
    number: int | None,
    behavior: str,
    debug: bool = False,
    client_factory: Any = Client,
) -> Posted:
    token = os.environ.get("GITHUB_TOKEN")
    if not token:
        raise UsageError("no token: set GITHUB_TOKEN (in a workflow: ${{ github.token }})")
    repo = repo or os.environ.get("GITHUB_REPOSITORY")
    if not repo or repo.count("/") != 1:
        raise UsageError("--repo OWNER/NAME is needed (or GITHUB_REPOSITORY)")
    number = number or _pull_number()
    if not number:
        raise UsageError("--pr N is needed (or run on a pull_request event)")
    api = os.environ.get("GITHUB_API_URL") or "https://api.github.com"
    client = client_factory(
        api,
        {
            "Authorization": f"Bearer {token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
        },
        provider="github",
        key_env="GITHUB_TOKEN",
        secrets=[token],
        debug=debug,
        key_kind="a token with pull-requests: write",
    )
    try:
        base = f"repos/{repo}/issues"
        mine = _ours(client, f"{base}/{number}/comments", "github: the comments list")
        text = fit(body, GITHUB_LIMIT)
        return _apply(
            mine,
            text,
            behavior,
            create=lambda: client.request_json(
                "POST", f"{base}/{number}/comments", None, {"body": text}
            ),
            update=lambda c: client.request_json(
                "PATCH", f"{base}/comments/{c['id']}", None, {"body": text}
            ),
            delete=lambda c: client.request_json("DELETE", f"{base}/comments/{c['id']}"),
            url_of=lambda c: c.get("html_url"),
        )
    finally:
        client.close()


def gitlab(
    body: str,
    *,
    project: str | None,
    number: int | None,
    behavior: str,
    debug: bool = False,
    client_factory: Any = Client,
) -> Posted:
    token = os.environ.get("GITLAB_TOKEN")
    job = os.environ.get("CI_JOB_TOKEN")
    if not token and not job:
        raise UsageError("no token: set GITLAB_TOKEN (a token with api scope) or CI_JOB_TOKEN")
    project = project or os.environ.get("CI_PROJECT_ID")
    iid = number or _int(os.environ.get("CI_MERGE_REQUEST_IID"))
    if not project or not iid:
        raise UsageError("--project ID and --pr IID are needed (or a merge request pipeline)")
    api = os.environ.get("CI_API_V4_URL") or "https://gitlab.com/api/v4"
    header = {"PRIVATE-TOKEN": token} if token else {"JOB-TOKEN": job or ""}
    secret = token or job or ""
    client = client_factory(
        api,
        header,
        provider="gitlab",
        key_env="GITLAB_TOKEN" if token else "CI_JOB_TOKEN",
        secrets=[secret],
        debug=debug,
        key_kind="a token with api scope",
    )
    try:
        from urllib.parse import quote

        base = f"projects/{quote(str(project), safe='')}/merge_requests/{iid}/notes"
        mine = _ours(client, base, "gitlab: the notes list")
        text = fit(body, GITLAB_LIMIT)
        web = os.environ.get("CI_MERGE_REQUEST_PROJECT_URL")
        return _apply(
            mine,
            text,
            behavior,
            create=lambda: client.request_json("POST", base, None, {"body": text}),
            update=lambda c: client.request_json("PUT", f"{base}/{c['id']}", None, {"body": text}),
            delete=lambda c: client.request_json("DELETE", f"{base}/{c['id']}"),
            url_of=lambda c: f"{web}/-/merge_requests/{iid}#note_{c.get('id')}" if web else None,
        )
    finally:
        client.close()


def _ours(client: Any, path: str, what: str) -> list[dict]:
    """The comments (notes) carrying llmaudit's marker, over every page of the list."""
    mine: list[dict] = []
    for page in range(1, MAX_PAGES + 1):
        got, _ = client.get_json(path, [("per_page", "100"), ("page", str(page))])
        if not isinstance(got, list):
            raise ProviderError(f"{what} is not a JSON list")
        mine += [c for c in got if isinstance(c, dict) and MARKER in str(c.get("body"))]
        if len(got) < 100:
            break
    return mine


def _int(text: str | None) -> int | None:
    return int(text) if text and text.isdigit() else None


def _apply(mine, text, behavior, *, create, update, delete, url_of) -> Posted:
    if behavior not in BEHAVIORS:
        raise UsageError(f"--behavior: one of {', '.join(BEHAVIORS)}")
    if behavior == "update" and mine:
        first = mine[0]
        if first.get("body") == text:
            return Posted("unchanged", url_of(first))
        got, _ = update(first)
        return Posted("updated", url_of(got if isinstance(got, dict) else first))
    deleted = 0
    if behavior == "delete-and-new":
        for c in mine:
            delete(c)
            deleted += 1
    got, _ = create()
    return Posted("created", url_of(got) if isinstance(got, dict) else None, deleted)
