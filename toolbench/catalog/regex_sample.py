"""Strings that match a regular expression, drawn from its parsed form (for a JSON schema's ``pattern``)."""

from __future__ import annotations

import random
import string

try:  # Python >= 3.11
    from re import _constants as _sre_c  # type: ignore[attr-defined]
    from re import _parser as _sre_p  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover
    import sre_constants as _sre_c  # type: ignore[no-redef]
    import sre_parse as _sre_p  # type: ignore[no-redef]

_PRINTABLE = string.ascii_letters + string.digits + " -_.,:"
_CATEGORY_CHARS = {
    _sre_c.CATEGORY_DIGIT: string.digits,
    _sre_c.CATEGORY_NOT_DIGIT: string.ascii_letters,
    _sre_c.CATEGORY_WORD: string.ascii_letters + string.digits + "_",
    _sre_c.CATEGORY_NOT_WORD: " -.,",
    _sre_c.CATEGORY_SPACE: " ",
    _sre_c.CATEGORY_NOT_SPACE: string.ascii_letters + string.digits,
}


def sample_regex(pattern: str, rng: random.Random, max_repeat: int = 5) -> str:
    """A string matching ``pattern`` (anchored or not), from the parsed regular expression."""
    groups: dict[int, str] = {}

    def charset(items: list) -> str:
        chars: list[str] = []
        negate = False
        for op, arg in items:
            if op is _sre_c.NEGATE:
                negate = True
            elif op is _sre_c.LITERAL:
                chars.append(chr(arg))
            elif op is _sre_c.RANGE:
                lo, hi = arg
                chars.extend(chr(c) for c in range(lo, min(hi, lo + 200) + 1))
            elif op is _sre_c.CATEGORY:
                chars.extend(_CATEGORY_CHARS.get(arg, string.ascii_letters))
        if negate:
            excluded = set(chars)
            return "".join(c for c in _PRINTABLE if c not in excluded)
        return "".join(chars)

    def emit(parsed) -> str:
        out: list[str] = []
        for op, arg in parsed:
            if op is _sre_c.LITERAL:
                out.append(chr(arg))
            elif op is _sre_c.NOT_LITERAL:
                out.append(rng.choice([c for c in _PRINTABLE if c != chr(arg)]))
            elif op is _sre_c.ANY:
                out.append(rng.choice(string.ascii_letters + string.digits))
            elif op is _sre_c.IN:
                chars = charset(arg)
                out.append(rng.choice(chars) if chars else "")
            elif op is _sre_c.CATEGORY:
                out.append(rng.choice(_CATEGORY_CHARS.get(arg, string.ascii_letters)))
            elif op in (_sre_c.MAX_REPEAT, _sre_c.MIN_REPEAT, getattr(_sre_c, "POSSESSIVE_REPEAT", None)):
                lo, hi, sub = arg
                hi = lo + max_repeat if hi is _sre_c.MAXREPEAT or hi > lo + max_repeat else hi
                out.extend(emit(sub) for _ in range(rng.randint(lo, hi)))
            elif op is _sre_c.SUBPATTERN:
                group, sub = arg[0], arg[-1]
                text = emit(sub)
                if group is not None:
                    groups[group] = text
                out.append(text)
            elif op is getattr(_sre_c, "ATOMIC_GROUP", None):
                out.append(emit(arg))
            elif op is _sre_c.BRANCH:
                out.append(emit(rng.choice(arg[1])))
            elif op is _sre_c.GROUPREF:
                out.append(groups.get(arg, ""))
            # AT (anchors), ASSERT, ASSERT_NOT: nothing to emit
        return "".join(out)

    return emit(_sre_p.parse(pattern))
