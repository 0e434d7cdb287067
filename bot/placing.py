"""Reading an area an operator typed (province, commune, old district) into official units.

Used by ``ishc-bot club create``, ``admin grant`` and ``report`` (and the bot's
``create_club``): a name that is unknown, or that fits several communes, is refused with
an :class:`AreaError` whose text (Vietnamese, from the catalogs) names the candidates.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot import areas
from bot.i18n import DEFAULT_LOCALE, N_, gettext
from bot.text import nfc


class AreaError(ValueError):
    """An area name not understood; ``str()`` is the operator's message in Vietnamese."""

    def __init__(self, message: str, **params: object) -> None:
        super().__init__(gettext(message, DEFAULT_LOCALE, **params))


@dataclass(frozen=True)
class Place:
    """An official province, optionally one of its communes or the communes of an old district.

    ``district`` is the old district's name as typed (a label), ``communes`` the codes of
    the new communes made from it.
    """

    province: areas.Province
    commune: areas.Commune | None = None
    district: str = ""
    communes: frozenset[int] = frozenset()


def province(text: str) -> areas.Province:
    """The official province named ``text``.

    Raises:
        AreaError: Unknown (with close names when there are some).
    """
    found = areas.find_province(text)
    if found.unit is not None:
        return found.unit  # type: ignore[no-any-return]
    merged = areas.province_of(text)
    if merged is not None:
        into = areas.province_by_code(merged)
        assert into is not None
        raise AreaError(N_('since 1 July 2025 "{name}" is part of {province}: please give '
                           '{province} and the new commune.'), name=nfc(text),
                        province=into.name)
    if found.suggestions:
        raise AreaError(N_('there is no province "{name}" since 1 July 2025. Did you mean: '
                           '{candidates}?'), name=nfc(text),
                        candidates=", ".join(p.name for p in found.suggestions))
    raise AreaError(N_('there is no province "{name}" since 1 July 2025 (34 provinces; for '
                       'example "Nghệ An"). A province that was merged has the name of the '
                       'province it joined.'), name=nfc(text))


def commune(where: areas.Province, text: str, district: str = "") -> areas.Commune:
    """The commune of ``where`` named ``text``; an old commune of ``district`` is converted.

    Raises:
        AreaError: Several communes have the name (they are listed), or none has.
    """
    found = areas.find_commune(where, text)
    if found.unit is not None:
        return found.unit  # type: ignore[no-any-return]
    if found.ambiguous:
        raise AreaError(N_('several communes of {province} are called "{name}": {candidates}. '
                           'Please type the name with its accents and "xã" or "phường", or '
                           'the code.'), province=where.name, name=nfc(text),
                        candidates=areas.names(found.candidates))
    if nfc(district):  # an old commune, named with its old district
        converted = areas.convert_old(text, district, where.name)
        if converted.status == areas.CONVERTED and converted.province == where:
            assert converted.commune is not None
            return converted.commune
        if converted.status == areas.AMBIGUOUS:
            raise AreaError(N_('"{old}" was divided between several communes: {candidates}. '
                               'Please choose one.'), old=converted.old,
                            candidates=areas.names(converted.candidates))
    if found.suggestions:
        raise AreaError(N_('{province} has no commune "{name}". Did you mean: {candidates}?'),
                        province=where.name, name=nfc(text),
                        candidates=areas.names(found.suggestions))
    raise AreaError(N_('{province} has no commune "{name}" since 1 July 2025. For an old '
                       'commune, give its old district too (--district), for example '
                       '--commune "Đồng Văn" --district "Quế Phong".'),
                    province=where.name, name=nfc(text))


def place(province_text: str, district: str = "", commune_text: str = "") -> Place:
    """A province, narrowed to a commune or to the new communes of an old district.

    A commune wins over a district (the district, abolished, only helps find an old
    commune). An old district is understood when every new commune made from it comes from
    it alone.

    Raises:
        AreaError: No province, or a name not understood, or an old district whose communes
            were merged with another district's (the new communes are listed to choose from).
    """
    if not nfc(province_text):
        raise AreaError(N_('please give the province too, for example --province "Nghệ An".'))
    where = province(province_text)
    if nfc(commune_text):
        return Place(where, commune(where, commune_text, district))
    if not nfc(district):
        return Place(where)
    mapped = areas.district_communes(where.code, nfc(district))
    if not mapped.communes:
        raise AreaError(N_('{province} had no district "{district}". Please check the name, or '
                           'give the commune (--commune).'), province=where.name,
                        district=nfc(district))
    if not mapped.ok:
        raise AreaError(N_('the old district "{district}" is now part of communes that also '
                           'took in another district: {candidates}. Please choose a commune '
                           '(--commune).'), district=nfc(district),
                        candidates=areas.names(mapped.communes))
    return Place(where, None, nfc(district), mapped.codes)


def club_place(
    province_text: str, commune_text: str, district: str = ""
) -> tuple[areas.Province | None, areas.Commune | None]:
    """The official units of a new club: none, a province, or a province and its commune.

    Raises:
        AreaError: A commune without a province, or a name not understood.
    """
    if not nfc(province_text) and not nfc(commune_text):
        return None, None
    if not nfc(province_text):
        raise AreaError(N_('please give the province too, for example --province "Nghệ An".'))
    where = province(province_text)
    if not nfc(commune_text):
        return where, None
    return where, commune(where, commune_text, district)
