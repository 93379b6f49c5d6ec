"""An e-mail backend that accepts two mails, then is interrupted (Ctrl-C, a worker's shutdown)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from django.core.mail.backends.base import BaseEmailBackend


class InterruptingBackend(BaseEmailBackend):
    sent: ClassVar[list[str]] = []

    def send_messages(self, email_messages: Sequence[Any]) -> int:
        if len(self.sent) == 2:
            raise KeyboardInterrupt
        self.sent.extend(message.extra_headers["Message-ID"] for message in email_messages)
        return len(email_messages)
