"""Prometheus metrics served on /metrics."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

REQUESTS = Counter("warroom_slack_requests_total", "Slack deliveries", ["kind", "outcome"])
INCIDENTS_DECLARED = Counter("warroom_incidents_declared_total", "Incidents declared", ["severity"])
SLACK_STEP_FAILURES = Counter(
    "warroom_slack_step_failures_total", "Declare steps Slack refused", ["step"]
)
ALERTS_RECEIVED = Counter(
    "warroom_alerts_received_total", "Alerts received from monitoring", ["source", "outcome"]
)
TIMELINE_EVENTS = Counter("warroom_timeline_events_total", "Timeline events stored", ["kind"])
HANDLER_SECONDS = Histogram(
    "warroom_handler_seconds", "Time spent after the ack doing the work", ["kind"]
)
