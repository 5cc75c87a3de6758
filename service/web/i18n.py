"""The pages' one message catalogue: every string a page shows, in zh-CN (the default) and
English.

Catalogues are gettext ``.po`` files under ``locale/<folder>/LC_MESSAGES/`` beside this
module: ``messages.po`` holds what every page shares (the header, sign-in, home), and each
area of the app has a file of its own (``classes.po``, ``review.po``, ...), so the areas'
messages stay apart. All of a language's files are read once at start-up with Babel (no
compile step) into one catalogue; a key defined in two files is an error. Message ids are stable
keys such as ``login.title``; a page asks for one with ``_("login.title")`` and may fill
``{name}`` placeholders with keyword arguments. A key with no translation in the page's
language renders as ``[[key]]`` (browser tests fail on ``[[``) and logs a warning, so a
gap is visible, never silently English or empty.

The language is the ``lang`` cookie (``zh-CN`` or ``en``) set by the header's switch.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from babel.messages.pofile import read_po
from starlette.requests import Request

__all__ = ["DEFAULT_LANGUAGE", "LANGUAGES", "LANG_COOKIE", "LOCALE_DIR", "Catalogue",
           "Translator", "language_of", "load_catalogue"]

log = logging.getLogger(__name__)

LOCALE_DIR = Path(__file__).parent / "locale"
LANG_COOKIE = "lang"
DEFAULT_LANGUAGE = "zh-CN"
# The cookie's value (and <html lang>) -> the catalogue's folder under locale/.
LANGUAGES: Mapping[str, str] = {"zh-CN": "zh_CN", "en": "en"}


@dataclass(frozen=True)
class Translator:
    """One language's messages, as a page's ``_``.

    Attributes:
        language: the language tag (``zh-CN`` or ``en``).
        messages: message id -> text.
    """

    language: str
    messages: Mapping[str, str]

    def has(self, msgid: str) -> bool:
        """Whether the catalogue has ``msgid`` (for a key built from data, such as an error
        code, with a fallback when it has none)."""
        return msgid in self.messages

    def __call__(self, msgid: str, /, **values: object) -> str:
        """The message's text in this language, ``{placeholders}`` filled from ``values``.

        Args:
            msgid: the message key.
            values: the placeholders' values.

        Returns:
            The text, or ``[[msgid]]`` when the catalogue lacks it (logged as a warning).
        """
        text = self.messages.get(msgid)
        if text is None:
            log.warning("untranslated message %r (%s)", msgid, self.language)
            return f"[[{msgid}]]"
        return text.format(**values) if values else text


@dataclass(frozen=True)
class Catalogue:
    """Every language's messages (loaded once; see :func:`load_catalogue`)."""

    languages: Mapping[str, Mapping[str, str]]

    def translator(self, language: str) -> Translator:
        """The translator for ``language`` (an unknown tag gets the default language)."""
        if language not in self.languages:
            language = DEFAULT_LANGUAGE
        return Translator(language, self.languages[language])


def _read(path: Path, folder: str) -> dict[str, str]:
    with path.open("rb") as fh:
        catalog = read_po(fh, locale=folder)
    # Fuzzy and empty entries are not translations yet: they render as [[key]].
    return {str(m.id): str(m.string) for m in catalog
            if m.id and isinstance(m.id, str) and isinstance(m.string, str) and m.string
            and not m.fuzzy}


def _read_language(folder: Path) -> dict[str, str]:
    main = folder / "LC_MESSAGES" / "messages.po"
    if not main.is_file():
        raise FileNotFoundError(main)
    merged: dict[str, str] = {}
    where: dict[str, str] = {}
    for path in sorted(main.parent.glob("*.po")):
        for key, text in _read(path, folder.name).items():
            if key in merged:
                raise ValueError(f"message {key!r} is defined in both {where[key]} and "
                                 f"{path.name} ({folder.name})")
            merged[key], where[key] = text, path.name
    return merged


def load_catalogue(root: Path = LOCALE_DIR) -> Catalogue:
    """Read every language's ``.po`` files.

    Args:
        root: the ``locale`` folder.

    Returns:
        The catalogue.

    Raises:
        FileNotFoundError: a language's ``messages.po`` is missing (the package is broken).
        ValueError: one key is defined in two files of a language.
    """
    return Catalogue({lang: _read_language(root / folder)
                      for lang, folder in LANGUAGES.items()})


def language_of(request: Request) -> str:
    """The request's language: its ``lang`` cookie if known, else zh-CN."""
    lang = request.cookies.get(LANG_COOKIE, "")
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE
