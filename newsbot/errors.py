"""The one root error type, so the CLI can turn any expected failure into a message and an exit code.

Failures of a single source or a single Slack message are not exceptions: they are values in the
run's summary. These exceptions mean that a command cannot do its job at all.
"""


class NewsbotError(Exception):
    """Root of every error newsbot raises on purpose; `str()` is a sentence for the user."""


class ConfigError(NewsbotError):
    """Raised by config loading: a file is missing, is not valid YAML, or breaks a rule.

    The message starts with `file:line` where the problem is in a file.
    """


class StorageError(NewsbotError):
    """Raised when the database cannot be opened, is not newsbot's, or is newer than this code."""


class LockedError(NewsbotError):
    """Raised when another `newsbot run` holds the database's lock."""


class RunInterrupted(NewsbotError):  # noqa: N818 -- reads as what happened to the run
    """Raised when SIGTERM or SIGINT stopped a run: what was fetched is stored, undelivered alerts stay
    pending, the lock is released. The CLI exits with 128 + the signal's number, as a shell would."""

    def __init__(self, signal_number: int, message: str):
        super().__init__(message)
        self.signal_number = signal_number
