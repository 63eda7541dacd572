"""The Block Kit limits real Slack enforces and a bot most often trips over.

Not a full schema: it checks the limits that turn into `invalid_blocks` /
`invalid_arguments` in production (too many blocks, over-long texts, modal
titles over 24 characters...) and reports them with Slack's own message format
("must be less than 3001 characters [json-pointer:/blocks/0/text/text]").
"""

from __future__ import annotations

from typing import Any

from warroom_sandbox.slack_emulator.errors import SlackError

BLOCK_TYPES = {
    "actions",
    "context",
    "divider",
    "file",
    "header",
    "image",
    "input",
    "rich_text",
    "section",
    "video",
    "markdown",
    "call",
}
MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100


class _Checker:
    def __init__(self) -> None:
        self.problems: list[str] = []

    def fail(self, msg: str, pointer: str) -> None:
        self.problems.append(f"{msg} [json-pointer:{pointer}]")

    def text_obj(
        self,
        obj: Any,
        pointer: str,
        max_len: int,
        plain_only: bool = False,
    ) -> None:
        if not isinstance(obj, dict):
            self.fail("must be an object", pointer)
            return
        kind = obj.get("type")
        allowed = ("plain_text",) if plain_only else ("plain_text", "mrkdwn")
        if kind not in allowed:
            self.fail(f"must be one of {', '.join(allowed)}", f"{pointer}/type")
        text = obj.get("text")
        if not isinstance(text, str):
            self.fail("must be a string", f"{pointer}/text")
        elif len(text) == 0:
            self.fail("must be more than 0 characters", f"{pointer}/text")
        elif len(text) > max_len:
            self.fail(f"must be less than {max_len + 1} characters", f"{pointer}/text")

    def max_str(self, value: Any, max_len: int, pointer: str) -> None:
        if value is not None and (not isinstance(value, str) or len(value) > max_len):
            self.fail(f"must be less than {max_len + 1} characters", pointer)

    def element(self, el: Any, pointer: str, action_ids: set[str]) -> None:
        if not isinstance(el, dict) or not isinstance(el.get("type"), str):
            self.fail("must provide an object with a type", pointer)
            return
        action_id = el.get("action_id")
        if action_id is not None:
            self.max_str(action_id, 255, f"{pointer}/action_id")
            if action_id in action_ids:
                self.fail("action_id must be unique within its block", f"{pointer}/action_id")
            action_ids.add(action_id)
        if el["type"] == "button":
            self.text_obj(el.get("text"), f"{pointer}/text", 75, plain_only=True)
            self.max_str(el.get("value"), 2000, f"{pointer}/value")
            self.max_str(el.get("url"), 3000, f"{pointer}/url")
        elif el["type"] in {"static_select", "multi_static_select"}:
            options = el.get("options")
            groups = el.get("option_groups")
            if options is None and groups is None:
                self.fail("must provide options or option_groups", pointer)
            if isinstance(options, list) and len(options) > 100:
                self.fail("must provide no more than 100 items", f"{pointer}/options")

    def block(self, block: Any, pointer: str, block_ids: set[str]) -> None:
        if not isinstance(block, dict):
            self.fail("must be an object", pointer)
            return
        kind = block.get("type")
        if kind not in BLOCK_TYPES:
            self.fail(f"unsupported type: {kind}", f"{pointer}/type")
            return
        block_id = block.get("block_id")
        if block_id is not None:
            self.max_str(block_id, 255, f"{pointer}/block_id")
            if block_id in block_ids:
                self.fail("block_id must be unique", f"{pointer}/block_id")
            block_ids.add(block_id)
        action_ids: set[str] = set()
        if kind == "section":
            if "text" not in block and "fields" not in block:
                self.fail("must provide text or fields", pointer)
            if "text" in block:
                self.text_obj(block["text"], f"{pointer}/text", 3000)
            fields = block.get("fields")
            if fields is not None:
                if not isinstance(fields, list) or len(fields) > 10:
                    self.fail("must provide no more than 10 items", f"{pointer}/fields")
                else:
                    for i, f in enumerate(fields):
                        self.text_obj(f, f"{pointer}/fields/{i}", 2000)
            if "accessory" in block:
                self.element(block["accessory"], f"{pointer}/accessory", action_ids)
        elif kind == "header":
            self.text_obj(block.get("text"), f"{pointer}/text", 150, plain_only=True)
        elif kind in {"actions", "context"}:
            elements = block.get("elements")
            limit = 25 if kind == "actions" else 10
            if not isinstance(elements, list) or not elements:
                self.fail("must provide at least 1 item", f"{pointer}/elements")
            elif len(elements) > limit:
                self.fail(f"must provide no more than {limit} items", f"{pointer}/elements")
            elif kind == "actions":
                for i, el in enumerate(elements):
                    self.element(el, f"{pointer}/elements/{i}", action_ids)
        elif kind == "input":
            self.text_obj(block.get("label"), f"{pointer}/label", 2000, plain_only=True)
            if "element" not in block:
                self.fail("must provide an element", f"{pointer}/element")
            else:
                self.element(block["element"], f"{pointer}/element", action_ids)


def _raise_blocks(problems: list[str], error: str) -> None:
    raise SlackError(
        error,
        errors=problems,
        response_metadata={"messages": [f"[ERROR] {p}" for p in problems]},
    )


def check_message_blocks(blocks: Any) -> None:
    """Validate `blocks` of chat.postMessage/update/postEphemeral."""
    if blocks is None:
        return
    if not isinstance(blocks, list):
        raise SlackError("invalid_blocks_format")
    c = _Checker()
    if len(blocks) > MAX_MESSAGE_BLOCKS:
        c.fail(f"must provide no more than {MAX_MESSAGE_BLOCKS} items", "/blocks")
    ids: set[str] = set()
    for i, b in enumerate(blocks):
        c.block(b, f"/blocks/{i}", ids)
    if c.problems:
        _raise_blocks(c.problems, "invalid_blocks")


def check_view(view: Any) -> dict[str, Any]:
    """Validate a views.* `view` payload; Slack answers `invalid_arguments` for these."""
    if not isinstance(view, dict):
        raise SlackError(
            "invalid_arguments",
            response_metadata={
                "messages": ["[ERROR] failed to match all allowed schemas [json-pointer:/view]"]
            },
        )
    c = _Checker()
    kind = view.get("type")
    if kind not in {"modal", "home"}:
        c.fail("must be one of modal, home", "/view/type")
    if kind == "modal":
        c.text_obj(view.get("title"), "/view/title", 24, plain_only=True)
        for key in ("submit", "close"):
            if view.get(key) is not None:
                c.text_obj(view[key], f"/view/{key}", 24, plain_only=True)
    c.max_str(view.get("callback_id"), 255, "/view/callback_id")
    c.max_str(view.get("private_metadata"), 3000, "/view/private_metadata")
    c.max_str(view.get("external_id"), 255, "/view/external_id")
    blocks = view.get("blocks")
    if not isinstance(blocks, list):
        c.fail("must provide an array", "/view/blocks")
        blocks = []
    if len(blocks) > MAX_VIEW_BLOCKS:
        c.fail(f"must provide no more than {MAX_VIEW_BLOCKS} items", "/view/blocks")
    ids: set[str] = set()
    for i, b in enumerate(blocks):
        c.block(b, f"/view/blocks/{i}", ids)
    has_input = any(isinstance(b, dict) and b.get("type") == "input" for b in blocks)
    if kind == "modal" and has_input and view.get("submit") is None:
        c.fail("must provide submit when using input blocks", "/view")
    if c.problems:
        raise SlackError(
            "invalid_arguments",
            response_metadata={"messages": [f"[ERROR] {p}" for p in c.problems]},
        )
    return view
