"""The CLI run as cron runs it, in a subprocess, against local feed servers and a fake Slack: what proves
the promises."""
