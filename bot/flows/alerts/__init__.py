"""Alert intake: Alertmanager and Sentry webhooks (bot.web.alerts) become timeline entries of
the open incident of their service, new incidents, or offers to declare one. See intake."""
