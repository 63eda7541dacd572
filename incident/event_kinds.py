"""The timeline's event kinds: the contract between what records events (commands, buttons,
Slack events, checks, operations) and what reads them (card, reminders, post-mortem)."""

from __future__ import annotations

DECLARED = "declared"  # text=title, data={severity, commander, impact}
SETUP_PREFIX = (
    "setup."  # setup.channel, setup.invite, setup.topic, setup.card, setup.pin, setup.announce
)
SETUP_FAILED = "setup.failed"  # data={step, error}
ACKNOWLEDGED = "acknowledged"
UPDATE = "update"  # text=message, data={status?, impact?, public?: true (status page)}
STATUS = "status"  # data={before, after}
SEVERITY = "severity"  # data={before, after}
COMMANDER = "commander"  # data={before, after}
IMPACT = "impact"  # data={before, after}
NOTE = "note"  # text, data={cause_candidate: bool}
PINNED = "pinned"  # a 📌'd message: actor=author, text, data={channel, ts, pinned_by}
PARTICIPANT = "participant"  # actor=user who joined
RESOLVED = "resolved"  # text=summary
# back to mitigating after resolution: data={before, after, resolved_at}
REOPENED = "reopened"
# the watch after resolution (bot.flows.aftercare): data={outcome: passed|failed, window_min}
AFTERCARE = "aftercare"
REMINDER = "reminder"  # data={kind: ack|update|monitoring, due}
ESCALATION = "escalation"  # data={deadline, group}
# a page (incident.models.Page): actor=who paged by hand, text=message, data={target, kind,
# ref, policy, step, round}
PAGE = "page"
CHECK = "check"  # data={results: [CheckResult dicts]}
ACTION = "action"  # data={action, target, before, after, outcome, approved_by, refused_reason?}
ACTION_ITEM = "action_item"  # text, data={owner}
DENIED = "denied"  # an audited refusal: data={what, reason}
# actor=Alertmanager|Sentry, text, data={source, name, status, summary, labels,
# generator_url, starts_at, ends_at, fingerprint}
ALERT = "alert"
ALERTS_RESOLVED = "alerts_resolved"  # every alert resolved, the commander asked: data={count}
SUSPECT_CHANGE = "suspect_change"  # text, data={rollout: incident.changes.Rollout dict}
