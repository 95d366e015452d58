"""Rapport: measurement-based care centred on the client's trust in the therapist."""

__version__ = "0.1.0.dev0"
