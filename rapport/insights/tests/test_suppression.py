"""Small groups never appear, and another clinic's records never reach a clinic's pages."""

from __future__ import annotations

import pytest
from django.urls import reverse

from rapport.accounts.models import Role
from rapport.insights import reports
from rapport.insights.disclosure import protected
from rapport.insights.tables import protected_row
from rapport.testing import (
    add_score,
    add_session,
    login_verified,
    make_episode,
    make_organisation,
    make_user,
    set_demographics,
)

SMALL_GROUP_TRUST = 2.718  # every client of the small group scores exactly this
OTHER_CLINIC_TRUST = 1.234


def _clinic_with_a_small_group(organisation, therapist):
    """34 clients: 30 White with varied trust, 4 Asian all scoring SMALL_GROUP_TRUST."""
    for index in range(34):
        episode = make_episode(therapist, sessions=2)
        small = index >= 30
        set_demographics(
            episode.client,
            race_ethnicity=["asian"] if small else ["white"],
            gender="woman",
            age_band="26-35",
        )
        for number in (1, 2):
            trust = SMALL_GROUP_TRUST if small else 4.0 + (index % 10) / 4 + number / 10
            add_score(episode.sessions.get(number=number), "rapport_trust", trust)


def _all_downloads(client, page: str) -> str:
    page_url = f"insights-{page}"
    html = client.get(reverse(page_url)).text
    names = [part.split('"', 1)[0] for part in html.split("?table=")[1:]]
    assert names
    return "\n".join(client.get(reverse(f"{page_url}-csv"), {"table": name}).text for name in names)


@pytest.mark.django_db
def test_a_group_of_four_never_appears_on_the_page_or_in_the_csv(client):
    organisation = make_organisation()
    therapist = make_user(organisation, Role.THERAPIST)
    supervisor = make_user(organisation, Role.SUPERVISOR)
    _clinic_with_a_small_group(organisation, therapist)
    login_verified(client, supervisor)

    page = client.get(reverse("insights-equity")).text
    downloads = _all_downloads(client, "equity")
    assert "Asian" in page  # the group is named, its figures are not
    for text in (page, downloads):
        assert "2.718" not in text
        assert "2.72" not in text

    computed = protected(reports.compute(organisation))
    trust_rows = [
        row for row in computed["pages"]["equity"]["tables"][0]["rows"] if row["group"] == "Asian"
    ]
    assert trust_rows and all(row["suppressed"] and row["n"] is None for row in trust_rows)
    assert all(row.get("mean") is None for row in trust_rows)


@pytest.mark.django_db
def test_category_rates_hide_small_counts_and_their_complements():
    import pandas as pd

    counts = pd.DataFrame({"dropped": [30, 4, 25], "stayed": [50, 40, 35]}, index=["a", "b", "c"])
    rows = [protected_row(row) for row in reports.category_rates(counts, shown=["dropped"])]
    by_group = {row["group"]: row for row in rows}
    assert by_group["b"]["count"] is None and by_group["b"]["rate"] is None
    hidden = [row for row in rows if row["suppressed"]]
    assert len(hidden) >= 2  # the 4 and at least one complement in its column
    assert all(row["count"] is None or row["count"] >= 11 for row in rows)


@pytest.mark.django_db
def test_another_clinics_records_never_appear(client):
    home = make_organisation()
    home_therapist = make_user(home, Role.THERAPIST)
    supervisor = make_user(home, Role.SUPERVISOR)
    _clinic_with_a_small_group(home, home_therapist)
    other = make_organisation()
    other_therapist = make_user(other, Role.THERAPIST)
    for _ in range(40):
        episode = make_episode(other_therapist, sessions=1)
        set_demographics(episode.client, race_ethnicity=["black"])
        add_score(episode.sessions.get(number=1), "rapport_trust", OTHER_CLINIC_TRUST)
        add_session(episode, 2)

    login_verified(client, supervisor)
    for page in ("instruments", "trust-alliance", "outcomes", "equity"):
        html = client.get(reverse(f"insights-{page}")).text + _all_downloads(client, page)
        assert "1.234" not in html and "1.23" not in html
    computed = reports.compute(home)
    assert computed["clients"] == 34
    groups = {row["group"] for row in computed["pages"]["equity"]["tables"][0]["rows"]}
    assert "Black or African American" not in groups


def test_two_category_rates_match_suppress_counts_row_by_row():
    import pandas as pd

    from rapport.psychometrics import suppress_counts

    values = [(e, o) for e in range(0, 26) for o in range(0, 26)]
    counts = pd.DataFrame(values, columns=["event", "other"])
    fast = {k: protected_row(row) for k, row in reports.two_category_rates(counts).items()}
    for index, (events, others) in enumerate(values):
        published = suppress_counts(pd.Series({"event": events, "other": others}))
        shown = not (pd.isna(published["event"]) or pd.isna(published["Total"]))
        assert fast[index]["suppressed"] == (not shown), (events, others)
