"""newsbot.cli in-process: the command line, `check`'s report and `search`."""
