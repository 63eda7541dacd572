"""Status checks from Slack (`/incident check`, the card's Run checks): the catalog's
services checked at once, recorded on the timeline, posted in the incident channel."""
