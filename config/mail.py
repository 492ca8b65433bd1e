"""The development mailer (``make run``, no EMAIL_URL): each email is written whole to a file
under var/mail/ and the console says one line of it — who to, the subject, which file — instead
of printing every header and line of every email (138 emails were 3,508 lines of log in the
first two minutes of a demo)."""

from __future__ import annotations

import sys

from django.core.mail.backends.filebased import EmailBackend as FileBackend


class SummaryBackend(FileBackend):
    def send_messages(self, email_messages):
        sent = super().send_messages(email_messages)
        for message in email_messages or []:
            recipients = ", ".join(message.recipients())
            sys.stdout.write(
                f"email to {recipients}: “{message.subject}” (whole in {self._fname})\n"
            )
        sys.stdout.flush()
        return sent
