"""Refusals whose message is fit for Slack, shared by every step of an operation."""

from __future__ import annotations


class OpsError(Exception):
    """A refusal whose message is fit for Slack."""


class PolicyRefusal(OpsError):
    """The operations policy forbids this target or value."""


class AlreadyDone(OpsError):
    """The Deployment already is as planned, or this very plan was already confirmed."""
