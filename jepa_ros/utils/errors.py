# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
Expected failures become one line and exit status 2; bugs keep their traceback.

Every CLI subcommand and node ``main()`` goes through :func:`run_main`. An *expected* failure is
one the user can fix from its message: a :class:`UserError` (``ConfigError``, ``CheckpointError``,
``EpisodeError``, ``ModelError`` all derive from it) or a missing / unreadable path. Anything
else is a bug in jepa_ros and is re-raised with its traceback, so it gets reported rather than
hidden behind a friendly line.
"""

import re
import sys

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130

# Path problems the user fixes by giving another path or fixing permissions.
EXPECTED_OS_ERRORS = (FileNotFoundError, NotADirectoryError, IsADirectoryError,
                      PermissionError, FileExistsError)


class UserError(Exception):
    """A failure the user can fix; the message says what is wrong and what to do."""


def is_expected(exc: BaseException) -> bool:
    """Return True for failures that deserve one line instead of a traceback."""
    return isinstance(exc, (UserError,) + EXPECTED_OS_ERRORS)


def one_line(exc: BaseException) -> str:
    """Return the message of ``exc`` on one line (no newlines, runs of spaces collapsed)."""
    text = str(exc) or type(exc).__name__
    if isinstance(exc, OSError) and exc.filename and str(exc.filename) not in text:
        text = f'{text}: {exc.filename}'
    return re.sub(r'\s+', ' ', text).strip()


def report(prog: str, exc: BaseException, stream=None) -> int:
    """Print ``prog: error: <message>`` for an expected failure and return exit status 2."""
    print(f'{prog}: error: {one_line(exc)}', file=stream or sys.stderr)
    return EXIT_USER_ERROR


def run_main(prog: str, func, *args, **kwargs) -> int:
    """
    Call ``func(*args, **kwargs)`` and turn its outcome into a process exit status.

    Returns its int result (None counts as 0), 2 with one line on stderr for an expected
    failure, 130 on Ctrl-C; anything else propagates with its traceback.
    """
    try:
        return int(func(*args, **kwargs) or 0)
    except KeyboardInterrupt:
        print(f'{prog}: interrupted', file=sys.stderr)
        return EXIT_INTERRUPTED
    except BaseException as exc:  # noqa: B902 - sorted into expected / bug right here
        if is_expected(exc):
            return report(prog, exc)
        raise
