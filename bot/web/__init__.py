"""Post-mortem web pages and API; `bot.web.routes.postmortem_routes(services)` gives the
routes the server mounts through `EXTRA_ROUTES`."""
