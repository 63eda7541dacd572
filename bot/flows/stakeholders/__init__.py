"""Stakeholder summaries: one message per incident per stakeholder channel (from the catalog's
``stakeholders:``), posted at declaration and edited in place on severity, status, public
update, commander and resolution changes. See `summary.refresh`."""
