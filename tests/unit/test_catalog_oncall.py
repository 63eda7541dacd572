"""The catalog's oncall: and alerts: sections: a good file resolves to who is paged when, and
each mistake stops start-up naming its file, line and field."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.adapters.catalog.load import check_alert_severities, load_catalog
from bot.adapters.catalog.model import CatalogError
from bot.bootstrap import load_config
from bot.config import Settings, SettingsError
from incident.oncall import (
    ResolvedTarget,
    Target,
    next_handoff,
    on_call,
    on_call_next,
    resolve_target,
)
from incident.severity import DEFAULT_ALIASES

GOOD_YAML = """\
oncall:
  schedules:
    platform:
      timezone: Europe/Berlin
      rotation: {start: 2026-11-30, every: 1w, handoff: monday 09:00, people: [U0AAA, U0BBB, U0CCC]}
      overrides:
        - {user: U0DDD, from: "2026-12-24T18:00:00+01:00", to: "2026-12-27T09:00:00+01:00"}
    data:
      timezone: UTC
      rotation:
        start: "2026-12-01"
        every: 1d
        handoff: "08:00"
        people:
          - U0EEE
          - W0FFF
  escalations:
    platform:
      - {notify: "schedule:platform", wait: 5m}
      - {notify: "schedule:platform:next", wait: 10m}
      - {notify: "usergroup:S0PLATFORM"}
alerts:
  channel: alerts
  rules:
    - match: {severity: critical}
      declare: critical
    - match: {severity: warning, team: data}
      declare: SEV-3
      post: true
    - match: {severity: warning}
      post: true
services:
  - name: checkout
    health_url: http://checkout.internal/health
    escalation: platform
    sentry_projects: [checkout-web, checkout-api]
  - name: search
    health_url: http://search.internal/health
"""

GOOD_TOML = """\
[[services]]
name = "checkout"
health_url = "http://checkout.internal/health"
escalation = "platform"
sentry_projects = ["checkout-web"]

[oncall.schedules.platform]
timezone = "Europe/Berlin"
overrides = [{ user = "U0DDD", from = 2026-12-24T18:00:00+01:00, to = 2026-12-27T09:00:00+01:00 }]

[oncall.schedules.platform.rotation]
start = 2026-11-30
every = "1w"
handoff = "Monday 09:00"
people = ["U0AAA", "U0BBB"]

[oncall.escalations]
platform = [{ notify = "schedule:platform", wait = "5m" }, { notify = "user:U0CCC" }]

[alerts]
rules = [{ match = { severity = "critical" }, declare = "P1" }]
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def error_of(path: Path) -> str:
    with pytest.raises(CatalogError) as caught:
        load_catalog(path)
    return str(caught.value)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_good_yaml_resolves_who_is_paged(tmp_path: Path) -> None:
    catalog = load_catalog(write(tmp_path, "catalog.yml", GOOD_YAML))
    schedules = catalog.schedules()
    assert sorted(schedules) == ["data", "platform"]
    platform = schedules["platform"]
    assert on_call(platform, at("2026-12-07T08:59:00+01:00")) == "U0AAA"
    assert on_call(platform, at("2026-12-07T09:00:00+01:00")) == "U0BBB"
    assert on_call(platform, at("2026-12-25T12:00:00+01:00")) == "U0DDD"  # the override
    assert next_handoff(platform, at("2026-12-25T12:00:00+01:00")) == datetime(
        2026, 12, 27, 8, 0, tzinfo=UTC
    )
    assert on_call_next(platform, at("2026-12-25T12:00:00+01:00")) == "U0AAA"
    data = schedules["data"]
    assert on_call(data, at("2026-12-01T08:00:00+00:00")) == "U0EEE"
    assert on_call(data, at("2026-12-02T08:00:00+00:00")) == "W0FFF"

    policy = catalog.escalation_policy(catalog.get("checkout").escalation or "")
    assert [str(step.target) for step in policy.steps] == [
        "schedule:platform",
        "schedule:platform:next",
        "usergroup:S0PLATFORM",
    ]
    assert [step.wait for step in policy.steps] == [
        timedelta(minutes=5),
        timedelta(minutes=10),
        None,
    ]
    monday = at("2026-12-07T10:00:00+01:00")
    assert resolve_target(policy.steps[0].target, schedules, monday) == ResolvedTarget(
        "user", "U0BBB"
    )
    assert resolve_target(policy.steps[1].target, schedules, monday).ref == "U0CCC"
    with pytest.raises(KeyError):
        catalog.escalation_policy("nope")
    assert catalog.schedules()["platform"] is platform  # built once
    assert catalog.get("search").escalation is None


def test_good_yaml_alerts_and_sentry(tmp_path: Path) -> None:
    catalog = load_catalog(write(tmp_path, "catalog.yml", GOOD_YAML))
    assert catalog.alerts.channel == "alerts"
    assert [r.declare for r in catalog.alert_rules] == ["SEV1", "SEV3", None]
    assert [r.post for r in catalog.alert_rules] == [False, True, True]
    critical = catalog.rule_for({"severity": "critical", "service": "checkout"})
    assert critical is not None and critical.declare == "SEV1"
    assert critical.declare_as_written == "critical"
    data_warning = catalog.rule_for({"severity": "warning", "team": "data"})
    assert data_warning is catalog.alert_rules[1]
    plain_warning = catalog.rule_for({"severity": "warning", "team": "web"})
    assert plain_warning is catalog.alert_rules[2]
    assert catalog.rule_for({"severity": "info"}) is None
    assert catalog.rule_for({}) is None
    checkout = catalog.service_for_sentry_project("checkout-api")
    assert checkout is not None and checkout.name == "checkout"
    assert catalog.service_for_sentry_project("search") is None


def test_good_toml(tmp_path: Path) -> None:
    catalog = load_catalog(write(tmp_path, "catalog.toml", GOOD_TOML))
    platform = catalog.schedules()["platform"]
    assert on_call(platform, at("2026-12-07T09:00:00+01:00")) == "U0BBB"
    assert on_call(platform, at("2026-12-26T09:00:00+01:00")) == "U0DDD"
    steps = catalog.escalation_policy("platform").steps
    assert steps[1].target == Target("user", "U0CCC") and steps[1].wait is None
    assert catalog.alert_rules[0].declare == "SEV1"


def test_a_catalog_without_the_sections_loads_as_before(tmp_path: Path) -> None:
    catalog = load_catalog(
        write(tmp_path, "c.yml", "services:\n  - name: api\n    health_url: http://api/health\n")
    )
    assert catalog.schedules() == {}
    assert catalog.alert_rules == [] and catalog.alerts.channel is None
    assert catalog.rule_for({"severity": "critical"}) is None
    assert catalog.service_for_sentry_project("api") is None
    assert catalog.get("api").escalation is None and catalog.get("api").sentry_projects == []


def test_two_loads_of_one_file_are_equal_even_once_used(tmp_path: Path) -> None:
    path = write(tmp_path, "catalog.yml", GOOD_YAML)
    used = load_catalog(path)
    used.schedules()
    used.escalation_policy("platform")
    assert used == load_catalog(path)  # the reload watch compares catalogs


# --- errors, each at its line ----------------------------------------------------------------

SERVICE = """\
services:
  - name: api
    health_url: http://api/health
"""


def oncall_error(tmp_path: Path, oncall: str) -> tuple[Path, str]:
    path = write(tmp_path, "catalog.yml", SERVICE + textwrap.dedent(oncall))
    return path, error_of(path)


def schedule(**changes: str) -> str:
    """A good schedule `s` (lines 4-12), with some lines replaced."""
    lines = {
        "timezone": "      timezone: Europe/Berlin",
        "start": "        start: 2026-11-30",
        "every": "        every: 1w",
        "handoff": '        handoff: "monday 09:00"',
        "people": "        people: [U0AAA, U0BBB]",
        "override": "        - {user: U0DDD, from: 2026-12-24T18:00:00+01:00,"
        " to: 2026-12-27T09:00:00+01:00}",
    }
    lines.update(changes)
    return "\n".join(
        [
            "oncall:",
            "  schedules:",
            "    s:",
            lines["timezone"],
            "      rotation:",
            lines["start"],
            lines["every"],
            lines["handoff"],
            lines["people"],
            "      overrides:",
            lines["override"],
            "",
        ]
    )


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {"every": "        every: 1 week"},
            ":10: oncall.schedules.s.rotation.every: '1 week' is not a duration: "
            "write 30s, 5m, 1h, 1d or 1w",
        ),
        (
            {"every": "        every: 36h"},
            ":10: oncall.schedules.s.rotation.every: a rotation hands off every whole number"
            " of days: 1d, 1w, 2w...",
        ),
        (
            {"every": "        every: 3d"},
            ":8: oncall.schedules.s.rotation: a handoff on a weekday needs every in whole weeks",
        ),
        (
            {"timezone": "      timezone: Europe/Berlln"},
            ":7: oncall.schedules.s.timezone: unknown time zone 'Europe/Berlln'",
        ),
        (
            {"timezone": "      timezone: Europe"},
            ":7: oncall.schedules.s.timezone: unknown time zone 'Europe'",
        ),
        (
            {"handoff": '        handoff: "mondays 09:00"'},
            ":11: oncall.schedules.s.rotation.handoff: 'mondays' is not a weekday",
        ),
        (
            {"handoff": '        handoff: "monday 9am"'},
            ":11: oncall.schedules.s.rotation.handoff: '9am' is not a time of day",
        ),
        (
            {"people": "        people: []"},
            ":12: oncall.schedules.s.rotation.people: list should have at least 1 item",
        ),
        (
            {"people": "        people: [U0AAA, bob]"},
            ":12: oncall.schedules.s.rotation.people[1]: 'bob' is not a Slack user id",
        ),
        (
            {
                "override": "        - {user: U0DDD, from: 2026-12-27T09:00:00+01:00,"
                " to: 2026-12-24T18:00:00+01:00}"
            },
            ":14: oncall.schedules.s.overrides[0]: an override's to must be after its from",
        ),
        (
            {
                "override": "        - {user: U0DDD, from: 2026-12-24T18:00:00,"
                " to: 2026-12-27T09:00:00+01:00}"
            },
            ":14: oncall.schedules.s.overrides[0].from: input should have timezone info",
        ),
        (
            {
                "override": "        - {user: U0DDD, from: 1766595600,"
                " to: 2026-12-27T09:00:00+01:00}"
            },
            ":14: oncall.schedules.s.overrides[0].from: write a date and time with its offset",
        ),
        (
            {
                "override": "        - {user: someone, from: 2026-12-24T18:00:00+01:00,"
                " to: 2026-12-27T09:00:00+01:00}"
            },
            ":14: oncall.schedules.s.overrides[0].user: 'someone' is not a Slack user id",
        ),
    ],
)
def test_schedule_errors_name_the_line(
    tmp_path: Path, changes: dict[str, str], expected: str
) -> None:
    path, message = oncall_error(tmp_path, schedule(**changes))
    assert message.startswith(f"{path}{expected}"), message


def test_escalation_errors_name_the_line(tmp_path: Path) -> None:
    head = schedule() + "  escalations:\n    platform:\n"  # steps from line 17
    path, message = oncall_error(
        tmp_path, head + '      - {notify: "schedule:platfrom", wait: 5m}\n'
    )
    assert message == (
        f"{path}:17: oncall.escalations.platform[0].notify: unknown schedule 'platfrom'"
        " (declared: s)"
    )
    path, message = oncall_error(tmp_path, head + '      - {notify: "team:platform"}\n')
    assert message.startswith(
        f"{path}:17: oncall.escalations.platform[0].notify: 'team:platform' is not a target:"
        " write schedule:NAME, schedule:NAME:next, usergroup:S0ABC"
    )
    path, message = oncall_error(tmp_path, head + '      - {notify: "schedule:s", wait: 5 min}\n')
    assert message == (
        f"{path}:17: oncall.escalations.platform[0].wait: '5 min' is not a duration:"
        " write 30s, 5m, 1h, 1d or 1w"
    )
    path, message = oncall_error(
        tmp_path,
        head + '      - {notify: "schedule:s"}\n      - {notify: "usergroup:S0PLATFORM"}\n',
    )
    assert message == (
        f"{path}:17: oncall.escalations.platform[0]: wait required: a step followed by"
        " another says how long to wait"
    )
    path, message = oncall_error(tmp_path, schedule() + "  escalations:\n    platform: []\n")
    assert message == (
        f"{path}:16: oncall.escalations.platform: an escalation needs at least one step"
    )


def test_a_schedule_name_must_be_a_word(tmp_path: Path) -> None:
    path, message = oncall_error(tmp_path, schedule().replace("    s:", "    my schedule:"))
    assert message.startswith(f"{path}:6: oncall.schedules.my schedule: 'my schedule': use")


def test_a_service_naming_an_unknown_escalation(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "catalog.yml",
        """\
        oncall:
          escalations:
            platform:
              - {notify: "usergroup:S0PLATFORM"}
        services:
          - name: api
            health_url: http://api/health
            escalation: platfrom
        """,
    )
    assert error_of(path) == (
        f"{path}:8: services[0].escalation: unknown escalation 'platfrom' (declared: platform)"
    )


def test_a_sentry_project_on_two_services(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "catalog.yml",
        """\
        services:
          - name: api
            health_url: http://api/health
            sentry_projects: [shop-api, shop-web]
          - name: web
            health_url: http://web/health
            sentry_projects:
              - web
              - shop-web
        """,
    )
    assert error_of(path) == (
        f"{path}:9: services[1].sentry_projects[1]: Sentry project 'shop-web' already"
        " belongs to 'api'"
    )


def rules_error(tmp_path: Path, rules: str) -> tuple[Path, str]:
    path = write(tmp_path, "catalog.yml", SERVICE + "alerts:\n  rules:\n" + rules)
    return path, error_of(path)


def test_alert_rule_errors_name_the_line(tmp_path: Path) -> None:
    path, message = rules_error(tmp_path, "    - match: {severity: critical}\n")
    assert message == (f"{path}:6: alerts.rules[0]: a rule needs declare: SEV1..SEV4 or post: true")
    path, message = rules_error(tmp_path, "    - match: {severity: critical}\n      post: false\n")
    assert message.startswith(f"{path}:6: alerts.rules[0]: a rule needs declare")
    path, message = rules_error(tmp_path, "    - post: true\n      match: {}\n")
    assert message == (
        f"{path}:7: alerts.rules[0].match: an empty match would take every alert:"
        " name at least one label"
    )
    path, message = rules_error(
        tmp_path, "    - match: {severity: critical}\n      declare: urgent\n"
    )
    assert message.startswith(
        f"{path}:7: alerts.rules[0].declare: unknown severity `urgent`. Use one of: SEV1"
    )
    path, message = rules_error(tmp_path, "    - match: {severity: 1}\n      post: true\n")
    assert message.startswith(f"{path}:6: alerts.rules[0].match.severity: input should be")


def test_policy_aliases_are_checked_at_start_up(tmp_path: Path) -> None:
    path = write(tmp_path, "catalog.yml", GOOD_YAML)
    catalog = load_catalog(path)
    assert check_alert_severities(path, catalog, DEFAULT_ALIASES) is None
    no_critical = {k: v for k, v in DEFAULT_ALIASES.items() if k != "CRITICAL"}
    error = check_alert_severities(path, catalog, no_critical)
    assert error is not None and str(error).startswith(
        f"{path}:26: alerts.rules[0].declare: under POLICY_FILE's aliases:"
        " Unknown severity `critical`. Use one of: SEV1 (S1, P0, P1), SEV2"
    )
    remapped = {**DEFAULT_ALIASES, "CRITICAL": "SEV2"}
    error = check_alert_severities(path, catalog, remapped)
    assert str(error) == (
        f"{path}:26: alerts.rules[0].declare: 'critical' is SEV2 under POLICY_FILE's aliases"
        " but SEV1 by default: write the level (SEV2 or SEV1)"
    )


def test_start_up_refuses_an_alert_word_the_policy_removed(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name, info in Settings.model_fields.items():  # only what this test sets
        monkeypatch.delenv(name.upper(), raising=False)
        for alias in getattr(info.validation_alias, "choices", ()):
            monkeypatch.delenv(str(alias), raising=False)
    monkeypatch.chdir(tmp_path)
    catalog = write(tmp_path, "catalog.yml", GOOD_YAML)
    monkeypatch.setenv("CATALOG_FILE", str(catalog))
    assert load_config().catalog.current is not None  # the default aliases: fine

    policy = write(tmp_path, "policy.toml", "[aliases]\ncritical = false\n")
    monkeypatch.setenv("POLICY_FILE", str(policy))
    with pytest.raises(SettingsError) as caught:
        load_config()
    assert str(caught.value).startswith(
        f"CATALOG_FILE: {catalog}:26: alerts.rules[0].declare: under POLICY_FILE's aliases:"
    )


def test_toml_errors_name_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "catalog.toml", GOOD_TOML.replace('every = "1w"', 'every = "1 week"'))
    assert error_of(path) == (
        f"{path}:13: oncall.schedules.platform.rotation.every: '1 week' is not a duration:"
        " write 30s, 5m, 1h, 1d or 1w"
    )
    path = write(tmp_path, "catalog.toml", GOOD_TOML.replace('declare = "P1"', 'declare = "P9"'))
    assert error_of(path).startswith(
        f"{path}:21: alerts.rules[0].declare: unknown severity `P9`. Use one of: SEV1"
    )
