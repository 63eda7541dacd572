"""The Block Kit limits real Slack enforces and a bot most often trips over.

Not a full schema: it checks the limits that turn into `invalid_blocks` /
`invalid_arguments` / `msg_too_long` in production and reports them with Slack's
own message format ("must be less than 3001 characters [json-pointer:/blocks/0/text/text]"):
section text 3000; ≤ 10 fields of 2000; header 150; button text 75, value 2000;
action_id/block_id 255; option text/description 75, value 150, ≤ 100 options;
context ≤ 10 elements of 3000; confirm dialog title 100, text 300, buttons 30;
placeholder 150; plain_text_input initial_value and max_length 3000; input label and
hint 2000; ≤ 50 blocks a message, 100 a view; modal title/submit/close 24;
private_metadata 3000; a message's text 40,000.

Lengths are counted in characters (code points), as Slack does, never in bytes.
The product's tests reuse these checks (tests/unit/test_block_limits.py), so the
limits are written down once.
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
# chat.postMessage/update/postEphemeral and response_url answer `msg_too_long` above this.
MAX_MESSAGE_TEXT = 40_000


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

    def option(self, opt: Any, pointer: str) -> None:
        """An option of a select, overflow, radio or checkbox group."""
        if not isinstance(opt, dict):
            self.fail("must be an object", pointer)
            return
        self.text_obj(opt.get("text"), f"{pointer}/text", 75)
        if not isinstance(opt.get("value"), str):
            self.fail("must be a string", f"{pointer}/value")
        else:
            self.max_str(opt["value"], 150, f"{pointer}/value")
        if opt.get("description") is not None:
            self.text_obj(opt["description"], f"{pointer}/description", 75)

    def options(self, options: Any, pointer: str, max_items: int = 100) -> None:
        if not isinstance(options, list) or not options:
            self.fail("must provide at least 1 item", pointer)
        elif len(options) > max_items:
            self.fail(f"must provide no more than {max_items} items", pointer)
        else:
            for i, opt in enumerate(options):
                self.option(opt, f"{pointer}/{i}")

    def confirm(self, obj: Any, pointer: str) -> None:
        """A confirmation dialog: title 100, text 300, buttons 30."""
        if not isinstance(obj, dict):
            self.fail("must be an object", pointer)
            return
        self.text_obj(obj.get("title"), f"{pointer}/title", 100, plain_only=True)
        self.text_obj(obj.get("text"), f"{pointer}/text", 300)
        self.text_obj(obj.get("confirm"), f"{pointer}/confirm", 30, plain_only=True)
        self.text_obj(obj.get("deny"), f"{pointer}/deny", 30, plain_only=True)

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
        if el.get("placeholder") is not None:
            self.text_obj(el["placeholder"], f"{pointer}/placeholder", 150, plain_only=True)
        if el.get("confirm") is not None:
            self.confirm(el["confirm"], f"{pointer}/confirm")
        kind = el["type"]
        if kind == "button":
            self.text_obj(el.get("text"), f"{pointer}/text", 75, plain_only=True)
            self.max_str(el.get("value"), 2000, f"{pointer}/value")
            self.max_str(el.get("url"), 3000, f"{pointer}/url")
        elif kind in {"static_select", "multi_static_select"}:
            options = el.get("options")
            groups = el.get("option_groups")
            if options is None and groups is None:
                self.fail("must provide options or option_groups", pointer)
            if options is not None:
                self.options(options, f"{pointer}/options")
            if isinstance(groups, list):
                if len(groups) > 100:
                    self.fail("must provide no more than 100 items", f"{pointer}/option_groups")
                for i, g in enumerate(groups):
                    gp = f"{pointer}/option_groups/{i}"
                    if not isinstance(g, dict):
                        self.fail("must be an object", gp)
                        continue
                    self.text_obj(g.get("label"), f"{gp}/label", 75, plain_only=True)
                    self.options(g.get("options"), f"{gp}/options")
        elif kind in {"overflow", "radio_buttons", "checkboxes"}:
            limit = {"overflow": 5, "radio_buttons": 10, "checkboxes": 10}[kind]
            self.options(el.get("options"), f"{pointer}/options", limit)
        elif kind == "plain_text_input":
            self.max_str(el.get("initial_value"), 3000, f"{pointer}/initial_value")
            max_length = el.get("max_length")
            if max_length is not None and not (
                isinstance(max_length, int) and 0 < max_length <= 3000
            ):
                self.fail("must be between 1 and 3000", f"{pointer}/max_length")
        if isinstance(el.get("initial_option"), dict):
            self.option(el["initial_option"], f"{pointer}/initial_option")

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
            else:
                for i, el in enumerate(elements):
                    self.context_element(el, f"{pointer}/elements/{i}")
        elif kind == "input":
            self.text_obj(block.get("label"), f"{pointer}/label", 2000, plain_only=True)
            if block.get("hint") is not None:
                self.text_obj(block["hint"], f"{pointer}/hint", 2000, plain_only=True)
            if "element" not in block:
                self.fail("must provide an element", f"{pointer}/element")
            else:
                self.element(block["element"], f"{pointer}/element", action_ids)

    def context_element(self, el: Any, pointer: str) -> None:
        """A context block holds texts (3000 each) and images, nothing interactive."""
        if not isinstance(el, dict):
            self.fail("must be an object", pointer)
        elif el.get("type") == "image":
            self.max_str(el.get("image_url"), 3000, f"{pointer}/image_url")
        else:
            self.text_obj(el, pointer, 3000)


def _raise_blocks(problems: list[str], error: str) -> None:
    raise SlackError(
        error,
        errors=problems,
        response_metadata={"messages": [f"[ERROR] {p}" for p in problems]},
    )


def check_message_text(text: str | None) -> None:
    """Slack counts characters, not bytes: 40,000 of them in a message's `text`."""
    if text and len(text) > MAX_MESSAGE_TEXT:
        raise SlackError("msg_too_long")


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
