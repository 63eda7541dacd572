"""Runbook operations from Slack (rollback, scale, restart), one concern per module.

A change goes `plan` (locate the Deployment, read what would change, describe it) → the
person confirms → `execute` (decide who may, lock, re-read, apply) → `follow` (watch the
rollout, check health, record the verdict). `policy` makes the one decision per request that
says which rule allowed or refused it; `request` is what the Confirm button carries.
"""
