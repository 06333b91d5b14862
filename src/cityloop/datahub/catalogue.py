"""The government information resource catalogue (政务信息资源目录, GB/T 21063) as pure rules:
one entry, the checks every entry must pass, and who may see an entry in a listing.

Nothing here reads a file or a database; the store, the importers and the web pages share it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from enum import StrEnum

from cityloop.accounts.roles import Role
from cityloop.errors import Location, Problem


class ResourceClass(StrEnum):
    """GB/T 21063 classification of a government information resource: 基础, 主题 or 部门."""

    BASE = "base"
    THEME = "theme"
    DEPARTMENT = "department"


class SharingType(StrEnum):
    """Who in government may use a resource: 无条件共享, 有条件共享 or 不予共享."""

    UNCONDITIONAL = "unconditional"
    CONDITIONAL = "conditional"
    NONE = "none"


class OpenType(StrEnum):
    """Whether the public may read a resource: 开放, 有条件开放 or 不予开放."""

    OPEN = "open"
    CONDITIONAL = "conditional"
    CLOSED = "closed"


class UpdateFrequency(StrEnum):
    """How often the owner promises fresh data (更新周期)."""

    REALTIME = "realtime"
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    YEARLY = "yearly"
    IRREGULAR = "irregular"


class ResourceStatus(StrEnum):
    """Catalogue workflow: registered by the department (draft), then published (发布)."""

    DRAFT = "draft"
    PUBLISHED = "published"


FIELD_TYPES = ("string", "integer", "number", "boolean", "date", "datetime", "geometry")
SHARING_METHODS = ("api", "download", "exchange")  # 接口 / 文件下载 / 数据交换
# Resource code after GB/T 21063.4: 前段码 = 类 (1: 1 基础 / 2 主题 / 3 部门, or a letter of a
# local scheme) + 项 (2 digits) + 目 (2–3 digits) + optional 细目 (2–3 digits), i.e. 4–8 digits
# after the class; then "-" or "/" and the 后段码, a sequence of 3–6 digits. "A0101-000123".
CODE_PATTERN = re.compile(r"^[1-3A-Z][0-9]{4,8}[-/][0-9]{3,6}$")
CLASS_DIGITS = {"1": ResourceClass.BASE, "2": ResourceClass.THEME, "3": ResourceClass.DEPARTMENT}
FIELD_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
ENTITY_TYPE = re.compile(r"^[A-Z][A-Za-z0-9]{0,63}$")  # an NGSI-LD / Smart Data Models type
URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)
# The column widths of ``data_resources``: a longer text is refused here, not by the database.
MAX_LENGTH = {"code": 64, "name_zh": 300, "name_en": 300, "format": 64, "licence": 200,
              "api_url": 500, "department": 64}  # fmt: skip
SEES_EVERY_DEPARTMENT = frozenset({Role.ADMINISTRATOR, Role.EVALUATOR})

Refuse = Callable[..., None]  # check_entry's ``refuse(column, key, **params)``


@dataclass(frozen=True)
class ResourceField:
    """One information item (信息项) of a resource: its column name, labels and type."""

    name: str
    label_zh: str
    label_en: str = ""
    type: str = "string"


@dataclass(frozen=True)
class ResourceEntry:
    """Everything a department states about one resource; the catalogue's editable columns.

    ``keywords`` are a set: they are kept sorted and without repeats, so an entry read back
    from any format (RDF has no order) equals the one written.
    """

    code: str
    department: str
    name_zh: str
    classification: ResourceClass
    update_frequency: UpdateFrequency
    format: str
    sharing_type: SharingType
    open_type: OpenType
    name_en: str = ""
    description: str = ""
    fields: tuple[ResourceField, ...] = ()
    sharing_condition: str = ""
    sharing_method: str = ""
    not_shared_reason: str = ""
    open_condition: str = ""
    licence: str = ""
    keywords: tuple[str, ...] = field(default=())
    entity_type: str | None = None
    api_url: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "classification", ResourceClass(self.classification))
        object.__setattr__(self, "update_frequency", UpdateFrequency(self.update_frequency))
        object.__setattr__(self, "sharing_type", SharingType(self.sharing_type))
        object.__setattr__(self, "open_type", OpenType(self.open_type))
        object.__setattr__(self, "keywords", tuple(sorted({k.strip() for k in self.keywords})))
        object.__setattr__(self, "fields", tuple(self.fields))

    @property
    def holds_rows(self) -> bool:
        """A table resource (rows uploaded by its department), not a sensor series."""
        return self.entity_type is None


def check_entry(entry: ResourceEntry, departments: Collection[str] | None = None) -> list[Problem]:
    """Every rule ``entry`` breaks, each located at the column (``Location.column``) it concerns.

    Parameters
    ----------
    entry
        The catalogue entry.
    departments
        The department codes an entry may name; None skips that check.

    Returns
    -------
    list of Problem
        Empty when the entry may be stored. Rules (GB/T 21063.4 and 国务院《政务信息资源共享
        管理暂行办法》): the code follows ``CODE_PATTERN`` and its class digit matches the
        classification; a not-shareable resource states its reason (依据) and cannot be open;
        a conditional one states its condition; a conditionally open one its open condition;
        a shareable one its sharing method; open data names its licence; field names are
        unique identifiers of a known type.
    """
    problems: list[Problem] = []

    def refuse(column: str, key: str, **params: object) -> None:
        problems.append(Problem(f"catalogue.rule.{key}", dict(params), Location(column=column)))

    code = entry.code.strip()
    if not CODE_PATTERN.fullmatch(code):
        refuse("code", "code_pattern", code=entry.code)
    elif code[0] in CLASS_DIGITS and CLASS_DIGITS[code[0]] != entry.classification:
        refuse("code", "code_class", code=code, expected=CLASS_DIGITS[code[0]].value)
    for column in ("department", "name_zh", "format"):
        if not str(getattr(entry, column)).strip():
            refuse(column, "required")
    for column, most in MAX_LENGTH.items():
        if len(str(getattr(entry, column))) > most:
            refuse(column, "too_long", most=most)
    if departments is not None and entry.department.strip() and entry.department not in departments:
        refuse("department", "unknown_department", department=entry.department)
    _check_sharing(entry, refuse)
    _check_fields(entry.fields, refuse)
    if entry.entity_type is not None and not ENTITY_TYPE.fullmatch(entry.entity_type):
        refuse("entity_type", "entity_type", value=entry.entity_type)
    if entry.api_url and not URL.fullmatch(entry.api_url):
        refuse("api_url", "url", value=entry.api_url)
    if any(not k for k in entry.keywords):
        refuse("keywords", "empty_keyword")
    return problems


def _check_sharing(entry: ResourceEntry, refuse: Refuse) -> None:
    shared = entry.sharing_type != SharingType.NONE
    if not shared and not entry.not_shared_reason.strip():
        refuse("not_shared_reason", "reason_required")
    if shared and entry.not_shared_reason.strip():
        refuse("not_shared_reason", "reason_only_when_not_shared")
    if entry.sharing_type == SharingType.CONDITIONAL and not entry.sharing_condition.strip():
        refuse("sharing_condition", "condition_required")
    if entry.sharing_type != SharingType.CONDITIONAL and entry.sharing_condition.strip():
        refuse("sharing_condition", "condition_only_when_conditional")
    if shared and entry.sharing_method not in SHARING_METHODS:
        refuse("sharing_method", "method_required", allowed=", ".join(SHARING_METHODS))
    if not shared and entry.sharing_method:
        refuse("sharing_method", "method_when_not_shared")
    if not shared and entry.open_type != OpenType.CLOSED:
        refuse("open_type", "not_shared_cannot_open")
    if entry.open_type == OpenType.CONDITIONAL and not entry.open_condition.strip():
        refuse("open_condition", "open_condition_required")
    if entry.open_type != OpenType.CONDITIONAL and entry.open_condition.strip():
        refuse("open_condition", "open_condition_only_when_conditional")
    if entry.open_type == OpenType.OPEN and not entry.licence.strip():
        refuse("licence", "licence_required")


def _check_fields(fields: tuple[ResourceField, ...], refuse: Refuse) -> None:
    seen: set[str] = set()
    for position, item in enumerate(fields, start=1):
        if not FIELD_NAME.fullmatch(item.name):
            refuse("fields", "field_name", position=position, name=item.name)
        elif item.name.casefold() in seen:
            refuse("fields", "field_twice", position=position, name=item.name)
        seen.add(item.name.casefold())
        if not item.label_zh.strip():
            refuse("fields", "field_label", position=position, name=item.name)
        if item.type not in FIELD_TYPES:
            refuse("fields", "field_type", position=position, name=item.name,
                   type=item.type, allowed=", ".join(FIELD_TYPES))  # fmt: skip


# -- who sees what ------------------------------------------------------------------------------


def sees_every_department(role: Role | str) -> bool:
    """Whether a role sees every department's entries, not-shareable and drafts included:
    administrators, and the smart-city office's evaluators, who review drafts before they
    are published (审核) and score the framework's 信息资源 indicators from the whole list."""
    return Role(role) in SEES_EVERY_DEPARTMENT


def visible_to(
    entry_department: str,
    sharing_type: SharingType | str,
    status: ResourceStatus | str,
    *,
    viewer_department: str | None,
    sees_all: bool,
) -> bool:
    """Whether a catalogue entry is listed to a viewer.

    Parameters
    ----------
    entry_department
        The department that owns the resource.
    sharing_type, status
        The entry's sharing type and workflow status.
    viewer_department
        The viewer's department (data officers have one), or None.
    sees_all
        ``sees_every_department(role)`` of the viewer.

    Returns
    -------
    bool
        The owning department and those who see all see every entry; anyone else sees only
        published entries that are shareable (无条件 or 有条件共享). A not-shareable
        resource and a draft are thus never listed to another department.
    """
    if sees_all or (viewer_department is not None and viewer_department == entry_department):
        return True
    return status == ResourceStatus.PUBLISHED and sharing_type != SharingType.NONE


def publicly_listed(open_type: OpenType | str, status: ResourceStatus | str) -> bool:
    """Whether the public open-data catalogue lists an entry: published and open or
    conditionally open. A conditionally open entry is listed with its condition; its data
    need a key (``public_data`` is False for it)."""
    return status == ResourceStatus.PUBLISHED and open_type != OpenType.CLOSED


def public_data(open_type: OpenType | str, status: ResourceStatus | str) -> bool:
    """Whether anyone may read an entry's data without a key: published and open (开放)."""
    return status == ResourceStatus.PUBLISHED and open_type == OpenType.OPEN
