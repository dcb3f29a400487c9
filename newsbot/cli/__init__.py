"""The `newsbot` command: entry point, commands and exit codes, the demo, status views."""
