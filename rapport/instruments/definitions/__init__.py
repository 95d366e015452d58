"""Shipped instrument definitions (YAML). A package so that setuptools ships the files."""
