"""The insights refresh can be limited to one clinic: ``insights_refresh_stale(org)``.

The insights pages of one clinic refreshed every clinic's marked pairs, so on an
installation with several clinics a small clinic's page could wait for a large one's
backlog, and that clinic's writers for the refresh's locks. The function now takes an
optional organisation id; without one (the bulk writers) it refreshes every clinic as
before. The reasoning of ``rapport.insights.summaries`` holds pair by pair, so it holds for
any subset of the pairs.
"""

import importlib

from django.db import migrations

stale_summaries = importlib.import_module("rapport.insights.migrations.0003_staleepisodesummary")
episode_summaries = importlib.import_module("rapport.insights.migrations.0002_episodesummary")

FORWARD = "DROP FUNCTION insights_refresh_stale();\n" + stale_summaries.refresh_stale_function(
    scoped=True
)
BACKWARD = "DROP FUNCTION insights_refresh_stale(bigint);\n" + (
    stale_summaries.refresh_stale_function(scoped=False)
)


class Migration(migrations.Migration):
    dependencies = [("insights", "0003_staleepisodesummary")]

    operations = [
        migrations.RunPython(
            episode_summaries._on_postgresql(FORWARD),
            episode_summaries._on_postgresql(BACKWARD),
        ),
    ]
