"""Keeping password links out of the servers' access logs: a link's token is in its path
(`/welcome/<token>/`), and every access log line quotes the path."""

from __future__ import annotations

import logging
import re

HIDDEN = "[hidden]"
_TOKEN_IN_PATH = re.compile(r"(/welcome/)[A-Za-z0-9_-]+")

# The access loggers of the servers the dashboard runs under: uvicorn (production, the browser
# tests), Django's runserver and daphne's (`make run`).
ACCESS_LOGGERS = ("uvicorn.access", "django.server", "django.channels.server", "daphne.server")


def hide(text: str) -> str:
    return _TOKEN_IN_PATH.sub(rf"\g<1>{HIDDEN}", text)


class HideLinkTokens(logging.Filter):
    """Replace a password link's token in a record's message and arguments. The arguments stay
    a tuple of the same length: uvicorn's access formatter unpacks them."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = hide(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(hide(arg) if isinstance(arg, str) else arg for arg in record.args)
        return True


def hide_tokens_in_access_logs() -> None:
    for name in ACCESS_LOGGERS:
        logging.getLogger(name).addFilter(HideLinkTokens())
