"""Refresh the trimmed reference data in this folder from a full reference folder.

    python tests/reference/refresh.py /path/to/shared/reference

Copies the files the conformance tests read (``FILES``), and trims GitHub's OpenAPI
descriptions to what validation uses: prose (``description``, ``summary``), examples and
``x-…`` extensions are dropped, everything a validator reads (types, ``required``, ``enum``,
``format``, ``nullable``, ``oneOf``, ``title``, discriminators…) is kept. The webhooks file
keeps only the components the tests name (and what they refer to). Standard library only;
the output is deterministic (sorted keys are not used: the source order is kept).
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent

# Copied as they are.
FILES = [
    "github/webhook-examples/fork/payload.json",
    "github/webhook-examples/pull_request/opened.payload.json",
    "github/webhook-examples/push/payload.json",
    "slack/events/event_callback.app_home_opened.home-tab.json",
    "slack/events/event_callback.message.im.json",
    "slack/events/slack_common_event_wrapper_schema.json",
    "slack/interactivity/block_actions.bolt-python.json",
    "slack/interactivity/slash_command.signing-example.json",
    "slack/protocol-facts.json",
    "slack/shapes/api__auth.test.json",
    "slack/shapes/api__files.completeUploadExternal.json",
    "slack/shapes/api__files.getUploadURLExternal.json",
    "slack/shapes/api__users.info.json",
    "slack/shapes/api__views.publish.json",
    "slack/shapes/app-backend__interactive-components__BlockActionPayload.json",
    "slack/shapes/app-backend__slash-commands__SlashCommandPayload.json",
    "slack/socket-mode/apps.connections.open.slack-docs.json",
    "slack/socket-mode/envelope.slash_commands.json",
    "slack/socket-mode/hello.json",
    "slack/socket-mode/ack.json",
    "slack/web-api/captured/chat.update.ok.json",
    "slack/web-api/captured/conversations.info.im.ok.json",
    "slack/web-api/captured/file-object.json",
    "slack/web-api/captured/views.publish.ok.json",
    "slack/web-api/recorded/auth_test_error.json",
    "slack/web-api/recorded/auth_test_success.json",
    "slack/web-api/recorded/conversations_info.json",
    "slack/web-api/recorded/files_upload_v2.json",
    "slack/web-api/recorded/files_upload_v2_with_blocks.json",
    "slack/web-api/recorded/users_info.json",
    "slack/web-api/recorded/views_open_error.json",
    "slack/web-api/slack-web-openapi-v2-subset.json",
]
# Trimmed OpenAPI descriptions (every operation kept).
OPENAPI = [
    "github/rest-api-openapi-subset.deref.json",
    "github/rest-api-openapi-subset.json",
]
WEBHOOKS = "github/webhooks-openapi-subset.json"
WEBHOOK_COMPONENTS = ["installation", "basic-error"]

PROSE = {"description", "summary", "example", "examples", "externalDocs"}


def trim(node: Any) -> Any:
    """``node`` without prose, examples or extensions; property *names* are left alone."""
    if isinstance(node, list):
        return [trim(item) for item in node]
    if not isinstance(node, dict):
        return node
    kept: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("properties", "mapping", "paths", "responses", "schemas", "content"):
            # Maps of names: each value is trimmed, no name is dropped.
            kept[key] = {name: trim(item) for name, item in value.items()}
        elif key in PROSE or key.startswith("x-"):
            continue
        else:
            kept[key] = trim(value)
    return kept


def refs(node: Any) -> set[str]:
    if isinstance(node, list):
        return set().union(*(refs(item) for item in node)) if node else set()
    if not isinstance(node, dict):
        return set()
    found = {node["$ref"].rsplit("/", 1)[1]} if isinstance(node.get("$ref"), str) else set()
    return found.union(*(refs(value) for value in node.values()))


def webhook_components(spec: Any) -> Any:
    schemas = spec["components"]["schemas"]
    wanted, todo = set(), list(WEBHOOK_COMPONENTS)
    while todo:
        name = todo.pop()
        if name not in wanted:
            wanted.add(name)
            todo += sorted(refs(schemas[name]))
    return {"components": {"schemas": {n: trim(s) for n, s in schemas.items() if n in wanted}}}


def write(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8"
    )


def sources(source: Path) -> str:
    """Each kept file's line of the full folder's README: what it is, where from, its license."""
    lines = (source / "README.md").read_text(encoding="utf-8").splitlines()
    kept = []
    for name in [*OPENAPI, WEBHOOKS, *FILES]:
        line = next((x for x in lines if x.startswith(f"- `{name}`")), f"- `{name}` — (no entry)")
        kept.append(line)
    header = (
        "# Where each file comes from\n\n"
        "Written by `refresh.py` from the full reference folder's README (sizes are the\n"
        "originals'; the OpenAPI files here are trimmed, see README.md). Third-party material\n"
        "keeps its own license, named on its line.\n\n"
    )
    return header + "\n".join(kept) + "\n"


def main(source: Path) -> None:
    for name in FILES:
        (HERE / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / name, HERE / name)
    for name in OPENAPI:
        write(HERE / name, trim(json.loads((source / name).read_text(encoding="utf-8"))))
    spec = json.loads((source / WEBHOOKS).read_text(encoding="utf-8"))
    write(HERE / WEBHOOKS, webhook_components(spec))
    (HERE / "SOURCES.md").write_text(sources(source), encoding="utf-8")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(Path(sys.argv[1]))
