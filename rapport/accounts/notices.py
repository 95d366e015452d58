"""E-mails that tell staff about changes to their own or their clinic's access.

Sent so that nothing an admin does to an account goes unseen: a reset of someone's
sign-in reaches that person; a new supervisor reaches the clinic's supervisors and
admins. They carry names and dates, never client data. A delivery failure is logged and
does not undo the change: the audit trail and the staff page keep the record.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.conf import settings
from django.core.mail import send_mail
from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.functional import Promise as StrPromise

from rapport.accounts.models import Role, User

logger = logging.getLogger(__name__)


def send_notice(
    recipients: Iterable[User], subject: str | StrPromise, template: str, context: dict
) -> int:
    """E-mail ``template`` (plain text) to each recipient with an address; how many sent.

    Each e-mail is written in its recipient's own language (``User.language``): pass the
    ``subject`` as ``gettext_lazy`` so that it is translated for each of them too.
    """
    sent = 0
    for recipient in recipients:
        if not recipient.email:
            continue
        with translation.override(getattr(recipient, "language", "") or settings.LANGUAGE_CODE):
            text = str(subject)
            body = render_to_string(
                template, {**context, "recipient": recipient, "site_url": settings.SITE_URL}
            )
        try:
            send_mail(text, body, settings.DEFAULT_FROM_EMAIL, [recipient.email])
        except OSError:
            logger.exception("account notice %s could not be sent", template)
            continue
        sent += 1
    return sent


def clinic_overseers(organisation_id: int, *, excluding: Iterable[User] = ()) -> QuerySet[User]:
    """The clinic's active supervisors and admins, who hear of every new supervisor."""
    return User.objects.filter(
        organisation_id=organisation_id,
        role__in=(Role.SUPERVISOR, Role.CLINIC_ADMIN),
        is_active=True,
    ).exclude(pk__in=[user.pk for user in excluding])
