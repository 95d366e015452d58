"""Caseload flag rules (pure Python, no Django). See docs/flags.md."""

from rapport.alerts.rules import (
    DEFAULT_RULES,
    ClientHistory,
    Flag,
    FlagKind,
    FlagRules,
    FlagRulesError,
    Score,
    SessionRecord,
    evaluate,
)

__all__ = [
    "DEFAULT_RULES",
    "ClientHistory",
    "Flag",
    "FlagKind",
    "FlagRules",
    "FlagRulesError",
    "Score",
    "SessionRecord",
    "evaluate",
]
