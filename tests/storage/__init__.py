"""newsbot.storage in-process."""
