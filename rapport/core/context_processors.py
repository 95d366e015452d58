from django.conf import settings


def rapport(request):
    """Values every page template needs: the demo banner and the product version."""
    from rapport import __version__

    return {"DEMO_MODE": settings.DEMO_MODE, "RAPPORT_VERSION": __version__}
