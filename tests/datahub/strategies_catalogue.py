"""Hypothesis strategies for catalogue entries: every entry drawn passes ``check_entry``.

Texts include formula-looking starts ("=", "+", "-", "@") and mixed Chinese, so the Excel and
DCAT writers are tried on what a department actually types.
"""

from __future__ import annotations

from hypothesis import strategies as st

from cityloop.datahub.catalogue import (
    CLASS_DIGITS,
    FIELD_TYPES,
    SHARING_METHODS,
    OpenType,
    ResourceClass,
    ResourceEntry,
    ResourceField,
    SharingType,
    UpdateFrequency,
)

DEPARTMENTS = ("transport", "data_bureau", "ecology_environment", "health", "public_security")
# Letters a department types: Chinese, Latin, digits, spaces and the formula-looking starts.
ALPHABET = st.sampled_from(list("交通运输数据共享城市管理环境监测 abcXYZ019=+-@_,;，；、（）:'\""))


def text(min_size: int = 0, max_size: int = 20) -> st.SearchStrategy[str]:
    """Stripped text (the Excel reader strips cells) that is empty only when allowed."""
    return (
        st.text(ALPHABET, min_size=min_size, max_size=max_size)
        .map(str.strip)
        .filter(lambda s: len(s) >= min_size)
    )


keyword = text(1, 8).filter(lambda s: not any(c in s for c in ";；,，、"))
field_name = st.from_regex(r"[a-z_][a-z0-9_]{0,10}", fullmatch=True)


@st.composite
def resource_fields(draw: st.DrawFn) -> tuple[ResourceField, ...]:
    names = draw(st.lists(field_name, max_size=5, unique_by=str.casefold))
    return tuple(
        ResourceField(
            name, draw(text(1, 10)), draw(text(0, 10)), draw(st.sampled_from(FIELD_TYPES))
        )
        for name in names
    )


@st.composite
def entries(draw: st.DrawFn) -> ResourceEntry:
    """A valid catalogue entry."""
    classification = draw(st.sampled_from(list(ResourceClass)))
    digit = next(d for d, c in CLASS_DIGITS.items() if c == classification)
    front = draw(st.sampled_from([digit, "A", "Z"])) + draw(
        st.from_regex(r"[0-9]{4,8}", fullmatch=True)
    )
    code = front + draw(st.sampled_from("-/")) + draw(st.from_regex(r"[0-9]{3,6}", fullmatch=True))
    sharing = draw(st.sampled_from(list(SharingType)))
    shared = sharing != SharingType.NONE
    open_type = draw(st.sampled_from(list(OpenType))) if shared else OpenType.CLOSED
    entity = draw(st.none() | st.sampled_from(["AirQualityObserved", "ParkingSpot", "Streetlight"]))
    return ResourceEntry(
        code=code,
        department=draw(st.sampled_from(DEPARTMENTS)),
        name_zh=draw(text(1, 20)),
        name_en=draw(text(0, 20)),
        description=draw(text(0, 40)),
        classification=classification,
        fields=draw(resource_fields()),
        update_frequency=draw(st.sampled_from(list(UpdateFrequency))),
        format=draw(st.sampled_from(["CSV", "XLSX", "JSON", "NGSI-LD", "=SUM(A1)"])),
        sharing_type=sharing,
        sharing_condition=draw(text(1, 20)) if sharing == SharingType.CONDITIONAL else "",
        sharing_method=draw(st.sampled_from(SHARING_METHODS)) if shared else "",
        not_shared_reason="" if shared else draw(text(1, 20)),
        open_type=open_type,
        open_condition=draw(text(1, 20)) if open_type == OpenType.CONDITIONAL else "",
        licence=draw(st.sampled_from(["CC-BY-4.0", "https://creativecommons.org/licenses/by/4.0/"]))
        if open_type == OpenType.OPEN
        else draw(st.sampled_from(["", "CC0-1.0"])),
        keywords=tuple(draw(st.lists(keyword, max_size=4))),
        entity_type=entity,
        api_url=draw(st.sampled_from(["", "https://data.example.cn/api/v1/resource?id=7"])),
    )
