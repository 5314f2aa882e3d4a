"""The one exception type rlviz raises for bad input, so the CLI can print it as one line."""


class RlvizError(ValueError):
    """A problem with what the user asked for; the message says what to do about it."""
