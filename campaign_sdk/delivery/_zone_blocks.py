"""Blocks of phone numbers that libphonenumber provably treats alike, and what it reads of them (a
signature), so that one lookup per signature gives every number its exact place
(:func:`campaign_sdk.delivery._zones._lookup`).

For ``+`` followed by digits, ``phonenumbers.parse`` takes the calling code ``cc`` (the first one to
three digits) and keeps the national number ``N`` (the rest) unchanged unless the main region's
``national_prefix_for_parsing`` matches at its start (``re.match``); the national significant
number is then ``N`` itself (leading zeros included). ``number_type``, ``region_code_for_number``
and ``time_zones_for_number`` then read only: ``cc``; the length of ``N``; for every region of
``cc`` (or ``cc``'s non-geographic metadata) whether its ``leading_digits`` match at the start of
``N`` and whether each number-type pattern (general, premium rate, toll free, shared cost, VoIP,
personal, pager, UAN, voicemail, fixed line, mobile) fully matches ``N`` (a pattern whose
possible lengths exclude ``N``'s length is not tried); and the longest time-zone prefix
(``phonenumbers.tzdata.TIMEZONE_DATA``) that ``cc + N`` starts with.

So the answer is a function of a number's *signature*, when the national prefix pattern does not
match it: ``cc``; the length; which of the other patterns read for ``cc`` and that length match it
(a bit each: leading digits at the start, a number type fully); and the zones listed under that
longest time-zone prefix (``time_zones_for_number`` reads it for nothing else; a number that is
not geographic gets ``cc``'s own zones). Numbers of one signature, however far apart (neighbouring
blocks split only because a pattern was undecided above, area codes of one zone), get one answer:
``blocks`` gives ``emit`` each run's signature, and one number per signature is looked up.

A block of numbers of one length sharing a prefix ``Q`` (calling code included) has one
signature when: no time-zone prefix longer than ``Q`` starts with ``Q`` (so the longest one that
``Q`` starts with is each number's); the national prefix pattern matches none of its numbers; and
each of the other patterns matches all of its numbers or none. Each pattern, as Python's own
parser reads it (``re._parser``), becomes an automaton over the ten digits; "all" and "none" are
decided exactly over every completion of the remaining length from the automaton's state after
``Q`` (:meth:`_Matcher.outcomes`). A pattern using anything but literals, classes, alternation,
groups, repeats and ``$`` (``^``, say) is not decided: its calling code's numbers are looked up
one by one. Undecided blocks are split by their next digit, the patterns decided so far carried
down with their outcomes, down to single numbers, whose last digits decide every pattern (the
automata at the end of the number); a number that the national prefix pattern matches, and a
block it matches throughout (Argentina's matches the empty string), are looked up number by
number. Numbers of three digits or fewer, or whose national part is shorter than 2 or longer than
17 digits, are looked up one by one; numbers with no calling code fail to parse alike (one lookup
per length and first three digits).

This reading of libphonenumber is of the phonenumbers versions the SDK supports (8.13-9.0); the
tests compare blocks with per-number lookups on random and dense ranges of many countries.
"""

from __future__ import annotations

import re._constants as sre
import re._parser as sre_parser
from bisect import bisect_left
from collections.abc import Callable
from functools import cache
from typing import Any

from phonenumbers import PhoneMetadata
from phonenumbers.phonenumberutil import COUNTRY_CODE_TO_REGION_CODE
from phonenumbers.tzdata import TIMEZONE_DATA, TIMEZONE_LONGEST_PREFIX

# strings that some longer time-zone prefix starts with: their numbers' zones may differ
_DEEP = frozenset(k[:i] for k in TIMEZONE_DATA for i in range(1, len(k)))
_DESCS = ("general_desc", "premium_rate", "toll_free", "shared_cost", "voip", "personal_number", "pager",
          "uan", "voicemail", "fixed_line", "mobile")
_ALL_DIGITS = (1 << 10) - 1
DEAD, MATCHED = 0, 1  # automaton states: no completion can match; (``re.match``) matched already
# calling code, length, bits of the matchers (of ``_matchers``, in order) that match the number, and
# the zones of its longest time-zone prefix (None: none)
Signature = tuple[str, int, int, tuple[str, ...] | None]


class _Unsupported(Exception):
    """A pattern with a construct the automaton does not model."""


class _Matcher:
    """One pattern as an automaton over digits: ``fullmatch`` (``prefix=False``) or ``re.match``
    (``prefix=True``, a match of any start of the number). States are interned sets of NFA nodes."""

    def __init__(self, pattern: str, prefix: bool) -> None:
        self.masks: list[int] = []  # per node: the digits of its edge (0: an epsilon node)
        self.nexts: list[int] = []
        self.eps: list[list[int]] = []
        self.ends: set[int] = set()  # ``$`` nodes: passed only at the end of the number
        self.accept = self._node()
        self.prefix = prefix
        start = self._seq(list(sre_parser.parse(pattern)), self.accept)
        self.sets: list[frozenset[int]] = [frozenset(), frozenset()]
        self.ids: dict[frozenset[int], int] = {}
        self.steps: dict[tuple[int, int], int] = {}
        self.memo: dict[tuple[int, int], tuple[bool, bool]] = {}
        self.start = self._intern(self._closure([start]))

    def _node(self, mask: int = 0, nxt: int = -1, eps: list[int] | None = None) -> int:
        self.masks.append(mask)
        self.nexts.append(nxt)
        self.eps.append(eps or [])
        return len(self.masks) - 1

    def _seq(self, items: list[Any], out: int) -> int:
        for op, av in reversed(items):
            out = self._item(op, av, out)
        return out

    def _item(self, op: Any, av: Any, out: int) -> int:
        if op is sre.LITERAL:
            return self._node(_bit(av), out)
        if op is sre.NOT_LITERAL:
            return self._node(_ALL_DIGITS & ~_bit(av), out)
        if op is sre.ANY:
            return self._node(_ALL_DIGITS, out)
        if op is sre.IN:
            return self._node(_class(av), out)
        if op is sre.AT and av is sre.AT_END:
            node = self._node(nxt=out)
            self.ends.add(node)
            return node
        if op is sre.BRANCH:
            return self._node(eps=[self._seq(list(alt), out) for alt in av[1]])
        if op is sre.SUBPATTERN:
            if av[1] or av[2]:
                raise _Unsupported("flags")
            return self._seq(list(av[3]), out)
        if op in (sre.MAX_REPEAT, sre.MIN_REPEAT):
            low, high, body = av
            if high is sre.MAXREPEAT:
                loop = self._node()
                self.eps[loop] = [self._seq(list(body), loop), out]
                out = loop
            else:
                for _ in range(high - low):
                    out = self._node(eps=[self._seq(list(body), out), out])
            for _ in range(low):
                out = self._seq(list(body), out)
            return out
        raise _Unsupported(str(op))

    def _closure(self, nodes: list[int], at_end: bool = False) -> frozenset[int]:
        """The nodes reachable without a digit (through ``$`` too when ``at_end``), keeping
        those that read a digit, the ``$`` ones and the accepting one."""
        seen, todo = set(nodes), list(nodes)
        while todo:
            node = todo.pop()
            for n in self.eps[node] + ([self.nexts[node]] if at_end and node in self.ends else []):
                if n not in seen:
                    seen.add(n)
                    todo.append(n)
        return frozenset(n for n in seen if self.masks[n] or n == self.accept or n in self.ends)

    def _intern(self, nodes: frozenset[int]) -> int:
        if not nodes:
            return DEAD
        if self.prefix and self.accept in nodes:
            return MATCHED
        found = self.ids.get(nodes)
        if found is None:
            found = self.ids[nodes] = len(self.sets)
            self.sets.append(nodes)
        return found

    def step(self, state: int, digit: int) -> int:
        """The state after one more ``digit``."""
        if state in (DEAD, MATCHED):
            return state
        found = self.steps.get((state, digit))
        if found is None:
            nodes = [self.nexts[n] for n in self.sets[state] if self.masks[n] >> digit & 1]
            found = self.steps[(state, digit)] = self._intern(self._closure(nodes))
        return found

    def outcomes(self, state: int, k: int) -> tuple[bool, bool]:
        """(some, not all) of the ``10**k`` completions of ``k`` digits from ``state`` match."""
        if state == DEAD:
            return False, True
        if state == MATCHED:
            return True, False
        found = self.memo.get((state, k))
        if found is None:
            if k == 0:
                some = self.accept in self._closure(list(self.sets[state]), at_end=True)
                miss = not some
            else:
                some = miss = False
                for digit in range(10):
                    a, b = self.outcomes(self.step(state, digit), k - 1)
                    some, miss = some or a, miss or b
                    if some and miss:
                        break
            found = self.memo[(state, k)] = (some, miss)
        return found


def _bit(char: int) -> int:
    return 1 << (char - 48) if 48 <= char <= 57 else 0


def _class(items: list[Any]) -> int:
    mask, negate = 0, False
    for op, av in items:
        if op is sre.LITERAL:
            mask |= _bit(av)
        elif op is sre.RANGE:
            mask |= sum(_bit(c) for c in range(max(av[0], 48), min(av[1], 57) + 1))
        elif op is sre.CATEGORY and av is sre.CATEGORY_DIGIT:
            mask |= _ALL_DIGITS
        elif op is sre.NEGATE:
            negate = True
        else:
            raise _Unsupported(str(op))
    return _ALL_DIGITS & ~mask if negate else mask


@cache
def _matcher(pattern: str, prefix: bool) -> _Matcher:
    return _Matcher(pattern, prefix)


@cache
def _cc(head: str) -> str | None:
    """The calling code that ``head`` (three digits) starts with, as parse finds it."""
    if head.startswith("0"):
        return None
    return next((head[:n] for n in (1, 2, 3) if int(head[:n]) in COUNTRY_CODE_TO_REGION_CODE), None)


@cache
def _matchers(cc: str, length: int) -> tuple[_Matcher | None, tuple[_Matcher, ...]] | None:
    """The national-prefix matcher (None: the main region has none) and every other matcher that
    decides a number of ``cc`` with a national number of ``length``; None: not decidable."""
    code = int(cc)
    found_metas = [PhoneMetadata.metadata_for_region_or_calling_code(code, r) for r in COUNTRY_CODE_TO_REGION_CODE[code]]
    metas = [m for m in found_metas if m is not None]
    if not metas or len(metas) < len(found_metas):
        return None
    try:
        npp = metas[0].national_prefix_for_parsing
        national = _matcher(npp, True) if npp else None
        found = []
        for meta in metas:
            if meta.leading_digits is not None and len(metas) > 1:
                found.append(_matcher(meta.leading_digits, True))
            for name in _DESCS:
                desc = getattr(meta, name)
                if desc is None or not desc.national_number_pattern:
                    continue
                if desc.possible_length and length not in desc.possible_length:
                    continue  # never tried on a number of this length
                found.append(_matcher(desc.national_number_pattern, False))
    except (_Unsupported, sre.error):
        return None
    return national, tuple(dict.fromkeys(found))


def blocks(digits: list[str], lo: int, hi: int, emit: Callable[[int, int, Signature | None], None]) -> None:
    """Call ``emit(start, end, signature)`` for consecutive runs of ``digits[lo:hi]`` (sorted,
    distinct, all of one length) whose numbers all get the same lookup; the runs cover ``lo:hi``.
    Runs of one signature (the module's docstring) get the same lookup too; a run with none
    (``None``) is a number to look up on its own, or numbers of no calling code (parse fails)."""
    length = len(digits[lo])
    head = digits[lo][:3]
    cc = _cc(head) if length >= 4 and head.isdigit() else None
    setup = _matchers(cc, length - len(cc)) if cc is not None and 2 <= length - len(cc) <= 17 else None
    if cc is None or setup is None:
        if length >= 4 and head.isdigit() and cc is None and digits[hi - 1].startswith(head):
            emit(lo, hi, None)  # no calling code: parse fails alike for every number
        else:
            for i in range(lo, hi):
                emit(i, i + 1, None)
        return
    national, others = setup
    start = len(cc)
    states = [(1 << i, m, _walk(m, m.start, digits[lo][start:3])) for i, m in enumerate(others)]
    if national is not None:
        states.append((0, national, _walk(national, national.start, digits[lo][start:3])))
    _split(digits, lo, hi, head, states, national, (cc, length), 0, emit)


def _walk(m: _Matcher, state: int, digits: str) -> int:
    for ch in digits:
        state = m.step(state, ord(ch) - 48)
    return state


def _zones_of(number: str) -> tuple[str, ...] | None:
    """The zones of the longest time-zone prefix that ``number`` starts with (None: none does)."""
    return next((TIMEZONE_DATA[number[:n]] for n in range(min(len(number), TIMEZONE_LONGEST_PREFIX), 0, -1)
                 if number[:n] in TIMEZONE_DATA), None)


def _split(digits: list[str], lo: int, hi: int, q: str, states: list[tuple[int, _Matcher, int]],
           national: _Matcher | None, setup: tuple[str, int], matched: int,
           emit: Callable[[int, int, Signature | None], None]) -> None:
    """Emit the runs of ``digits[lo:hi]``, which all start with ``q``: ``states`` holds each
    matcher left undecided above with its bit in the signature (0: the national prefix) and its
    state after ``q``; ``matched`` has the bits of those decided above to match every number."""
    if hi - lo == 1:  # one number: its last digits decide every matcher
        rest = digits[lo][len(q):]
        for bit, m, s in states:
            if m.outcomes(_walk(m, s, rest), 0)[0]:
                if m is national:
                    emit(lo, hi, None)  # its national prefix is stripped: looked up alone
                    return
                matched |= bit
        emit(lo, hi, (*setup, matched, _zones_of(digits[lo])))
        return
    k = len(digits[lo]) - len(q)
    open_ = []
    for bit, m, s in states:
        some, miss = m.outcomes(s, k)
        if m is national and some and not miss:
            for i in range(lo, hi):  # a national prefix is stripped from every number: one by one
                emit(i, i + 1, None)
            return
        if (some and miss) or (m is national and some):
            open_.append((bit, m, s))
        elif some:
            matched |= bit
    if not open_ and q not in _DEEP:
        emit(lo, hi, (*setup, matched, _zones_of(q)))
        return
    pos = lo
    while pos < hi:
        d = digits[pos][len(q)]
        end = bisect_left(digits, q + chr(ord(d) + 1), pos, hi)
        digit = ord(d) - 48
        _split(digits, pos, end, q + d, [(bit, m, m.step(s, digit)) for bit, m, s in open_], national, setup,
               matched, emit)
        pos = end
