"""``/api/v1/``: mounted by rapport/urls.py; the namespace is the one ninja reverses in."""

from rapport.api.main import URL_NAMESPACE, url_patterns

app_name = URL_NAMESPACE
urlpatterns = url_patterns()
