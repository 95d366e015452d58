"""Password rules beyond Django's: no repeats or sequences, nothing easy to guess.

Both rules use zxcvbn (Wheeler 2016), which ships its lists offline: 30,000 of the most
common passwords leaked from other sites (Burnett's ten-million-password corpus), with
the usual variants (capitals, l33t spellings, a year or digits added), plus common words
and names. Nothing is sent anywhere. Length beats complexity (NIST SP 800-63B 5.1.1.2): a
few unrelated words pass without any digit or capital; there are no composition rules.

References: D. L. Wheeler, "zxcvbn: Low-budget password strength estimation", USENIX
Security 2016; NIST SP 800-63B (2017), section 5.1.1.2.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from zxcvbn import matching, zxcvbn

# zxcvbn's matching grows quickly with length; the first characters decide whether a
# password is a pattern, and a longer one is never weaker for what follows.
ANALYSED_LENGTH = 64


def _analysed(password: str) -> str:
    return password[:ANALYSED_LENGTH]


def _pattern_coverage(password: str) -> int:
    """How many characters of ``password`` belong to a repeat, a sequence or a key row."""
    covered: set[int] = set()
    for match in (
        *matching.repeat_match(password),
        *matching.sequence_match(password),
        *matching.spatial_match(password),
    ):
        covered.update(range(match["i"], match["j"] + 1))
    return len(covered)


class RepetitionAndSequenceValidator:
    """Refuse a password that is mostly repeats (aaaa, abab), sequences (abcd, 4321) or
    rows of keys (qwerty, asdf): more than ``max_share`` of its characters."""

    def __init__(self, max_share: float = 0.5):
        if not 0 < max_share <= 1:
            raise ValueError("max_share must be a fraction between 0 and 1")
        self.max_share = max_share

    def validate(self, password: str, user=None) -> None:
        analysed = _analysed(password)
        if analysed and _pattern_coverage(analysed) > self.max_share * len(analysed):
            raise ValidationError(
                _(
                    "This password is mostly a repeated character or pattern, a sequence "
                    "(like abcd or 1234) or a row of keys. Choose a few unrelated words instead."
                ),
                code="password_repetitive",
            )

    def get_help_text(self) -> str:
        return _("Your password cannot be mostly repeated characters, a sequence or a key row.")


class GuessablePasswordValidator:
    """Refuse a password found in leaked-password lists, or otherwise easy to guess.

    ``min_score`` is zxcvbn's 0-4 score; 3 means at least 10^8 guesses, out of reach of
    online guessing (which the lockout limits further) and costly offline against Argon2.
    """

    def __init__(self, min_score: int = 3):
        if min_score not in range(5):
            raise ValueError("min_score must be one of zxcvbn's scores, 0 to 4")
        self.min_score = min_score

    def validate(self, password: str, user=None) -> None:
        result = zxcvbn(_analysed(password))
        if result["score"] >= self.min_score:
            return
        leaked = any(match.get("dictionary_name") == "passwords" for match in result["sequence"])
        if leaked:
            raise ValidationError(
                _(
                    "This password is in lists of passwords leaked from other sites, or is "
                    "a small change to one. Choose a few unrelated words instead."
                ),
                code="password_leaked",
            )
        raise ValidationError(
            _("This password is too easy to guess. A few unrelated words make a strong one."),
            code="password_guessable",
        )

    def get_help_text(self) -> str:
        return _("Your password cannot be a leaked password or a small change to one.")
