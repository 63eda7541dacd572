"""Pressing buttons and filling forms by what a person reads, not by ids.

`press Roll` must find the button the person just saw: the newest one in the current
channel, whether on a message or an ephemeral only they see, and a short unique prefix of a
label or an option is enough (an ambiguous one lists the candidates instead of guessing).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from warroom_sandbox.console_render import actions_in

if TYPE_CHECKING:
    from warroom_sandbox.console import Console


@dataclass(frozen=True)
class Button:
    label: str
    block_id: str
    element: dict[str, Any]
    message_ts: str | None  # None for an ephemeral: Slack sends no message with its actions


def plain(obj: Any) -> str:
    return obj.get("text", "") if isinstance(obj, dict) else str(obj or "")


def choose(names: list[str], typed: str) -> tuple[str | None, list[str]]:
    """The name `typed` means (equal ignoring case, else a unique prefix), or the candidates."""
    wanted = typed.strip().lower()
    if not wanted:
        return None, []
    exact = [n for n in names if n.lower() == wanted]
    if exact:
        return exact[0], exact
    prefixed = list(dict.fromkeys(n for n in names if n.lower().startswith(wanted)))
    return (prefixed[0] if len(prefixed) == 1 else None), prefixed


def visible_buttons(console: Console) -> list[Button]:
    """Every interactive element in the current channel the current person sees, newest first.

    Messages and ephemerals share the emulator's timestamp clock, so one sort orders both.
    """
    emu = console.emu
    found: list[tuple[float, Button]] = []
    for msg in emu.messages(console.channel):
        for block_id, el in actions_in(msg.blocks):
            found.append((float(msg.ts), Button(_label(el), block_id, el, msg.ts)))
    for eph in emu.ephemerals(console.channel, console.user):
        for block_id, el in actions_in(eph.blocks):
            found.append((float(eph.message_ts), Button(_label(el), block_id, el, None)))
    found.sort(key=lambda pair: pair[0], reverse=True)
    return [button for _, button in found if button.label]


def find_button(buttons: list[Button], typed: str) -> tuple[Button | None, str | None, list[str]]:
    """(button, option typed after its label, candidates when the label is ambiguous).

    The label may be followed by an option ("press Change severity SEV1"), so the longest
    run of leading words that names exactly one label wins.
    """
    labels = list(dict.fromkeys(b.label for b in buttons))
    words = typed.split()
    for k in range(len(words), 0, -1):
        label, candidates = choose(labels, " ".join(words[:k]))
        if label is None and len(candidates) > 1:
            return None, None, candidates
        if label is not None:
            button = next(b for b in buttons if b.label == label)
            return button, " ".join(words[k:]) or None, []
    return None, None, []


def press(console: Console, typed: str) -> None:
    typed = typed.strip()
    button, option, candidates = find_button(visible_buttons(console), typed)
    if candidates:
        console.say(f"“{typed}” could be: {' · '.join(candidates)} — say which.")
    elif button is None:
        console.say(f"No button labelled “{typed}” on the messages here.")
    else:
        click(console, button, option)


def click(console: Console, button: Button, option: str | None) -> None:
    el = button.element
    if el.get("confirm"):
        c = el["confirm"]
        question = f"{plain(c.get('title'))}: {plain(c.get('text'))} [y/N] "
        if console.ask(question).strip().lower() not in ("y", "yes"):
            console.say("(cancelled)")
            return
    kwargs: dict[str, Any] = {}
    if el.get("type") == "static_select":
        opts = el.get("options", [])
        names = [plain(o.get("text")) for o in opts]
        name, candidates = choose(names, option or "")
        if name is None:
            shown = ", ".join(candidates or names)
            console.say(f"Choose one: press {button.label} <{shown}>")
            return
        kwargs["selected_option"] = opts[names.index(name)]
    elif el.get("type") == "users_select":
        person = (option or "").lstrip("@")
        if person not in console.bed.people:
            console.say(f"Say who: press {button.label} @bob")
            return
        kwargs["selected_user"] = console.bed.people[person]
    console.bed.driver.block_action(
        el["action_id"],
        value=el.get("value"),
        user_id=console.user,
        channel_id=console.channel,
        message_ts=button.message_ts,
        block_id=button.block_id,
        **kwargs,
    )


def fill_view(console: Console, view: dict[str, Any]) -> None:
    """Ask for each input of a form in turn, then submit it."""
    console.say(f"▣ {plain(view.get('title')) or 'Form'} (empty answer: leave blank)")
    values: dict[str, dict[str, Any]] = {}
    for block in view.get("blocks", []):
        if block.get("type") != "input":
            continue
        el = block["element"]
        label = plain(block.get("label"))
        if el["type"] == "static_select":
            value: dict[str, Any] = {"selected_option": _ask_option(console, label, el)}
        elif el["type"] == "users_select":
            default = el.get("initial_user", console.user)
            answer = console.ask(f"  {label} (@person, empty: {console.user_name(default)}): ")
            value = {"selected_user": console.bed.people.get(answer.strip().lstrip("@"), default)}
        else:
            answer = console.ask(f"  {label}: ")
            value = {"value": answer or None}
        values[block["block_id"]] = {el["action_id"]: {"type": el["type"], **value}}
    resp = console.bed.driver.view_submission(
        view.get("callback_id", ""),
        values,
        user_id=console.user,
        private_metadata=view.get("private_metadata", ""),
        view_id=view.get("id"),
    )
    if resp.content:
        for field, err in (resp.json().get("errors") or {}).items():
            console.say(f"  ⚠ {field}: {err}")


def _ask_option(console: Console, label: str, el: dict[str, Any]) -> dict[str, Any] | None:
    """An option by a unique prefix of its name; asked again (three times) when unclear."""
    opts = el.get("options", [])
    names = [plain(o.get("text")) for o in opts]
    for _ in range(3):
        answer = console.ask(f"  {label} ({' / '.join(names)}): ").strip()
        if not answer:
            break
        name, candidates = choose(names, answer)
        if name is not None:
            return opts[names.index(name)]
        console.say(f"  “{answer}” could be: {' / '.join(candidates or names)}")
    return el.get("initial_option")


def _label(el: dict[str, Any]) -> str:
    return plain(el.get("text") or el.get("placeholder"))
