"""newsbot.alerts in-process: formatting, digests, never twice (against a fake Slack through slack-sdk)."""
