"""newsbot.pipeline in-process."""
