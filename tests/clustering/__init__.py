"""newsbot.clustering in-process."""
