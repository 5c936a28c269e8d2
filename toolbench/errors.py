"""The project's user-facing error type.

Raise a subclass of :class:`ToolbenchError` for bad input or configuration: its message says what is wrong,
where (file, line, field) and what to do. The CLI prints it without a traceback and exits with status 2.
"""


class ToolbenchError(Exception):
    """A problem the user can fix; the message names the file/field and what to do."""
