"""The severities people type, as the one parser reads them (pure: no processes)."""

from __future__ import annotations

from pathlib import Path

import pytest

from incident.declaration import DeclarationError, parse_declare
from incident.severity import (
    DEFAULT_POLICY,
    PolicyError,
    SeverityError,
    load_policy,
    parse_severity,
)


@pytest.mark.parametrize(
    ("typed", "level"),
    [
        ("SEV1", "SEV1"),
        ("SEV-1", "SEV1"),
        ("SEV 1", "SEV1"),
        ("sev1", "SEV1"),
        ("S1", "SEV1"),
        ("P0", "SEV1"),
        ("P1", "SEV1"),  # runbook 004's "data issue" is runbook 003's SEV-1 data loss
        ("P2", "SEV2"),
        ("critical", "SEV1"),
        ("High", "SEV2"),
        ("MEDIUM", "SEV3"),
        ("warning", "SEV3"),
        ("low", "SEV4"),
        ("4", "SEV4"),
    ],
)
def test_the_words_of_the_runbooks_name_a_level(typed: str, level: str) -> None:
    assert parse_severity(typed) == level


@pytest.mark.parametrize("typed", ["SEV9", "P7", "P3", "S5", "SEV²", "SEV١", "urgent", ""])
def test_anything_else_is_refused_with_the_levels(typed: str) -> None:
    with pytest.raises(SeverityError) as err:
        parse_severity(typed)
    assert "SEV1 (S1, P0, P1, critical)" in str(err.value)
    assert "SEV4 (S4, low)" in str(err.value)


@pytest.mark.parametrize(
    ("text", "severity", "title"),
    [
        ("SEV 1 Database down", "SEV1", "Database down"),
        ("P1 Database down", "SEV1", "Database down"),
        ("sev-2 Checkout slow", "SEV2", "Checkout slow"),
        ("S1: Database down", "SEV1", "Database down"),
        ("critical: Database down", "SEV1", "Database down"),
        # a word that starts a title is a title: runbook 003's own "High Error Rate"
        ("High error rate on checkout", "SEV4", "High error rate on checkout"),
        ("SEVERE latency", "SEV4", "SEVERE latency"),
        ("2 nodes down", "SEV4", "2 nodes down"),
        ("P99 latency doubled", "SEV4", "P99 latency doubled"),
        ("Database down", "SEV4", "Database down"),
    ],
)
def test_a_typed_severity_beats_the_default(text: str, severity: str, title: str) -> None:
    decl = parse_declare(text, "SEV4")
    assert (decl.severity, decl.title) == (severity, title)


@pytest.mark.parametrize("text", ["SEV9 Database down", "P7 Database down", "SEV 9 x", "S5 x"])
def test_a_severity_that_is_no_level_is_refused_not_put_in_the_title(text: str) -> None:
    with pytest.raises(DeclarationError, match="Unknown severity"):
        parse_declare(text, "SEV3")


def test_the_policy_file_changes_the_aliases(tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text(
        '[aliases]\nP3 = "SEV3"\nP1 = "SEV-2"\nurgent = "sev1"\n'
        "S1 = false\nS2 = false\nS3 = false\nS4 = false\n"
    )
    aliases = load_policy(policy).aliases
    assert parse_severity("P3", aliases) == "SEV3"
    assert parse_severity("P1", aliases) == "SEV2"
    assert parse_severity("URGENT", aliases) == "SEV1"
    with pytest.raises(SeverityError):
        parse_severity("S3", aliases)
    # removing the S codes gives a team its "S3 bucket" titles back
    assert parse_declare("S3 bucket unreachable", "SEV2", aliases).title == "S3 bucket unreachable"
    assert DEFAULT_POLICY.aliases["P1"] == "SEV1"  # the defaults are untouched


@pytest.mark.parametrize(
    "table",
    ['P3 = "SEV9"', 'SEV2 = "SEV1"', '7 = "SEV1"', "P3 = 3", '"two words" = "SEV1"'],
)
def test_a_bad_alias_names_the_file_and_key(tmp_path: Path, table: str) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text(f"[aliases]\n{table}\n")
    with pytest.raises(PolicyError, match=r"policy\.toml: aliases\."):
        load_policy(policy)
