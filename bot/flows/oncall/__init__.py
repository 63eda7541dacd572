"""Paging: an incident of a service with an escalation policy pages its steps until someone
acknowledges (`page.start_escalation` after declaring, `loop.run` for the later steps), and
people page by hand (`page.page_by_hand`). Every page is a row of `pages` and a `page`
event; once acknowledged, the page DMs say by whom and lose their button
(`acked.show_acknowledged`, swept by the loop)."""
