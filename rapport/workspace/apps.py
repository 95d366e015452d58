from django.apps import AppConfig


class WorkspaceConfig(AppConfig):
    name = "rapport.workspace"
    label = "workspace"
    verbose_name = "Therapist workspace"

    def ready(self) -> None:
        from django.utils.translation import get_language, gettext, ngettext

        from rapport.alerts import wording

        # The flag rules are pure Python; their messages follow the request's language.
        wording.use(gettext, ngettext, get_language)
