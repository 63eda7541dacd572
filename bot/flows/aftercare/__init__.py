"""The watch after resolution (runbook 003): `loop` runs the service's checks through the
window and offers *Reopen* on a failure; `reopen` moves the incident back to Mitigating."""
