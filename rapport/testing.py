"""Small builders for tests: an organisation, staff in every role, clients with episodes.

Used by every app's tests so that "owner / colleague / outsider" set-ups read the same
everywhere. Synthetic data only.
"""

from __future__ import annotations

import datetime
import itertools
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from html.parser import HTMLParser

from django.utils import timezone

from rapport.accounts.models import Role, User
from rapport.clinic.models import (
    Administration,
    AdministrationStatus,
    Client,
    Episode,
    MeasurementPlan,
    Organisation,
    PlanEntry,
    Session,
    SessionStatus,
)
from rapport.core.instruments import instruments

_counter = itertools.count(1)
PASSWORD = "correct horse battery staple"  # noqa: S105 - test accounts only


def make_organisation(slug: str | None = None) -> Organisation:
    slug = slug or f"org{next(_counter)}"
    organisation = Organisation.objects.create(slug=slug, name=f"Clinic {slug}")
    plan = MeasurementPlan.objects.create(organisation=organisation, name="Plan", is_default=True)
    for position, (instrument_id, every) in enumerate(
        [("rapport_trust", 1), ("rapport_alliance", 1), ("phq9", 1), ("gad7", 4)]
    ):
        PlanEntry.objects.create(
            plan=plan, instrument_id=instrument_id, every_n_sessions=every, position=position
        )
    return organisation


def make_user(organisation: Organisation, role: str = Role.THERAPIST, **fields) -> User:
    username = fields.pop("username", f"{role}{next(_counter)}")
    return User.objects.create_user(
        username=username, password=PASSWORD, organisation=organisation, role=role, **fields
    )


def make_episode(
    therapist: User, *, record_number: str | None = None, sessions: int = 0
) -> Episode:
    organisation = therapist.organisation
    client = Client.objects.create(
        organisation=organisation, record_number=record_number or f"R{next(_counter):06d}"
    )
    episode = Episode.objects.create(
        client=client,
        therapist=therapist,
        plan=organisation.plans.get(is_default=True),
        started_on=datetime.date(2026, 1, 5),
    )
    for number in range(1, sessions + 1):
        add_session(episode, number)
    return episode


def add_session(episode: Episode, number: int, status: str = SessionStatus.ATTENDED) -> Session:
    when = timezone.make_aware(datetime.datetime(2026, 1, 5, 10) + datetime.timedelta(weeks=number))
    return Session.objects.create(episode=episode, number=number, scheduled_at=when, status=status)


def add_score(
    session: Session, instrument_id: str, total: float, construct: str = "trust"
) -> Administration:
    return Administration.objects.create(
        session=session,
        instrument_id=instrument_id,
        instrument_version="1",
        construct=construct,
        status=AdministrationStatus.COMPLETED,
        completed_at=session.scheduled_at,
        total=total,
    )


def reads_in(user: User, language: str) -> None:
    """Have staff member ``user`` read Rapport in ``language`` (their account setting)."""
    user.language = language
    user.save(update_fields=["language"])


def login_verified(client, user: User) -> None:
    """Sign ``user`` in on the test ``client`` with a confirmed authenticator app (MFA done).

    Staff pages need both steps (rapport.security.middleware.StaffGateMiddleware); use
    ``client.force_login`` alone to test the password-only state.
    """
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="test app", confirmed=True)
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()


@dataclass
class TwoClinics:
    """Every persona the access rules distinguish, in two organisations.

    ``owner`` treats ``owner_client``; ``colleague`` is another therapist in the same
    clinic; ``supervisor`` supervises ``owner``; ``outsider`` works at the other clinic
    and treats ``outsider_client``. Every staff member has a confirmed authenticator app.
    """

    organisation: Organisation
    owner: User
    colleague: User
    supervisor: User
    clinic_admin: User
    researcher: User
    outsider: User
    owner_client: Client
    owner_episode: Episode
    outsider_client: Client

    @property
    def owner_session(self) -> Session:
        return self.owner_episode.sessions.get(number=1)

    @property
    def owner_administration(self) -> Administration:
        return self.owner_session.administrations.get()

    @property
    def staff(self) -> dict[str, User]:
        return {
            "owner": self.owner,
            "colleague": self.colleague,
            "supervisor": self.supervisor,
            "clinic_admin": self.clinic_admin,
            "researcher": self.researcher,
            "outsider": self.outsider,
        }


def make_two_clinics() -> TwoClinics:
    from django_otp.plugins.otp_totp.models import TOTPDevice

    organisation = make_organisation()
    supervisor = make_user(organisation, Role.SUPERVISOR)
    owner = make_user(organisation, Role.THERAPIST, supervisor=supervisor)
    owner_episode = make_episode(owner, sessions=2)
    add_score(owner_episode.sessions.get(number=1), "rapport_trust", 5.5)
    other = make_organisation()
    outsider = make_user(other, Role.THERAPIST)
    clinics = TwoClinics(
        organisation=organisation,
        owner=owner,
        colleague=make_user(organisation, Role.THERAPIST, supervisor=supervisor),
        supervisor=supervisor,
        clinic_admin=make_user(organisation, Role.CLINIC_ADMIN),
        researcher=make_user(organisation, Role.RESEARCHER),
        outsider=outsider,
        owner_client=owner_episode.client,
        owner_episode=owner_episode,
        outsider_client=make_episode(outsider, sessions=1).client,
    )
    for user in clinics.staff.values():
        TOTPDevice.objects.create(user=user, name="test app", confirmed=True)
    return clinics


def totp_code(device, *, unused: bool = False) -> str:
    """The code an authenticator app would show now for ``device`` (a TOTPDevice).

    A code is accepted once (replay protection); ``unused=True`` gives the next time
    step's code when this step's was already used, as an app would show half a minute
    later (within the device's tolerance of one step).
    """
    import time

    from django_otp.oath import TOTP

    device.refresh_from_db()
    clock = TOTP(device.bin_key, step=device.step, t0=device.t0, digits=device.digits)
    if unused and clock.t() <= device.last_t:
        clock.time = time.time() + device.step
    return f"{clock.token():0{device.digits}d}"


def schedule_next_session(episode: Episode, when: datetime.datetime | None = None) -> Session:
    """Schedule ``episode``'s next session (in an hour unless ``when``), as staff would."""
    number = (
        episode.sessions.order_by("-number").values_list("number", flat=True).first() or 0
    ) + 1
    when = when or timezone.now() + datetime.timedelta(hours=1)
    return Session.objects.create(episode=episode, number=number, scheduled_at=when)


def issue_checkin_link(episode: Episode, *, channel: str = "cli", **kwargs):
    """A fresh check-in link (with its token) for ``episode``'s next due session.

    Schedules the next session first when none is due (check-ins never invent one).
    """
    from rapport.checkin.links import NoDueSessionError, due_session, issue_link

    try:
        session = due_session(episode)
    except NoDueSessionError:
        schedule_next_session(episode)
        session = due_session(episode)  # creates its due questionnaires from the plan
    return issue_link(session, channel=channel, **kwargs)


def add_checkin_link(clinics: TwoClinics):
    """Give ``clinics`` an open check-in link for the owner's client.

    Sets ``clinics.checkin_link`` (the issued link with its token, what a link holder
    has) and ``clinics.owner_link`` (the stored link row), and returns the issued link.
    """
    issued = issue_checkin_link(clinics.owner_episode)
    clinics.checkin_link = issued  # type: ignore[attr-defined]
    clinics.owner_link = issued.link  # type: ignore[attr-defined]
    return issued


def api_token(user: User, scopes: tuple[str, ...] = ("read",), days: int = 30) -> str:
    """A new API token for ``user`` (the raw ``rpt_...`` string, shown once in real use)."""
    from rapport.api.tokens import create_token

    _token, raw = create_token(user, name="test integration", scopes=scopes, days=days)
    return raw


def bearer(raw_token: str) -> dict[str, str]:
    """Headers for the Django test client: ``client.get(url, headers=bearer(token))``."""
    return {"Authorization": f"Bearer {raw_token}"}


# --- insights builders: demographics and item answers for aggregate-statistics tests ---


def set_demographics(client: Client, *, race_ethnicity=(), gender="", language="en", age_band=""):
    """Give ``client`` coarse demographic codes (see rapport.clinic.demographics)."""
    from rapport.clinic.models import ClientDemographics

    ClientDemographics.objects.update_or_create(
        client=client,
        defaults={
            "race_ethnicity": list(race_ethnicity),
            "gender": gender,
            "preferred_language": language,
            "age_band": age_band,
        },
    )


def add_administration(
    session: Session, instrument_id: str, version: str, **fields
) -> Administration:
    """An administration of ``instrument_id`` in ``version`` (pending unless ``fields``
    say otherwise), with the installed instrument's construct; for data migrations'
    tests."""
    return Administration.objects.create(
        session=session,
        instrument_id=instrument_id,
        instrument_version=version,
        construct=instruments()[instrument_id].construct,
        **fields,
    )


def add_answers(session: Session, instrument, answers: dict) -> Administration:
    """A completed administration of ``instrument`` with ``answers``, scored by the instrument."""
    administration = Administration(
        session=session,
        instrument_id=instrument.id,
        instrument_version=instrument.version,
        construct=instrument.construct,
        status=AdministrationStatus.COMPLETED,
        completed_at=session.scheduled_at,
        answers=dict(answers),
    )
    administration.apply_scores(instrument.score(answers))
    administration.save()
    return administration


# --- end of insights builders


def run_in_threads(work: Callable[[], None], threads: int) -> list[BaseException]:
    """Run ``work`` in ``threads`` threads at once, each on its own database connection
    (as gunicorn's workers and threads are); returns what the threads raised."""
    from django.db import connections

    errors: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except BaseException as error:  # returned to the test, which asserts on it
            errors.append(error)
        finally:
            connections.close_all()

    workers = [threading.Thread(target=run) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return errors


@contextmanager
def transaction_open_elsewhere(work: Callable[[], None]) -> Iterator[None]:
    """Run ``work`` in a transaction on another connection, and keep that transaction
    open (uncommitted) while the ``with`` block runs; it commits when the block ends.

    Raises AssertionError if ``work`` or the commit failed. The block must not wait for
    anything the open transaction holds: it is released only when the block ends.
    """
    from django.db import connections, transaction

    done, release, errors = threading.Event(), threading.Event(), []

    def hold() -> None:
        try:
            with transaction.atomic():
                work()
                done.set()
                release.wait(timeout=60)
        except BaseException as error:  # reported to the test below
            errors.append(error)
        finally:
            done.set()
            connections.close_all()

    def raise_errors() -> None:
        if errors:
            raise AssertionError(f"the other connection's transaction failed: {errors[0]!r}")

    holder = threading.Thread(target=hold)
    holder.start()
    done.wait(timeout=60)
    try:
        raise_errors()
        yield
    finally:
        release.set()
        holder.join()
    raise_errors()


class _FormReader(HTMLParser):
    """What a browser submits for the first ``<form>`` with ``class_name`` on a page."""

    def __init__(self, class_name: str) -> None:
        super().__init__()
        self.class_name, self.inside, self.done = class_name, False, False
        self.data: dict[str, str] = {}
        self.select: str | None = None
        self.options: list[tuple[str, bool]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {name: value or "" for name, value in attrs}
        if tag == "form" and not self.done:
            self.inside = self.class_name in found.get("class", "").split()
        if not self.inside:
            return
        name = found.get("name", "")
        if tag == "input" and name:
            if found.get("type") not in ("checkbox", "radio") or "checked" in found:
                self.data[name] = found.get("value", "")
        elif tag == "select":
            self.select, self.options = name, []
        elif tag == "option" and self.select is not None:
            self.options.append((found.get("value", ""), "selected" in found))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self.inside:
            self.inside, self.done = False, True
        elif tag == "select" and self.select is not None:
            chosen = [value for value, selected in self.options if selected]
            # Without a selected option a browser submits the first one.
            self.data[self.select] = (chosen or [value for value, _ in self.options] or [""])[0]
            self.select = None


def browser_submission(page: str, form_class: str) -> dict[str, str]:
    """The fields a browser would submit, untouched, from the form of class ``form_class``
    on ``page`` (text and hidden inputs, checked boxes, each select's selected or first
    option), for tests of "save the page as it is"."""
    reader = _FormReader(form_class)
    reader.feed(page)
    return reader.data
