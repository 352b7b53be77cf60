"""The package's own error type: a known failure whose message already says what to do.

Every error kanmix raises on purpose for bad data, a diverged run, or an unreadable record or
checkpoint derives from :class:`KanmixError`. The command-line tools print such an error as
one line and exit with status 1; anything else is a bug and keeps its traceback.
"""


class KanmixError(Exception):
    """A known failure (missing data, a diverged run, a damaged record); its message names the fix."""
