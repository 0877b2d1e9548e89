"""Logging filters."""

import logging
import re

# Paths that carry a ticket's tracking code, which is the key to its public page.
CODE_IN_PATH = re.compile(r"(/(?:track|m/tickets)/)[^/\s\"']+")


class RedactTrackingCodes(logging.Filter):
    """Replace tracking codes in logged request paths with a placeholder."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = CODE_IN_PATH.sub(r"\1<code>", message)
        if redacted != message:
            record.msg = redacted
            record.args = None
        return True
