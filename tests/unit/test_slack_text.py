"""Slack's escaped text and markup back to what the author typed, decoded exactly once."""

from __future__ import annotations

import pytest

from incident.slack_text import PLAIN, decode, stored, to_plain


@pytest.mark.parametrize(
    ("slack", "typed"),
    [
        ("error rate &lt; 1% &amp; falling", "error rate < 1% & falling"),
        ("a -&gt; b", "a -> b"),
        ("&amp;lt; is how HTML writes <", "&lt; is how HTML writes <"),  # once, not twice
        ("&amp;amp;", "&amp;"),
        ("&quot;quoted&quot; &#39;x&#39;", "&quot;quoted&quot; &#39;x&#39;"),  # not Slack's
        ("no entities at all", "no entities at all"),
    ],
)
def test_decode_undoes_slacks_three_entities_once(slack: str, typed: str) -> None:
    assert decode(slack) == typed


@pytest.mark.parametrize(
    ("slack", "plain"),
    [
        ("ask <@U123>", "ask <@U123>"),  # people stay tokens: named when rendered
        ("ask <@U123|ana>", "ask <@U123>"),
        ("see <#C42|ops-db> and <#C43>", "see #ops-db and #C43"),
        ("<!here> <!channel> <!everyone|everyone>", "@here @channel @everyone"),
        ("paging <!subteam^S9|@dba-oncall>", "paging @dba-oncall"),
        ("paging <!subteam^S9|dba-oncall>", "paging @dba-oncall"),
        ("paging <!subteam^S9>", "paging @S9"),
        ("since <!date^1700000000^{date_short}|Nov 14>", "since Nov 14"),
        (
            "dash <https://grafana.example/d?a=1&amp;b=2|p99 &lt;board&gt;>",
            "dash p99 <board> (https://grafana.example/d?a=1&b=2)",
        ),
        ("bare <https://status.example/>", "bare https://status.example/"),
        ("same <https://x.example|https://x.example>", "same https://x.example"),
        ("mail <mailto:ana@example.com|ana@example.com>", "mail ana@example.com"),
        # typed angle brackets arrive escaped: they are text, never markup
        ("typed &lt;@U123&gt; and &lt;!here&gt;", "typed <@U123> and <!here>"),
        ("error rate &lt; 1% &amp; falling, ask <@U7>", "error rate < 1% & falling, ask <@U7>"),
        ("", ""),
    ],
)
def test_to_plain_turns_markup_into_text(slack: str, plain: str) -> None:
    assert to_plain(slack) == plain


def test_people_resolve_through_the_given_lookup() -> None:
    names = {"U7": "ana"}
    text = to_plain("ask <@U7> or <@U8> &amp; co", lambda u: "@" + names.get(u, u))
    assert text == "ask @ana or @U8 & co"


def test_none_stays_none() -> None:
    assert to_plain(None) is None


def test_stored_text_is_decoded_once_whichever_way_it_was_captured() -> None:
    before = "error rate &lt; 1% &amp;lt; <#C1|ops>"  # a row captured before decoding existed
    assert stored(before, {}) == "error rate < 1% &lt; #ops"
    after = "error rate < 1% &lt; #ops"  # already decoded at capture: left alone
    assert stored(after, {"text_format": PLAIN}) == after
    assert stored(None, {}) is None
