"""Sends webhook deliveries to the bot signed exactly as GitHub signs them."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from typing import Any

import requests


class GitHubSender:
    def __init__(self, base_url: str, secret: str, path: str = "/github/webhook") -> None:
        self.url = base_url.rstrip("/") + path
        self.secret = secret

    def sign(self, body: bytes) -> str:
        return "sha256=" + hmac.new(self.secret.encode(), body, hashlib.sha256).hexdigest()

    def deliver(
        self,
        event: str,
        payload: dict[str, Any],
        *,
        delivery_id: str | None = None,
        signature: str | None = None,
        signed: bool = True,
    ) -> requests.Response:
        body = json.dumps(payload).encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "GitHub-Hookshot/044aadd",
            "X-GitHub-Event": event,
            "X-GitHub-Delivery": delivery_id or str(uuid.uuid4()),
            "X-GitHub-Hook-ID": "292430182",
        }
        if signed:
            headers["X-Hub-Signature-256"] = signature or self.sign(body)
        return requests.post(self.url, data=body, headers=headers, timeout=10)


def account(login: str, id_: int = 1) -> dict[str, Any]:
    return {
        "login": login,
        "id": id_,
        "type": "User",
        "site_admin": False,
        "html_url": f"https://github.com/{login}",
        "url": f"https://api.github.com/users/{login}",
    }


def repository(full_name: str, *, fork: bool = False) -> dict[str, Any]:
    owner, name = full_name.split("/")
    return {
        "id": abs(hash(full_name)) % 10**8,
        "name": name,
        "full_name": full_name,
        "owner": account(owner),
        "private": False,
        "fork": fork,
        "html_url": f"https://github.com/{full_name}",
        "default_branch": "main",
    }


def pull_request_payload(
    action: str, upstream: str, head_owner: str, branch: str, number: int = 1
) -> dict[str, Any]:
    head_repo = repository(f"{head_owner}/{upstream.split('/')[1]}", fork=True)
    return {
        "action": action,
        "number": number,
        "pull_request": {
            "number": number,
            "state": "open",
            "draft": False,
            "merged": False,
            "html_url": f"https://github.com/{upstream}/pull/{number}",
            "user": account(head_owner),
            "head": {
                "label": f"{head_owner}:{branch}",
                "ref": branch,
                "sha": "0" * 40,
                "user": account(head_owner),
                "repo": head_repo,
            },
            "base": {
                "label": f"{upstream.split('/')[0]}:main",
                "ref": "main",
                "sha": "1" * 40,
                "user": account(upstream.split("/")[0]),
                "repo": repository(upstream),
            },
        },
        "repository": repository(upstream),
        "sender": account(head_owner),
    }


def fork_payload(upstream: str, owner: str, sender: str | None = None) -> dict[str, Any]:
    """``owner`` made a fork of ``upstream`` (``sender`` made it, under an organisation)."""
    return {
        "forkee": repository(f"{owner}/{upstream.split('/')[1]}", fork=True),
        "repository": repository(upstream),
        "sender": account(sender or owner),
    }


def review_payload(
    upstream: str,
    head_owner: str,
    branch: str,
    number: int = 1,
    *,
    reviewer: str = "mentor",
    state: str = "changes_requested",
    body: str = "",
    action: str = "submitted",
) -> dict[str, Any]:
    """``pull_request_review`` (GitHub writes the review's state in lower case here)."""
    base = pull_request_payload("opened", upstream, head_owner, branch, number)
    return {
        "action": action,
        "review": {
            "id": 80,
            "user": account(reviewer, 2),
            "body": body or None,
            "state": state,
            "html_url": f"https://github.com/{upstream}/pull/{number}#pullrequestreview-80",
            "commit_id": "0" * 40,
            "submitted_at": "2026-12-05T10:00:00Z",
            "author_association": "MEMBER",
        },
        "pull_request": base["pull_request"],
        "repository": base["repository"],
        "sender": account(reviewer, 2),
    }


def review_comment_payload(
    upstream: str, head_owner: str, branch: str, number: int = 1, *, reviewer: str = "mentor"
) -> dict[str, Any]:
    """``pull_request_review_comment`` created: one inline comment."""
    base = pull_request_payload("opened", upstream, head_owner, branch, number)
    return {
        "action": "created",
        "comment": {
            "id": 10,
            "pull_request_review_id": 80,
            "path": "participants/x.md",
            "body": "A comment",
            "user": account(reviewer, 2),
        },
        "pull_request": base["pull_request"],
        "repository": base["repository"],
        "sender": account(reviewer, 2),
    }
