"""Rapport's own number formats per language (``settings.FORMAT_MODULE_PATH``); Django's
apply to everything not named here (dates, times)."""
