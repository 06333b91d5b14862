"""The sharing rules: who may ask for what, which way a request goes, who decides, and what a
purpose and a refusal must say."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cityloop.datahub.catalogue import ResourceStatus, SharingType
from cityloop.datahub.sharing_rules import (
    MAX_PURPOSE_CHARS,
    MIN_PURPOSE_CHARS,
    MIN_REASON_CHARS,
    RequestPath,
    SharingRuleError,
    check_decision,
    may_decide,
    may_withdraw,
    request_path,
    shareable_to,
)
from cityloop.store.models import SharingStatus

PURPOSE = "用于城市交通拥堵治理分析"
DEPARTMENTS = st.sampled_from(["transport", "ecology_environment", "health", "water"])


def path(sharing: SharingType, status: ResourceStatus = ResourceStatus.PUBLISHED,
         requester: str | None = "transport", purpose: str = PURPOSE) -> RequestPath:  # fmt: skip
    return request_path(
        "ecology_environment", sharing, status, requester_department=requester, purpose=purpose
    )


def test_unconditional_is_granted_at_once_and_conditional_waits_for_the_owner() -> None:
    assert path(SharingType.UNCONDITIONAL) == RequestPath.GRANT_AT_ONCE
    assert path(SharingType.CONDITIONAL) == RequestPath.NEEDS_APPROVAL


@pytest.mark.parametrize(
    ("sharing", "status", "requester", "purpose", "rule"),
    [
        (SharingType.NONE, ResourceStatus.PUBLISHED, "transport", PURPOSE, "not_available"),
        (SharingType.CONDITIONAL, ResourceStatus.DRAFT, "transport", PURPOSE, "not_available"),
        (SharingType.CONDITIONAL, ResourceStatus.PUBLISHED, "ecology_environment", PURPOSE,
         "own_department"),
        (SharingType.CONDITIONAL, ResourceStatus.PUBLISHED, None, PURPOSE, "no_department"),
        (SharingType.CONDITIONAL, ResourceStatus.PUBLISHED, "transport", "看看", "purpose_length"),
        (SharingType.UNCONDITIONAL, ResourceStatus.PUBLISHED, "transport",
         "x" * (MAX_PURPOSE_CHARS + 1), "purpose_length"),
    ],
)  # fmt: skip
def test_refused_requests_name_the_rule(
    sharing: SharingType, status: ResourceStatus, requester: str | None, purpose: str, rule: str
) -> None:
    with pytest.raises(SharingRuleError) as refused:
        path(sharing, status, requester, purpose)
    assert refused.value.key == f"sharing.rule.{rule}"


def test_a_purpose_is_counted_without_surrounding_blanks() -> None:
    padded = "  " + "交" * (MIN_PURPOSE_CHARS - 1) + "   "
    with pytest.raises(SharingRuleError):
        path(SharingType.CONDITIONAL, purpose=padded)
    assert path(SharingType.CONDITIONAL, purpose="交" * MIN_PURPOSE_CHARS) is not None


@given(
    owner=DEPARTMENTS,
    requester=st.one_of(st.none(), DEPARTMENTS),
    sharing=st.sampled_from(list(SharingType)),
    status=st.sampled_from(list(ResourceStatus)),
)
def test_what_is_offered_is_exactly_what_may_be_asked_for(
    owner: str, requester: str | None, sharing: SharingType, status: ResourceStatus
) -> None:
    offered = shareable_to(owner, sharing, status, requester_department=requester)
    try:
        request_path(owner, sharing, status, requester_department=requester, purpose=PURPOSE)
        allowed = True
    except SharingRuleError:
        allowed = False
    assert offered == allowed
    # A not-shareable resource and a draft are never offered to another department.
    if sharing == SharingType.NONE or status == ResourceStatus.DRAFT or requester == owner:
        assert not offered


def test_the_owner_department_or_an_administrator_decides() -> None:
    assert may_decide("water", user_department="water", administrator=False)
    assert may_decide("water", user_department=None, administrator=True)
    assert not may_decide("water", user_department="transport", administrator=False)
    assert not may_decide("water", user_department=None, administrator=False)


def test_a_refusal_needs_a_reason_and_only_a_pending_request_is_decided() -> None:
    check_decision(SharingStatus.PENDING, approve=True, reason="")
    check_decision(SharingStatus.PENDING, approve=False, reason="不符合共享条件")
    with pytest.raises(SharingRuleError) as short:
        check_decision(SharingStatus.PENDING, approve=False, reason="x" * (MIN_REASON_CHARS - 1))
    assert short.value.key == "sharing.rule.reason_length"
    assert short.value.params == {"low": MIN_REASON_CHARS, "high": 2000}
    for status in (SharingStatus.APPROVED, SharingStatus.REFUSED, SharingStatus.WITHDRAWN):
        with pytest.raises(SharingRuleError) as late:
            check_decision(status, approve=True, reason="")
        assert late.value.key == "sharing.rule.not_pending"


def test_only_the_asking_department_withdraws_and_only_while_pending() -> None:
    assert may_withdraw("transport", SharingStatus.PENDING, user_department="transport",
                        administrator=False)  # fmt: skip
    assert may_withdraw("transport", SharingStatus.PENDING, user_department=None,
                        administrator=True)  # fmt: skip
    assert not may_withdraw("transport", SharingStatus.PENDING, user_department="water",
                            administrator=False)  # fmt: skip
    assert not may_withdraw("transport", SharingStatus.APPROVED, user_department="transport",
                            administrator=False)  # fmt: skip
