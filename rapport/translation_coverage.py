"""Which messages client-facing code uses, and whether a translation catalogue covers them.

Used by the tests that fail on an untranslated string a client could see
(``rapport/checkin/tests/test_translations.py``). Three questions:

* :func:`template_msgids` and :func:`module_msgids`: the msgids a template or a Python
  module marks for translation, found the way ``makemessages`` finds them (Django's own
  ``templatize`` for templates; ``_``/``gettext``/``gettext_lazy`` calls for modules).
* :func:`read_po`: the translated entries of a ``.po`` catalogue (fuzzy and empty
  entries count as untranslated, as they do for ``msgfmt``).
* :func:`hard_coded_text`: text in a template that is not marked for translation at all,
  which no catalogue check can see.
"""

from __future__ import annotations

import ast
import re
from html.parser import HTMLParser
from pathlib import Path

from django.utils.translation.template import templatize

GETTEXT_NAMES = frozenset({"_", "gettext", "gettext_lazy", "gettext_noop"})
# Plural forms: the singular is the msgid a catalogue is keyed by.
NGETTEXT_NAMES = frozenset({"ngettext", "ngettext_lazy"})
_LITERAL = r"(u?'(?:[^'\\]|\\.)*'|u?\"(?:[^\"\\]|\\.)*\")"
# templatize writes each message as a Python literal: gettext(u'...'), _("...") for a
# translated constant in a tag or filter, ngettext(u'one', u'many', count) for plurals.
_TEMPLATIZED = re.compile(rf"(?<![\w.])(?:gettext|_)\(\s*{_LITERAL}\s*\)")
_TEMPLATIZED_PLURAL = re.compile(rf"\bngettext\(\s*{_LITERAL}\s*,")
_DJANGO_MARKUP = re.compile(r"{%.*?%}|{{.*?}}|{#.*?#}", re.DOTALL)
_BLOCK_TRANSLATE = re.compile(
    r"{%\s*blocktrans(?:late)?\b.*?%}.*?{%\s*endblocktrans(?:late)?\s*%}", re.DOTALL
)
_COMMENT_BLOCK = re.compile(r"{%\s*comment\s*%}.*?{%\s*endcomment\s*%}", re.DOTALL)
# A query-string key written in a block that builds a URL (``screen={{ n }}&amp;``).
_QUERY_KEY = re.compile(r"\b[\w-]+=")
# Attributes whose text a person reads or hears.
READABLE_ATTRIBUTES = frozenset({"alt", "title", "aria-label", "placeholder"})


class CatalogueError(ValueError):
    """A ``.po`` file this reader cannot make sense of."""


def template_msgids(path: Path) -> set[str]:
    """The msgids ``{% translate %}`` and ``{% blocktranslate %}`` mark in a template."""
    code = templatize(path.read_text(encoding="utf-8"))
    literals = _TEMPLATIZED.findall(code) + _TEMPLATIZED_PLURAL.findall(code)
    return {ast.literal_eval(literal) for literal in literals}


def module_msgids(path: Path) -> set[str]:
    """The string literals passed to ``_``/``gettext``/``gettext_lazy`` in a module, and
    the singular of each ``ngettext``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = set()
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and node.args):
            continue
        name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
        first = node.args[0]
        if name in (GETTEXT_NAMES | NGETTEXT_NAMES) and isinstance(first, ast.Constant):
            if not isinstance(first.value, str):
                raise CatalogueError(f"{path}: {name}() of a non-string at line {node.lineno}")
            found.add(first.value)
    return found


def read_po(path: Path) -> dict[str, str]:
    """``{msgid: msgstr}`` of the translated entries of a ``.po`` file.

    Entries marked ``#, fuzzy`` and entries with an empty ``msgstr`` are left out: the
    compiled catalogue would not use them either. The header entry (empty msgid) is
    skipped. A plural entry (``msgid_plural``) is keyed by its singular and counts as
    translated only when every ``msgstr[n]`` is filled; its value is ``msgstr[0]``.
    """
    entries: dict[str, str] = {}
    for number, block in enumerate(re.split(r"\n\s*\n", path.read_text(encoding="utf-8"))):
        fields: dict[str, str] = {}
        fuzzy = False
        current = None
        for line in block.splitlines():
            line = line.strip()
            if line.startswith("#,") and "fuzzy" in line:
                fuzzy = True
            if not line or line.startswith("#"):
                continue
            keyword, _, rest = line.partition(" ")
            if line.startswith('"'):
                if current is None:
                    raise CatalogueError(f"{path}: entry {number}: text before a keyword")
                fields[current] += ast.literal_eval(line)
            elif keyword in {"msgid", "msgstr", "msgctxt", "msgid_plural"} or re.fullmatch(
                r"msgstr\[\d\]", keyword
            ):
                if keyword in fields:
                    # msgfmt accepts it, but one entry would silently hide the next here.
                    raise CatalogueError(
                        f"{path}: entry {number}: two entries with no blank line between them"
                    )
                current = keyword
                fields[current] = ast.literal_eval(rest)
            else:
                raise CatalogueError(f"{path}: entry {number}: unsupported line {line[:40]!r}")
        if "msgid" not in fields or not fields["msgid"]:
            continue
        if "msgctxt" in fields:
            raise CatalogueError(f"{path}: message contexts are not used by Rapport")
        if fields["msgid"] in entries:
            raise CatalogueError(f"{path}: {fields['msgid']!r} appears twice")
        if "msgid_plural" in fields:
            forms = [value for key, value in sorted(fields.items()) if key.startswith("msgstr[")]
            if len(forms) < 2:
                raise CatalogueError(
                    f"{path}: {fields['msgid']!r}: a plural needs msgstr[0] and [1]"
                )
            if not fuzzy and all(forms):
                entries[fields["msgid"]] = forms[0]
        elif not fuzzy and fields.get("msgstr"):
            entries[fields["msgid"]] = fields["msgstr"]
    return entries


class _ReadableText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.texts: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.texts += [value for name, value in attrs if name in READABLE_ATTRIBUTES and value]

    def handle_data(self, data):
        self.texts.append(data)


def hard_coded_text(path: Path, allowed: frozenset[str] = frozenset()) -> list[str]:
    """Words of a template a reader sees that are not marked for translation.

    Template tags, variables and comments are removed first (so ``{% translate %}``
    text, and values filled in at render time, are not counted); what is left of the
    HTML's text and readable attributes should hold no letters (query-string keys
    aside). ``allowed`` lists text
    that is deliberately the same in every language (a language's own name).
    """
    source = path.read_text(encoding="utf-8")
    for pattern in (_COMMENT_BLOCK, _BLOCK_TRANSLATE, _DJANGO_MARKUP):
        source = pattern.sub("", source)
    parser = _ReadableText()
    parser.feed(source)
    parser.close()
    pieces = (text.strip() for text in parser.texts)
    return [
        text
        for text in pieces
        if re.search(r"[^\W\d_]", _QUERY_KEY.sub("", text)) and text not in allowed
    ]
