"""Status checks: adapters that look at a service from outside and report a CheckResult."""
