"""Vietnam's areas as they are since 1 July 2025: 34 provinces and their communes, by code.

Districts are abolished and communes were merged, so a club, an association grant and a
report are keyed on the official units (the codes and names of the ``vietnam-provinces``
package). People type names any way: with or without accents, with or without "tỉnh",
"TP", "xã", "phường"; :func:`find_province` and :func:`find_commune` read them and never guess
between two communes of the same name (they return the candidates).

Old addresses ("Xã Đồng Văn, Huyện Quế Phong, Nghệ An") are converted with
``vietnamadminunits`` (:func:`convert_old`, imported only then: it is slow to import). An old
district is mapped to the new communes made from it (:func:`district_communes`) from that
package's conversion table, read directly (without importing the package), when the mapping
is unambiguous.
"""

from __future__ import annotations

import difflib
import importlib.util
import json
import re
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from bot.text import fold, nfc

# Words in front of a name that say which kind of unit it is (folded), longest first.
_PROVINCE_WORDS = ("thanh pho", "tinh", "tp")
_COMMUNE_WORDS = ("thi tran", "dac khu", "phuong", "xa", "tt", "p", "x")
_DISTRICT_WORDS = ("thanh pho", "thi xa", "huyen", "quan", "tp", "tx", "h", "q")
_COMMUNE_KINDS = {"phuong": "phường", "p": "phường", "xa": "xã", "x": "xã",
                  "dac khu": "đặc khu"}
# Short names people use for a province.
_PROVINCE_ALIASES = {"hcm": "ho chi minh", "tphcm": "ho chi minh", "sai gon": "ho chi minh",
                     "saigon": "ho chi minh", "hn": "ha noi"}


def _words(text: str) -> str:
    """Folded, punctuation as spaces, single spaces: ``TP. Hồ Chí Minh`` -> ``tp ho chi minh``."""
    return " ".join(re.sub(r"[^\w]+", " ", fold(text)).split())


def _strip(text: str, words: tuple[str, ...]) -> tuple[str, str]:
    """``(kind word, rest)`` of a folded name: ``xa thong thu`` -> ``('xa', 'thong thu')``."""
    for word in words:
        if text.startswith(word + " ") and len(text) > len(word) + 1:
            return word, text[len(word) + 1:]
    return "", text


def _key(text: str) -> str:
    """Without spaces, so ``thong thu`` and ``thongthu`` match."""
    return text.replace(" ", "")


@dataclass(frozen=True)
class Commune:
    """A commune (xã, phường or đặc khu): its code, official name and province's code."""

    code: int
    name: str
    province_code: int
    kind: str  # xã, phường, đặc khu


@dataclass(frozen=True)
class Province:
    """A province or centrally-run city: its code, official name and communes."""

    code: int
    name: str  # 'Nghệ An', 'Thành phố Hà Nội'
    codename: str
    communes: tuple[Commune, ...] = field(repr=False, compare=False)

    @property
    def short(self) -> str:
        """The name without "Thành phố": ``Hà Nội``."""
        return _strip_name(self.name)


def _strip_name(name: str) -> str:
    """An official name without its kind word (``Thành phố Hà Nội`` -> ``Hà Nội``)."""
    for word in ("Thành phố ", "Tỉnh "):
        if name.startswith(word):
            return name[len(word):]
    return name


@dataclass(frozen=True)
class Found:
    """What a name matched: the unit, or the candidates (several: ambiguous; none: unknown).

    ``suggestions`` are close names for an unknown one (spelling mistakes).
    """

    unit: Any = None
    candidates: tuple[Any, ...] = ()
    suggestions: tuple[Any, ...] = ()

    @property
    def ambiguous(self) -> bool:
        """Several units have this name."""
        return self.unit is None and len(self.candidates) > 1


@cache
def provinces() -> tuple[Province, ...]:
    """The 34 provinces with their communes, as ``vietnam-provinces`` lists them."""
    from vietnam_provinces import NESTED_DIVISIONS_JSON_PATH

    data = json.loads(Path(NESTED_DIVISIONS_JSON_PATH).read_text(encoding="utf-8"))
    return tuple(
        Province(int(p["code"]), nfc(p["name"]), p["codename"], tuple(
            Commune(int(w["code"]), nfc(w["name"]), int(p["code"]), w["division_type"])
            for w in p["wards"]))
        for p in data)


@cache
def _by_code() -> tuple[dict[int, Province], dict[int, Commune]]:
    units = provinces()
    return ({p.code: p for p in units}, {c.code: c for p in units for c in p.communes})


def province_by_code(code: int) -> Province | None:
    """A province by its code (40 is Nghệ An)."""
    return _by_code()[0].get(code)


def commune_by_code(code: int) -> Commune | None:
    """A commune by its code (16744 is Xã Thông Thụ, Nghệ An)."""
    return _by_code()[1].get(code)


def province_key(name: str) -> str:
    """A province name as compared: folded, without "tỉnh"/"thành phố"/"TP" and spaces."""
    words = _strip(_words(name), _PROVINCE_WORDS)[1]
    return _key(_PROVINCE_ALIASES.get(words, words))


def commune_key(name: str) -> str:
    """A commune name as compared: folded, without "xã"/"phường"/... and spaces."""
    return _key(_strip(_words(name), _COMMUNE_WORDS)[1])


def district_key(name: str) -> str:
    """An old district name as compared: folded, without "huyện"/"quận"/... and spaces."""
    return _key(_strip(_words(name), _DISTRICT_WORDS)[1])


def find_province(text: str) -> Found:
    """The province named ``text`` ("nghe an", "Tỉnh Nghệ An", "TP HCM", "40").

    Returns:
        ``Found`` with ``unit`` set, or none and close names in ``suggestions``.
    """
    text = nfc(text)
    if text.isdigit():
        found = province_by_code(int(text))
        return Found(found, (found,) if found else ())
    wanted = province_key(text)
    matches = tuple(p for p in provinces() if province_key(p.name) == wanted)
    if len(matches) == 1:
        return Found(matches[0], matches)
    keys = {province_key(p.name): p for p in provinces()}
    close = difflib.get_close_matches(wanted, list(keys), n=3, cutoff=0.7)
    return Found(None, matches, tuple(keys[k] for k in close))


def find_commune(province: Province, text: str) -> Found:
    """The commune of ``province`` named ``text`` ("thong thu", "Xã Thông Thụ", "16744").

    Two communes with the same name once folded (``Tân Thành`` and ``Tân Thạnh``) are told
    apart by the accents or the kind word typed; when they are not, both are candidates and
    none is chosen.
    """
    text = nfc(text)
    if text.isdigit():
        found = commune_by_code(int(text))
        found = found if found and found.province_code == province.code else None
        return Found(found, (found,) if found else ())
    exact = tuple(c for c in province.communes if _key(text.casefold()) in (
        _key(c.name.casefold()), _key(_strip_commune_name(c.name).casefold())))
    if len(exact) == 1:  # accents typed: Tân Thạnh is not Tân Thành
        return Found(exact[0], exact)
    kind, rest = _strip(_words(text), _COMMUNE_WORDS)
    wanted = _key(rest)
    matches = tuple(c for c in exact or province.communes if commune_key(c.name) == wanted
                    and (kind not in _COMMUNE_KINDS or c.kind == _COMMUNE_KINDS[kind]))
    if len(matches) == 1:
        return Found(matches[0], matches)
    if matches:
        return Found(None, matches)
    keys: dict[str, list[Commune]] = {}
    for commune in province.communes:
        keys.setdefault(commune_key(commune.name), []).append(commune)
    close = difflib.get_close_matches(wanted, list(keys), n=5, cutoff=0.75)
    return Found(None, (), tuple(c for k in close for c in keys[k]))


def _strip_commune_name(name: str) -> str:
    for word in ("Xã ", "Phường ", "Đặc khu ", "Thị trấn "):
        if name.startswith(word):
            return name[len(word):]
    return name


def names(units: tuple[Any, ...] | list[Any]) -> str:
    """Units' names for a message, with codes: ``Xã Tân Thành (29950), Xã Tân Thạnh (...)``."""
    return ", ".join(f"{u.name} ({u.code})" for u in units)


# Old districts, from vietnamadminunits' conversion table (read without importing it)


@cache
def _conversion_table() -> dict[str, Any]:
    spec = importlib.util.find_spec("vietnamadminunits")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the vietnamadminunits package is not installed")
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "converter_2025.json"
    table: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return table


def _table_key(name: str) -> str:
    """A name as the conversion table writes it: folded, without spaces (``xathongthu``)."""
    return _key(_words(name))


@cache
def _province_table_key(code: int) -> str:
    province = province_by_code(code)
    assert province is not None
    kind = "Thành phố " if province.name.startswith("Thành phố") else "Tỉnh "
    return _table_key(kind + _strip_name(province.name))


def _communes_of_key(province: Province, key: str) -> list[Commune]:
    """The communes a conversion-table key names (accented keys tell twins apart)."""
    if not key.isascii():
        return [c for c in province.communes if _key(c.name.casefold()) == key]
    return [c for c in province.communes if _table_key(c.name) == key]


@cache
def _sources(province_code: int) -> dict[int, frozenset[tuple[str, str]]]:
    """Each new commune of a province: the old (province, district) keys its wards came from."""
    province = province_by_code(province_code)
    assert province is not None
    table, new_key = _conversion_table(), _province_table_key(province_code)
    found: dict[int, set[tuple[str, str]]] = {}

    def add(key: str, old: str) -> None:
        old_province, old_district, *_ = old.split("_")
        for commune in _communes_of_key(province, key):
            found.setdefault(commune.code, set()).add((old_province, old_district))

    for key, olds in table["DICT_PROVINCE_WARD_NO_DIVIDED"].get(new_key, {}).items():
        for old in olds:
            add(key, old)
    for old, news in table["DICT_PROVINCE_WARD_DIVIDED"].get(new_key, {}).items():
        for new in news:
            add(new["newWardKey"], old)
    return {code: frozenset(keys) for code, keys in found.items()}


def _table_district_key(key: str) -> str:
    """An old district's table key as :func:`district_key` (``huyenquephong`` -> ``quephong``)."""
    for word in ("thanhpho", "thixa", "huyen", "quan"):
        if key.startswith(word) and len(key) > len(word):
            return key[len(word):]
    return key


@cache
def _old_provinces() -> dict[str, int]:
    """Every old province (of the 63) by its key, to the code of the province it is part of."""
    codes = {_province_table_key(p.code): p.code for p in provinces()}
    found: dict[str, int] = {}
    for new, olds in _conversion_table()["DICT_PROVINCE"].items():
        for old in olds:
            for word in ("thanhpho", "tinh"):
                if old.startswith(word):
                    old = old[len(word):]
                    break
            found[old] = codes[new]
    return found


@lru_cache(maxsize=4096)
def province_of(text: str) -> int | None:
    """The code of the province a typed name is in: a new province, or an old one merged.

    ``Hòa Bình`` (merged into Phú Thọ) gives Phú Thọ's code; an unknown name ``None``.
    """
    found = find_province(text)
    if found.unit is not None:
        return int(found.unit.code)
    return _old_provinces().get(province_key(text)) if nfc(text) else None


@dataclass(frozen=True)
class DistrictCommunes:
    """The new communes an old district became.

    ``communes`` are every new commune that has at least one old ward of the district;
    ``mixed`` those of them that also have wards of another district. The mapping is
    unambiguous (``ok``) when the district was found and nothing is mixed.
    """

    district: str
    communes: tuple[Commune, ...]
    mixed: tuple[Commune, ...] = ()

    @property
    def ok(self) -> bool:
        """Whether the district maps to whole new communes only."""
        return bool(self.communes) and not self.mixed

    @property
    def codes(self) -> frozenset[int]:
        """The codes of the new communes."""
        return frozenset(c.code for c in self.communes)


@cache
def district_communes(province_code: int, district: str) -> DistrictCommunes:
    """The new communes made from the old district ``district`` ("huyen Que Phong").

    The district is looked for among the old districts of every old province merged into
    the province (a name in two of them is ambiguous: every commune is then ``mixed``).
    """
    wanted = district_key(district)
    sources = _sources(province_code)
    olds = {pair for keys in sources.values() for pair in keys
            if _table_district_key(pair[1]) == wanted}
    province = province_by_code(province_code)
    assert province is not None
    communes = tuple(c for c in province.communes if sources.get(c.code, frozenset()) & olds)
    mixed = communes if len(olds) > 1 else tuple(
        c for c in communes if sources[c.code] - olds)
    return DistrictCommunes(nfc(district), communes, mixed)


# Old addresses to the new units (vietnamadminunits, imported here only)

CONVERTED, AMBIGUOUS, NOT_FOUND = "converted", "ambiguous", "not_found"


@dataclass(frozen=True)
class Conversion:
    """An old address read and converted.

    ``status`` is :data:`CONVERTED` (``province`` and ``commune`` set), :data:`AMBIGUOUS`
    (the old commune was divided between ``candidates``, or its name fits several) or
    :data:`NOT_FOUND` (``province`` set if only the commune was not found). ``old`` is the
    old address as the converter read it, with its official old names when it knew them.
    """

    status: str
    old: str
    province: Province | None = None
    commune: Commune | None = None
    candidates: tuple[Commune, ...] = ()
    old_district: str = ""

    @property
    def new(self) -> str:
        """The new address: ``Xã Thông Thụ, Nghệ An``."""
        return ", ".join(u.name for u in (self.commune, self.province) if u is not None)


def _old_text(commune: str, district: str, province: str) -> str:
    return ", ".join(p for p in (nfc(commune), nfc(district), nfc(province)) if p)


def convert_old(commune: str, district: str, province: str) -> Conversion:
    """Convert an old address (commune, district, province as typed) to the new units.

    Only these three parts are passed to the converter, never a street (it would look the
    street up over the network). Without a district, a commune named as a new one of the
    province is taken as it is. An old commune divided between several new ones is
    ambiguous (the converter's default one is not chosen for the operator).
    """
    typed = _old_text(commune, district, province)
    if not nfc(province) or not nfc(commune):
        found = find_province(province) if nfc(province) else Found()
        return Conversion(NOT_FOUND, typed, found.unit, old_district=nfc(district))
    current = find_province(province)
    if current.unit is not None and not nfc(district):
        named = find_commune(current.unit, commune)
        if named.unit is not None:
            return Conversion(CONVERTED, typed, current.unit, named.unit)
        if named.ambiguous:
            return Conversion(AMBIGUOUS, typed, current.unit, candidates=named.candidates)
    from vietnamadminunits import convert_address  # slow to import (shapely)

    result = convert_address(typed)
    old_unit = result.OldAdminUnit
    old_district = nfc(old_unit.district or district)
    old = _old_text(old_unit.ward or commune, old_district, old_unit.province or province)
    new_province = (province_by_code(int(result.province_code)) if result.province_code
                    else current.unit)
    if new_province is None:
        return Conversion(NOT_FOUND, old, old_district=old_district)
    if not result.ward_code:
        return Conversion(NOT_FOUND, old, new_province, old_district=old_district)
    divided = _conversion_table()["DICT_PROVINCE_WARD_DIVIDED"].get(
        _province_table_key(new_province.code), {}).get(
        f"{old_unit.province_key}_{old_unit.district_key}_{old_unit.ward_key}", [])
    if len(divided) > 1:
        candidates = tuple(c for new in divided
                           for c in _communes_of_key(new_province, new["newWardKey"]))
        return Conversion(AMBIGUOUS, old, new_province, candidates=candidates,
                          old_district=old_district)
    commune_found = commune_by_code(int(result.ward_code))
    if commune_found is None or commune_found.province_code != new_province.code:
        named = find_commune(new_province, result.ward or "")  # a code of another list
        if named.unit is None:
            return Conversion(AMBIGUOUS if named.ambiguous else NOT_FOUND, old, new_province,
                              candidates=named.candidates, old_district=old_district)
        commune_found = named.unit
    return Conversion(CONVERTED, old, new_province, commune_found, old_district=old_district)
