"""Sentence segmentation for English news reports and the Arabic texts they come from.

Rule-based, pure standard library, linear time (no regex that can backtrack
catastrophically: every pattern is a single character class run with possessive
quantifiers, and every look-back/look-ahead is capped).

Common rules (both languages)
-----------------------------
* Lines are split on ``\\r\\n``, ``\\r`` and ``\\n`` only (other Unicode separators
  such as U+2028 are treated as ordinary whitespace inside a line).  Every line
  break ends a sentence, except in hard-wrapped text: wire copy, e-mail and text
  taken from PDFs break lines at a fixed width in the middle of sentences.  A text
  is hard-wrapped (``is_hard_wrapped``) when most of its lines inside paragraphs end
  no sentence and most of those were cut by one width of 50 characters or more (each
  within 75% of it, and the next line's first word would not have fitted on it: a
  wrapping tool fills each line).  There a line break is a space (none after a
  hyphen: ``pro-`` + ``Assad``) where the wrapping made it; a heading or a
  paragraph's last line (the next word would have fitted) keeps its break, and so
  does a line before a bullet, or before a numbered or dashed item when it ends one.
  ``Sentence.line`` is the 1-based number of the line the sentence starts on.
* A line is *blank* when it holds only whitespace and invisible format marks
  (bidi marks, zero-width characters, BOM).  Blank lines separate paragraphs;
  ``Sentence.paragraph`` counts the non-blank blocks from 0.
* A single U+FEFF byte-order mark at the very start of the input is dropped (it is
  an encoding signature, not text).  Every other character is kept as is:
  diacritics, tatweel, bidi marks, zero-width joiners.  Sentence texts are only
  stripped of outer whitespace.
* A sentence can only end at a run of terminal marks that is followed (possibly
  after closing quotes/brackets and format marks) by whitespace.  So ``3.5``,
  ``$1.2``, ``12.000``, ``2024.05.12``, ``2.4.1``, ``U.S.-led`` and ``example.com``
  never split.  Closing quotes and brackets right after the mark stay with the
  sentence they close: ``He said, "It is over." Then`` splits after the quote.
* Format marks (U+200B-U+200F, U+061C, U+202A-U+202E, U+2066-U+2069, U+FEFF) are
  skipped when looking at the characters around a candidate boundary, so they never
  block a split, and they remain in the sentence text.
* A lone enumerator (``1.``, ``12.``, ``a.``, ``أ.``, and a Roman numeral up to 89
  such as ``II.`` or ``iv.``, as in a report's section headings ``IV. Conclusions``, and
  a section or resolution number of up to four parts, ``2.1.``, ``1.2.3.``, ``70/1.``)
  at the start of a sentence is not split off.
* A dialogue dash (em or en dash, or a hyphen and a space) after a sentence end opens
  the next sentence when what follows it could: ``she said. — Then go.`` splits.
* A footnote number glued to a sentence end after a word (``development.1 The``,
  ``years.² The``, ``“historic.”3 The``), as text copied from a report's PDF has them,
  ends the sentence with it; after a number, a single letter, a Roman numeral or an
  abbreviation it does not (``3.5 Million``, ``A.1 Scope``, ``No.1 Team``, ``fig.3 The``).
* A piece with no letter or digit at all (say ``(...)``) is merged into its
  neighbour, so no sentence is punctuation only unless its whole line is.

English (:func:`segment_english`)
---------------------------------
A run of ``.``, ``!``, ``?`` or ``…`` ends a sentence when the next visible
character is an uppercase (or caseless) letter, a digit, or an opening quote or
bracket.  A lowercase continuation never splits (``"Why?" he asked.``,
``He paused... then left.``).  A period directly followed by a closing quote or
bracket (``"... in the U.S." Then``) is sentence-final whatever word precedes it.
Otherwise, for a single period the word before it is checked:

* titles and other abbreviations that are always followed by more of the
  sentence never split: Mr. Mrs. Ms. Messrs. Dr. Prof. Gen. Lt. Col. Maj. Capt.
  Sgt. Cpl. Pvt. Adm. Cmdr. Gov. Sen. Rep. Rev. Hon. Mt. Pres. approx. vs. v.
  e.g. i.e. cf. viz.;
* No. Nos. Vol. and the references of reports, legal and UN texts (para. paras.
  art. arts. p. pp. s. ss. sect. ch. chap. fig. n. fn. r. reg. Res. Pt. cl. Sch.
  ed. eds. cap., and c. ca. for circa; either case where both are used) do not split
  when a digit follows (``No. 10``, ``para. 12``, ``pp. 20-22``, ``s. 5 of the Act``,
  ``c. 1850``) but do otherwise (``He said No. The crowd cheered.``); vol. chap. ch.
  art. sect. Pt. Sch. not before a Roman numeral either (``vol. II``, ``Chap. IV``);
* Suppl. and Doc. never end a sentence (``Suppl. No. 49``, ``U.N. Doc. A/70/1``);
* month abbreviations Jan. Feb. Mar. Apr. Jun. Jul. Aug. Sep. Sept. Oct. Nov. Dec.
  never split before a digit (``Sept. 14``) and otherwise follow the next rule;
* abbreviations that often *end* a sentence as well -- etc. Inc. Ltd. Co. Corp.
  Jr. Sr. St. Ave. Blvd. Bros. ibid. and the al. of et al., dotted acronyms (U.S. U.K. U.N. a.m. p.m. D.C.
  Ph.D.) and single capital initials (``George W. Bush``, ``J. R. R. Tolkien``) --
  split only when the next word is a common sentence opener (The, He, It, But,
  However, ... see ``_EN_STARTERS``).  ``moved to the U.S. He signed`` splits,
  ``the U.S. Army`` does not.  In particular ``etc.`` followed by an uppercase word
  splits before ``The``/``It``/... and not before a content word such as
  ``Prices``; both readings are accepted by the spec, this one is predictable.

Dashes (``BEIRUT –``, em dashes) never end a sentence.

Arabic (:func:`segment_arabic`)
-------------------------------
Terminal marks: ``.`` ``!`` ``؟`` ``?`` ``…``/``...`` and ``۔``.  Never ``،``
(Arabic comma), ``:`` or ``؛``.

* ``؛`` (Arabic semicolon) does **not** split by default: in news Arabic it mostly
  joins clauses of one long sentence, and splitting there would create fragments
  that the English side does not have.  Pass ``split_semicolon=True`` to make it a
  sentence end.
* Arabic has no letter case, so after a terminal mark any letter, digit or opening
  quote/bracket may start a new sentence, except:

  - a lowercase Latin letter (continuation, as in English);
  - a word that cannot begin a sentence: the relative pronouns (الذي التي الذين
    اللذان اللتان اللذين اللتين اللواتي اللاتي اللائي) and الموافق/الموافقة
    (a date equivalence, ``1320 هـ. الموافق 1902 م.``);
  - for ``…``/``...`` only: while a quotation opened in the current sentence is
    still open (``«نحن جاهزون ... للمباراة»``), where an ellipsis marks omitted
    words rather than a sentence end.

* Abbreviations (only the word before a single ``.`` is checked; diacritics and
  tatweel are ignored):

  - a single Arabic letter, or a dotted chain of them (``د.`` doctor, ``أ.`` and
    ``أ.د.`` professor, ``م.`` engineer, ``ص.`` page, ``ع.`` an initial): these
    precede a name or a number, so they never split;
  - the same letters *after a number* (``1450 م.``, ``2024م.``, ``1320 هـ.``,
    ``300 ق.م.``, ``10 ص.``) are era/unit/time markers that often end a sentence:
    they split unless the sentence visibly continues -- a digit follows, ``و`` +
    digit follows, or ``إلى``/``حتى`` + digit follows (a range: ``من 1990 م. إلى
    2000 م.``);
  - ``إلخ.``/``الخ.`` (etc.) behaves like those markers.

* Latin words inside Arabic text (``Dr. John Smith``, ``Acme Inc.``, ``U.S.``) are
  handled with the English abbreviation rules.

Deliberately unsupported
------------------------
* No split when there is no space after the mark (``انتهى.ثم``, ``end.The``).
* A sentence starting with a lowercase word in English (``iPhone sales rose``) is
  joined to the previous one.
* A capitalised word after a quoted question (``"Why?" Smith asked.``) splits.
* An ambiguous abbreviation that ends a sentence before a content word stays
  joined (``at 10 a.m. Officials met him.``, ``oil, etc. Prices rose.``).
* In Arabic, a single-letter abbreviation that really ends a sentence (``فيتامين
  د. وقال``) does not split.
* Multi-sentence quotations are split inside the quotes.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from dataclasses import dataclass

__all__ = ["Sentence", "segment", "segment_arabic", "segment_english", "split_lines"]


@dataclass(frozen=True)
class Sentence:
    """One sentence of an input text.

    ``text`` is the sentence as it appears in the input, outer whitespace stripped;
    ``paragraph`` is the 0-based index of its paragraph (blocks separated by blank
    lines); ``line`` is the 1-based number of the input line it is on.
    """

    text: str
    paragraph: int
    line: int


# --------------------------------------------------------------------------- #
# Character classes
# --------------------------------------------------------------------------- #

_FORMAT_CHARS = (
    "\u200b\u200c\u200d\u200e\u200f"  # zero-width space/non-joiner/joiner, LRM, RLM
    "\u061c"  # Arabic letter mark
    "\u202a\u202b\u202c\u202d\u202e"  # LRE RLE PDF LRO RLO
    "\u2066\u2067\u2068\u2069"  # LRI RLI FSI PDI
    "\ufeff"  # BOM / zero-width no-break space
)
_FORMAT = frozenset(_FORMAT_CHARS)

# May directly follow a terminal mark and still belong to the sentence.  Both
# guillemets are included because some Arabic publishers write »quote«.
_CLOSE_CHARS = "\"'”“’‘»«›‹)]}"
_QUOTE_OR_BRACKET = frozenset(_CLOSE_CHARS)
# May open the next sentence.
_OPENERS = frozenset("\"'“‘„«»‹›([{")

_TATWEEL = "\u0640"
# Open a line of dialogue after a sentence end ("she said. — Then go."): em and en dash,
# and a hyphen followed by a space.
_DIALOGUE_DASHES = frozenset("—–-")

_EN_TERMINALS = ".!?…"
_AR_TERMINALS = ".!?؟…۔"
_STRONG = frozenset("!?؟؛")


# A footnote number glued to a sentence end ("development.1 The vote", "years.² The"), as
# text copied from the PDF of a report or a UN document has them: the sentence ends after
# it, so that it stays with the sentence it marks (see _is_footnote).
_FOOTNOTE = "(?:[0-9]{1,3}|[\u00b9\u00b2\u00b3\u2070\u2074-\u2079]{1,3})"


def _boundary_re(terminals: str) -> re.Pattern[str]:
    term = re.escape(terminals)
    close = re.escape(_CLOSE_CHARS + _FORMAT_CHARS)
    # The look-behind pins a match to the start of a run of marks and the
    # possessive quantifiers forbid backtracking, so scanning is linear.
    return re.compile(rf"(?<![{term}])(?P<term>[{term}]++)(?P<close>[{close}]*+)(?P<note>{_FOOTNOTE})?(?=\s|\Z)")


_EN_BOUNDARY = _boundary_re(_EN_TERMINALS)
_AR_BOUNDARY = _boundary_re(_AR_TERMINALS)
_AR_BOUNDARY_SEMI = _boundary_re(_AR_TERMINALS + "؛")

_LINE_BREAK = re.compile(r"\r\n|\r|\n")

# How far we look around a candidate boundary; longer tokens are never abbreviations.
_MAX_TOKEN = 64

# --------------------------------------------------------------------------- #
# Abbreviation data
# --------------------------------------------------------------------------- #

# Always followed by more of the same sentence (matched case-sensitively).
_EN_TITLES = frozenset(
    """Mr Mrs Ms Messrs Dr Prof Gen Lt Col Maj Capt Sgt Cpl Pvt Adm Cmdr Gov Sen Rep
    Rev Hon Mt Pres approx Suppl Doc Docs""".split()
)
# Month abbreviations: never split before a number ("Sept. 14", "Feb. 2024"),
# otherwise treated like the ambiguous abbreviations below ("rose in Feb. The ...").
_EN_MONTHS = frozenset("Jan Feb Mar Apr Jun Jul Aug Sep Sept Oct Nov Dec".split())
# Lowercase Latin abbreviations that never end a sentence (compared lowercased).
_EN_LOWER = frozenset("vs v e.g i.e cf viz".split())
# Only an abbreviation when a number follows ("No. 10"): the references of reports,
# legal and UN texts ("para. 12", "pp. 20-22", "s. 5 of the Act", "G.A. Res. 217").
_EN_BEFORE_NUMBER = frozenset(
    """No Nos Vol Vols vol vols Para Paras para paras Art Arts art arts p pp s ss
    Sect Sec sect sec Ch Chap ch chap Fig Figs fig figs n fn r Reg reg Res Pt pt cl Sch
    ed eds Cap cap c ca""".split()
)
# ... or a Roman numeral ("vol. II", "Chap. IV"); not "No." ("He said No. I think").
_EN_BEFORE_ROMAN = frozenset("Vol Vols vol vols Art Arts art arts Sect sect Ch Chap ch chap Pt Sch".split())
_ROMAN = re.compile(r"[IVXLC]+(?![A-Za-z])")
# A section number (I.-LXXXIX., i.-xxxix.): "IV. Conclusions" is a heading, not two
# sentences. Well-formed numerals only, so that words made of those letters ("ill",
# "civil", "Vic") are not taken for one.
_ROMAN_ENUMERATOR = re.compile(r"(?:L?X{0,3}|XL)(?:IX|IV|V?I{0,3})|(?:x{0,3})(?:ix|iv|v?i{0,3})")
# A numbered section or resolution ("2.1. Scope", "1.2.3.", "70/1. Transforming ...").
_SECTION_NUMBER = re.compile(r"\d{1,3}(?:[./]\d{1,3}){1,3}")
# Abbreviations that may also end a sentence.
_EN_AMBIGUOUS = frozenset("etc Inc Ltd Co Corp Jr Sr St Ave Blvd Bros ibid Ibid al".split())
# U.S / a.m / Ph.D / D.C (the token before the final period).
_DOTTED_ACRONYM = re.compile(r"(?:[A-Za-z]{1,2}\.)+[A-Za-z]{1,2}")
# Words that almost always open a new sentence: after an ambiguous abbreviation,
# one of these means the abbreviation ended the sentence.
_EN_STARTERS = frozenset(
    """The A An He She It They We I You This That These Those There Here His Her Its
    Their Our My But And Or So Yet In On At As If When While After Before Since
    Although Though However Meanwhile Also Still Then Now Some Many Most All Both
    Neither Nor What Who Why How Where Which""".split()
)

_AR_LETTER = "[\u0620-\u063f\u0641-\u064a\u066e\u066f\u0671-\u06d3\u06d5\u06fa-\u06fc\u06ff]"
_NUMBER = r"\d[\d.,\u066b\u066c]*"
# Optional number glued in front ("2024م"), then single letters joined by dots.
_AR_ABBREV = re.compile(rf"(?P<num>{_NUMBER})?(?:{_AR_LETTER}\.)*{_AR_LETTER}")
_NUMBER_RE = re.compile(_NUMBER)
_AR_ETC = frozenset(["إلخ", "الخ"])
# Words that cannot open a sentence.
_AR_NEVER_START = frozenset(
    "الذي التي الذين اللذان اللتان اللذين اللتين اللواتي اللاتي اللائي الموافق الموافقة".split()
)
# "up to" words that continue a range when a number follows.
_AR_RANGE = frozenset("إلى الى حتى وإلى والى وحتى".split())

# --------------------------------------------------------------------------- #
# Small helpers (all bounded by _MAX_TOKEN, so the whole pass stays linear)
# --------------------------------------------------------------------------- #


def _is_blank(line: str) -> bool:
    return all(c.isspace() or c in _FORMAT for c in line)


def _can_start(c: str) -> bool:
    """Could ``c`` be the first visible character of a new sentence?"""
    if c in _OPENERS or c.isdigit():
        return True
    return c.isalpha() and not c.islower()


def _next_visible(line: str, pos: int) -> int:
    """Index of the first char at/after ``pos`` that is neither whitespace nor a format mark."""
    n = len(line)
    while pos < n and (line[pos].isspace() or line[pos] in _FORMAT):
        pos += 1
    return pos


def _raw_token_at(line: str, pos: int) -> str:
    """The whitespace-delimited token starting at ``pos`` (capped)."""
    end = pos
    limit = min(len(line), pos + _MAX_TOKEN)
    while end < limit and not line[end].isspace():
        end += 1
    return line[pos:end]


def _token_before(line: str, end: int) -> tuple[int, str] | None:
    """(start, text) of the whitespace-delimited token ending at ``end``; None if too long."""
    start = end
    floor = max(0, end - _MAX_TOKEN)
    while start > 0 and not line[start - 1].isspace():
        if start == floor:
            return None
        start -= 1
    return start, line[start:end]


def _clean(token: str, arabic: bool = False) -> str:
    """Drop format marks (and for Arabic diacritics/tatweel); trim quotes/brackets."""
    chars = []
    for c in token:
        if c in _FORMAT:
            continue
        if arabic and (c == _TATWEEL or unicodedata.category(c) == "Mn"):
            continue
        chars.append(c)
    text = "".join(chars)
    return text.lstrip("".join(_OPENERS)).rstrip(_CLOSE_CHARS)


def _next_word(line: str, pos: int, arabic: bool) -> str:
    """The leading run of letters/digits of the token at ``pos``, cleaned."""
    word = _clean(_raw_token_at(line, pos), arabic)
    end = 0
    while end < len(word) and word[end].isalnum():
        end += 1
    return word[:end]


def _has_word_char(text: str) -> bool:
    return any(c.isalnum() for c in text)


def _is_enumerator(line: str, start: int, term_start: int) -> bool:
    """Is the sentence so far only a list number or letter ("1", "12", "a", "أ")?"""
    if term_start - start > 16:
        return False
    body = "".join(c for c in line[start:term_start] if not (c.isspace() or c in _FORMAT))
    return (body.isdigit() and len(body) <= 3) or (len(body) == 1 and body.isalpha()) \
        or (body != "" and _ROMAN_ENUMERATOR.fullmatch(body) is not None) \
        or _SECTION_NUMBER.fullmatch(body) is not None


def _is_ellipsis(term: str) -> bool:
    return "…" in term or term.count(".") >= 3


class _QuoteBalance:
    """Running count of quotation marks in the current sentence (Arabic ellipsis rule)."""

    __slots__ = ("guil_open", "guil_close", "curly_open", "curly_close", "straight")

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.guil_open = self.guil_close = self.curly_open = self.curly_close = self.straight = 0

    def feed(self, chunk: str) -> None:
        self.guil_open += chunk.count("«")
        self.guil_close += chunk.count("»")
        self.curly_open += chunk.count("“")
        self.curly_close += chunk.count("”")
        self.straight += chunk.count('"')

    @property
    def inside(self) -> bool:
        return (
            self.guil_open != self.guil_close
            or self.curly_open != self.curly_close
            or self.straight % 2 == 1
        )


# --------------------------------------------------------------------------- #
# Decisions
# --------------------------------------------------------------------------- #


def _en_abbrev_blocks(prev: str, line: str, nxt: int) -> bool:
    """Does the word ``prev`` (before a single period) keep the sentence going?"""
    if not prev:
        return False
    if prev in _EN_TITLES or prev.lower() in _EN_LOWER:
        return True
    if prev in _EN_BEFORE_NUMBER and line[nxt].isdigit():
        return True
    if prev in _EN_BEFORE_ROMAN and _ROMAN.match(line, nxt):
        return True
    if prev in _EN_BEFORE_NUMBER:
        return False
    if prev in _EN_MONTHS and line[nxt].isdigit():
        return True
    if (
        prev in _EN_AMBIGUOUS
        or prev in _EN_MONTHS
        or _DOTTED_ACRONYM.fullmatch(prev)
        or (len(prev) == 1 and prev.isupper())
    ):
        return _next_word(line, nxt, arabic=False) not in _EN_STARTERS
    return False


def _opens_with_dash(line: str, pos: int) -> bool:
    """Does a dialogue dash open a sentence at ``pos`` ("— Then go.", "—Then", "- Then")?"""
    if pos >= len(line) or line[pos] not in _DIALOGUE_DASHES:
        return False
    after = _next_visible(line, pos + 1)
    if line[pos] == "-" and after == pos + 1:  # "-Then": a hyphen, not a dash
        return False
    return after < len(line) and _can_start(line[after])


def _next_start(line: str, m: re.Match[str], start: int, arabic: bool) -> int | None:
    """Where the next sentence would start after the terminator ``m``, or ``None`` when
    nothing that can start one follows, ``m`` ends an enumerator ("1.", "(a)") or the
    number after it is not a footnote mark ("3.5")."""
    if m.group("note") and not _is_footnote(line, m, arabic):
        return None
    nxt = _next_visible(line, m.end())
    if nxt >= len(line) or not (_can_start(line[nxt]) or _opens_with_dash(line, nxt)) \
            or _is_enumerator(line, start, m.start()):
        return None
    return nxt


def _is_footnote(line: str, m: re.Match[str], arabic: bool) -> bool:
    """Is the number after the terminator ``m`` a footnote mark? Only after a word (a
    quote or bracket may close it) that is not a number, a single letter, a Roman numeral
    or an abbreviation: ``3.5``, ``A.1``, ``IV.2``, ``No.1`` and ``fig.3`` are not
    sentence ends."""
    before = _token_before(line, m.start())
    if before is None:
        return False
    word = _clean(before[1], arabic)
    if len(word) < 2 or not word[-1].isalpha() or _NUMBER_RE.match(word) or _ROMAN_ENUMERATOR.fullmatch(word):
        return False
    if arabic:
        return _AR_ABBREV.fullmatch(word) is None
    return not (word in _EN_TITLES or word.lower() in _EN_LOWER or word in _EN_BEFORE_NUMBER
                or word in _EN_MONTHS or word in _EN_AMBIGUOUS or _DOTTED_ACRONYM.fullmatch(word))


def _split_en(line: str, m: re.Match[str], start: int, quotes: _QuoteBalance) -> bool:
    nxt = _next_start(line, m, start, arabic=False)
    if nxt is None:
        return False
    term = m.group("term")
    if any(c in _STRONG for c in term) or _is_ellipsis(term):
        return True
    if any(c in _QUOTE_OR_BRACKET for c in m.group("close")):
        return True
    before = _token_before(line, m.start())
    if before is None:
        return True
    return not _en_abbrev_blocks(_clean(before[1]), line, nxt)


def _previous_is_number(line: str, token_start: int) -> bool:
    """Is the token before the one starting at ``token_start`` a number?"""
    end = token_start
    floor = max(0, token_start - _MAX_TOKEN)
    while end > floor and (line[end - 1].isspace() or line[end - 1] in _FORMAT):
        end -= 1
    before = _token_before(line, end)
    if before is None or not before[1]:
        return False
    return _NUMBER_RE.fullmatch(_clean(before[1], arabic=True)) is not None


def _ar_marker_continues(line: str, nxt: int) -> bool:
    """After an era/unit marker or إلخ: does the next token visibly continue the sentence?"""
    raw = _clean(_raw_token_at(line, nxt), arabic=True)
    if not raw:
        return False
    if raw[0].isdigit() or (raw[0] == "و" and raw[1:2].isdigit()):
        return True
    if _next_word(line, nxt, arabic=True) in _AR_RANGE:
        after = _next_visible(line, nxt + len(_raw_token_at(line, nxt)))
        return after < len(line) and line[after].isdigit()
    return False


def _split_ar(line: str, m: re.Match[str], start: int, quotes: _QuoteBalance) -> bool:
    nxt = _next_start(line, m, start, arabic=True)
    if nxt is None:
        return False
    if _next_word(line, nxt, arabic=True) in _AR_NEVER_START:
        return False
    term = m.group("term")
    if any(c in _STRONG for c in term):
        return True
    if _is_ellipsis(term):
        return not quotes.inside
    if any(c in _QUOTE_OR_BRACKET for c in m.group("close")):
        return True
    before = _token_before(line, m.start())
    if before is None:
        return True
    token_start, raw = before
    prev = _clean(raw, arabic=True)
    if not prev:
        return True
    has_arabic = any("\u0600" <= c <= "\u06ff" for c in prev)
    if not has_arabic and any(c.isascii() and c.isalpha() for c in prev):
        return not _en_abbrev_blocks(prev, line, nxt)
    if prev in _AR_ETC:
        return not _ar_marker_continues(line, nxt)
    abbrev = _AR_ABBREV.fullmatch(prev)
    if abbrev is None:
        return True
    if abbrev.group("num") or _previous_is_number(line, token_start):
        return not _ar_marker_continues(line, nxt)
    return False  # title or initial: a name or number follows


# --------------------------------------------------------------------------- #
# Driver
# --------------------------------------------------------------------------- #


def _iter_lines(text: str):
    """Yield (line number, paragraph index, line) for every non-blank line."""
    if not isinstance(text, str):
        raise TypeError(f"text must be str, not {type(text).__name__}")
    if text.startswith("\ufeff"):
        text = text[1:]
    paragraph = -1
    after_blank = True
    for number, line in enumerate(_LINE_BREAK.split(text), start=1):
        if _is_blank(line):
            after_blank = True
            continue
        if after_blank:
            paragraph += 1
            after_blank = False
        yield number, paragraph, line


def _split_line(line: str, pattern: re.Pattern[str], decide) -> list[str]:
    cuts = [0]
    quotes = _QuoteBalance()
    scanned = 0
    for m in pattern.finditer(line):
        quotes.feed(line[scanned : m.end()])
        scanned = m.end()
        if decide(line, m, cuts[-1], quotes):
            cuts.append(m.end())
            quotes.reset()
    cuts.append(len(line))

    # Merge pieces without any letter/digit into a neighbour.
    spans: list[list[int]] = []
    pending: int | None = None
    for a, b in zip(cuts, cuts[1:]):
        if pending is not None:
            a, pending = pending, None
        if _has_word_char(line[a:b]):
            spans.append([a, b])
        elif spans:
            spans[-1][1] = b
        else:
            pending = a
    if pending is not None:
        spans.append([pending, len(line)])

    pieces = (line[a:b].strip() for a, b in spans)
    return [p for p in pieces if p]


# Hard-wrapped text (see the module docstring). Verse, lists and short lines are not
# wrapped prose: most lines inside paragraphs (_WRAP_OPEN) do not end a sentence, the
# width is at least _WRAP_MIN_WIDTH characters, and most (_WRAP_SHARE) of those open
# lines were cut by it, as a wrapping tool leaves them: within _WRAP_BAND of the width,
# and the next line's first word would not have fitted. Verse lines vary far more.
_WRAP_MIN_WIDTH = 50
_WRAP_MIN_LINES = 3
_WRAP_BAND = 0.75
_WRAP_SHARE = 0.7
_WRAP_OPEN = 0.5
_TERMINALS = tuple(_EN_TERMINALS + _AR_TERMINALS)
_BULLET = re.compile(r"\s*[*•▪◦·]\s")
# A list item, or a dash or number that a wrapped line happens to start with ("- that
# is, his son -", "July" + "1. ..."): an item only after a line that ends one.
_ITEM = re.compile(r"\s*(?:[-–—]|\(?(?:\d{1,3}|[A-Za-z]|[\u0660-\u0669]{1,3}|[\u0621-\u064a])[.)])\s")


def _paragraph_lines(text: str) -> list[list[tuple[int, int, str]]]:
    """The non-blank lines (number, paragraph, line) grouped by paragraph."""
    paragraphs: list[list[tuple[int, int, str]]] = []
    for number, paragraph, line in _iter_lines(text):
        if paragraph == len(paragraphs):
            paragraphs.append([])
        paragraphs[-1].append((number, paragraph, line))
    return paragraphs


def _wrap_width(paragraphs: list[list[tuple[int, int, str]]]) -> int | None:
    """The width a hard-wrapped text was wrapped at, or None when it is not wrapped.

    Judged on the "open" lines inside paragraphs (not ending with a terminal mark): in
    wrapped prose nearly all were cut by the width (the next line's first word would
    not have fitted; see ``_cut_by_width``); a line that ends a sentence may be short
    (a paragraph's last line when paragraphs are not separated by blank lines), and a
    heading is open and short."""
    inner = [(p[k][2].rstrip(), p[k + 1][2]) for p in paragraphs for k in range(len(p) - 1)]
    open_ = [(line, nxt) for line, nxt in inner if not line.rstrip(_CLOSE_CHARS).endswith(_TERMINALS)]
    if len(open_) < _WRAP_MIN_LINES or len(open_) < _WRAP_OPEN * len(inner):
        return None
    lengths = sorted(len(line) for line, _ in open_)
    # The widest line; on long texts the 95th percentile, so that a URL or a table row
    # does not set it.
    width = lengths[-1] if len(lengths) < 20 else lengths[(95 * (len(lengths) - 1)) // 100]
    if width < _WRAP_MIN_WIDTH:
        return None
    cut = sum(len(line) >= _WRAP_BAND * width and _cut_by_width(line, nxt, width) for line, nxt in open_)
    return width if cut >= _WRAP_SHARE * len(open_) else None


def _cut_by_width(line: str, next_line: str, width: int) -> bool:
    """Would the next line's first word not have fitted on ``line``? A wrapping tool
    fills each line, so only then can the break be one it made."""
    following = next_line.split()
    return bool(following) and len(line.rstrip()) + 1 + len(following[0]) > width


def _wrapped_here(line: str, next_line: str, width: int) -> bool:
    """Was the break after ``line`` made by the wrapping? Only where the line was cut
    by the width (a heading or a paragraph's last line keeps its break), and not before
    a bullet, nor before a numbered or dashed item after a line that ends one ("... from
    July" + "1. ..." is a wrapped date)."""
    if not _cut_by_width(line, next_line, width) or _BULLET.match(next_line):
        return False
    return not (_ITEM.match(next_line) and line.rstrip().endswith(_TERMINALS + (":", ";", "؛")))


def is_hard_wrapped(text: str) -> bool:
    """Does ``text`` break its lines at a fixed width inside sentences (see the module
    docstring)?"""
    return _wrap_width(_paragraph_lines(text)) is not None


def _logical_lines(text: str):
    """(paragraph, line, starts) for every non-blank line, the lines of a hard-wrapped
    text joined inside paragraphs; ``starts`` lists (offset in the line, input line
    number) for each input line it holds."""
    paragraphs = _paragraph_lines(text)
    width = _wrap_width(paragraphs)
    if width is None:
        yield from ((paragraph, line, [(0, number)]) for p in paragraphs for number, paragraph, line in p)
        return
    for p in paragraphs:
        group = [p[0]]
        for previous, current in zip(p, p[1:]):
            if _wrapped_here(previous[2], current[2], width):
                group.append(current)
            else:
                yield _joined(group)
                group = [current]
        yield _joined(group)


def _joined(group: list[tuple[int, int, str]]) -> tuple[int, str, list[tuple[int, int]]]:
    """Input lines the wrapping cut, as one line: (paragraph, text, starts)."""
    pieces, starts, at = [], [], 0
    for k, (number, _, line) in enumerate(group):
        if k:
            line = line.lstrip()
        separator = ""
        if k < len(group) - 1:
            line = line.rstrip()
            # A wrapping tool breaks after the hyphen of "pro-Assad": no space there.
            separator = "" if line.endswith("-") and line[-2:-1].isalpha() else " "
        starts.append((at, number))
        pieces.append(line + separator)
        at += len(line) + len(separator)
    return group[0][1], "".join(pieces), starts


def _segment(text: str, pattern: re.Pattern[str], decide) -> list[Sentence]:
    sentences = []
    for paragraph, line, starts in _logical_lines(text):
        if len(starts) == 1:  # one input line (any text that is not hard-wrapped)
            sentences += [Sentence(piece, paragraph, starts[0][1]) for piece in _split_line(line, pattern, decide)]
            continue
        at = 0
        for piece in _split_line(line, pattern, decide):
            at = line.index(piece, at)  # the input line it starts on
            sentences.append(Sentence(piece, paragraph, starts[bisect.bisect_right(starts, (at, float("inf"))) - 1][1]))
            at += len(piece)
    return sentences


def segment_english(text: str) -> list[Sentence]:
    """Split English text into sentences (rules in the module docstring)."""
    return _segment(text, _EN_BOUNDARY, _split_en)


def segment_arabic(text: str, *, split_semicolon: bool = False) -> list[Sentence]:
    """Split Arabic text into sentences (rules in the module docstring).

    ``؛`` ends a sentence only with ``split_semicolon=True``.
    """
    pattern = _AR_BOUNDARY_SEMI if split_semicolon else _AR_BOUNDARY
    return _segment(text, pattern, _split_ar)


def segment(text: str, lang: str) -> list[Sentence]:
    """Split ``text`` into sentences; ``lang`` is ``"en"`` or ``"ar"``."""
    if lang == "en":
        return segment_english(text)
    if lang == "ar":
        return segment_arabic(text)
    raise ValueError(f"unsupported language {lang!r}: expected 'en' or 'ar'")


def split_lines(text: str) -> list[Sentence]:
    """Input already split into sentences: one sentence per non-blank line.

    Blank lines separate paragraphs; each line's outer whitespace is stripped.
    """
    return [Sentence(line.strip(), paragraph, number) for number, paragraph, line in _iter_lines(text)]
