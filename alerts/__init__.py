"""Delivery of alerts: Block Kit formatting, Slack (slack-sdk) and terminal sinks."""
