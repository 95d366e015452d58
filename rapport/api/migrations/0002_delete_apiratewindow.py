"""API request counts move to the shared rate-limit counters (security.0004)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("api", "0001_initial")]

    operations = [migrations.DeleteModel(name="ApiRateWindow")]
