"""The rules of data sharing between departments (共享申请): who may ask for which resource, who
decides, and what a request and a refusal must say. Pure: facts in, verdicts out.

- Only a published resource of ANOTHER department that is shareable may be asked for.
- 无条件共享 (unconditional): the key is issued at once, without anybody's approval.
- 有条件共享 (conditional): the owner department approves or refuses, with a reason to refuse.
- 不予共享 (not shareable): refused, and never listed to another department.
"""

from __future__ import annotations

from enum import StrEnum

from cityloop.datahub.catalogue import ResourceStatus, SharingType, visible_to
from cityloop.errors import CityLoopError

PENDING = "pending"  # SharingStatus.PENDING's stored value (the enum lives in the store)

MIN_PURPOSE_CHARS = 10  # "用于交通拥堵治理分析" is 10 characters: a purpose, not a placeholder
MAX_PURPOSE_CHARS = 2000
MIN_REASON_CHARS = 4  # a refusal must say why; "不符合条件" is enough, "no" is not
MAX_REASON_CHARS = 2000


class RequestPath(StrEnum):
    """What happens to a request that may be made: a key at once, or the owner's decision."""

    GRANT_AT_ONCE = "grant_at_once"
    NEEDS_APPROVAL = "needs_approval"


class SharingRuleError(CityLoopError):
    """A sharing step the rules do not allow; ``key`` says which rule (``sharing.rule.*``)."""


def shareable_to(
    owner_department: str,
    sharing_type: SharingType | str,
    status: ResourceStatus | str,
    *,
    requester_department: str | None,
) -> bool:
    """Whether a resource may be offered to ``requester_department`` at all (picker, request).

    Parameters
    ----------
    owner_department : str
        The resource's department.
    sharing_type : str
        The resource's sharing type (``SharingType`` value).
    status : str
        Catalogue status (``ResourceStatus`` value): only published resources are shared.
    requester_department : str or None
        The asking department; None (a user without one) is offered nothing.

    Returns
    -------
    bool
        True for a published, shareable resource of another department.
    """
    if requester_department is None or requester_department == owner_department:
        return False
    # What another department may see in the catalogue is what it may ask for.
    return visible_to(
        owner_department, sharing_type, status, viewer_department=requester_department,
        sees_all=False,
    )  # fmt: skip


def request_path(
    owner_department: str,
    sharing_type: SharingType | str,
    status: ResourceStatus | str,
    *,
    requester_department: str | None,
    purpose: str,
) -> RequestPath:
    """The way a new request goes, or ``SharingRuleError`` naming the rule it breaks.

    A not-shareable or unpublished resource is refused with the same message as an unknown one,
    so that a request cannot tell another department that it exists.

    Parameters
    ----------
    owner_department, sharing_type, status
        The resource's facts.
    requester_department : str or None
        The asking department.
    purpose : str
        Why the data is needed; ``MIN_PURPOSE_CHARS`` to ``MAX_PURPOSE_CHARS`` characters.

    Returns
    -------
    RequestPath
        ``GRANT_AT_ONCE`` for an unconditional resource, ``NEEDS_APPROVAL`` for a conditional one.

    Raises
    ------
    SharingRuleError
        ``sharing.rule.no_department``, ``sharing.rule.own_department``,
        ``sharing.rule.not_available`` or ``sharing.rule.purpose_length``.
    """
    if requester_department is None:
        raise SharingRuleError("sharing.rule.no_department")
    if requester_department == owner_department:
        raise SharingRuleError("sharing.rule.own_department")
    if not shareable_to(
        owner_department, sharing_type, status, requester_department=requester_department
    ):
        raise SharingRuleError("sharing.rule.not_available")
    check_text(purpose, MIN_PURPOSE_CHARS, MAX_PURPOSE_CHARS, "sharing.rule.purpose_length")
    if sharing_type == SharingType.UNCONDITIONAL:
        return RequestPath.GRANT_AT_ONCE
    return RequestPath.NEEDS_APPROVAL


def may_decide(owner_department: str, *, user_department: str | None, administrator: bool) -> bool:
    """Whether a user may approve or refuse requests for (and revoke keys of) a resource: the
    owner department's data officer, or an administrator."""
    return administrator or (user_department is not None and user_department == owner_department)


def check_decision(status: str, *, approve: bool, reason: str) -> None:
    """Refuse a decision on a request that is no longer pending, or a refusal without a reason.

    Raises
    ------
    SharingRuleError
        ``sharing.rule.not_pending`` or ``sharing.rule.reason_length``.
    """
    if status != PENDING:
        raise SharingRuleError("sharing.rule.not_pending", status=str(status))
    if not approve:
        check_text(reason, MIN_REASON_CHARS, MAX_REASON_CHARS, "sharing.rule.reason_length")
    elif len(reason.strip()) > MAX_REASON_CHARS:
        raise SharingRuleError("sharing.rule.reason_length", low=0, high=MAX_REASON_CHARS)


def may_withdraw(
    requester_department: str,
    status: str,
    *,
    user_department: str | None,
    administrator: bool,
) -> bool:
    """Whether a user may withdraw a request: the asking department (or an administrator),
    while the request is still pending."""
    own = administrator or user_department == requester_department
    return own and status == PENDING


def check_text(text: str, low: int, high: int, key: str) -> None:
    """Raise ``SharingRuleError(key)`` unless ``text`` (trimmed) has ``low``–``high`` characters."""
    if not low <= len(text.strip()) <= high:
        raise SharingRuleError(key, low=low, high=high)
