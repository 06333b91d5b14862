"""Earned value: textbook examples worked by hand, the curves of real project records, the
conventions at zero, and properties (EV ≤ BAC, on plan ⇒ indices 1, scale-free, roll-ups)."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cityloop.errors import InputError
from cityloop.supervision.earned_value import earned_value, evm_figures, roll_up
from cityloop.supervision.tracking import BudgetYear, Milestone, SpendEntry, TrackedProject

DAY = date(2026, 1, 1)


def one(bac: float, pv: float, ev: float, ac: float):  # type: ignore[no-untyped-def]
    """Figures of a single row at a single date."""
    return evm_figures(
        ["p"], [DAY], np.array([bac]), np.array([[pv]]), np.array([[ev]]), np.array([[ac]])
    )


def tracked(code: str = "p", **fields) -> TrackedProject:  # type: ignore[no-untyped-def]
    base = {
        "name": code,
        "domain": "egov",
        "phase": "启动实施",
        "owner_department": "大数据局",
        "start_date": date(2026, 1, 1),
        "last_update": date(2026, 2, 28),
    }
    return TrackedProject(code, **(base | fields))


def test_textbook_behind_schedule_and_over_budget() -> None:
    # PMBOK-style: BAC 100, PV 50, EV 40, AC 45.
    f = one(100, 50, 40, 45)
    assert f.sv[0, 0] == pytest.approx(-10)  # 40 − 50
    assert f.cv[0, 0] == pytest.approx(-5)  # 40 − 45
    assert f.spi[0, 0] == pytest.approx(0.8)  # 40 / 50
    assert f.cpi[0, 0] == pytest.approx(0.888888889)  # 40 / 45
    assert f.eac[0, 0] == pytest.approx(112.5)  # 100 / (40/45) = 100 × 45 / 40
    assert f.eac_atypical[0, 0] == pytest.approx(105)  # 45 + (100 − 40)
    assert f.eac_composite[0, 0] == pytest.approx(129.375)  # 45 + 60 / (0.8 × 0.8889) = 45 + 84.375
    assert f.etc[0, 0] == pytest.approx(67.5)  # 112.5 − 45
    assert f.vac[0, 0] == pytest.approx(-12.5)  # 100 − 112.5
    assert f.tcpi[0, 0] == pytest.approx(60 / 55)  # (100 − 40) / (100 − 45) = 1.0909


def test_textbook_ahead_of_schedule_and_under_budget() -> None:
    # BAC 200, PV 80, EV 100, AC 90.
    f = one(200, 80, 100, 90)
    assert f.sv[0, 0] == pytest.approx(20) and f.cv[0, 0] == pytest.approx(10)
    assert f.spi[0, 0] == pytest.approx(1.25)  # 100 / 80
    assert f.cpi[0, 0] == pytest.approx(1.111111111)  # 100 / 90
    assert f.eac[0, 0] == pytest.approx(180)  # 200 × 90 / 100
    assert f.eac_atypical[0, 0] == pytest.approx(190)  # 90 + 100
    assert f.eac_composite[0, 0] == pytest.approx(162)  # 90 + 100 / (1.25 × 1.1111) = 90 + 72
    assert f.etc[0, 0] == pytest.approx(90) and f.vac[0, 0] == pytest.approx(20)
    assert f.tcpi[0, 0] == pytest.approx(100 / 110)  # (200 − 100) / (200 − 90)


def test_milestone_project_worked_by_hand() -> None:
    # Three milestones (value 30, 50, 20) due 31 Jan, 31 Mar, 30 Apr 2026; start 1 Jan.
    project = tracked(
        milestones=(
            Milestone("design", date(2026, 1, 31), 30, completed_date=date(2026, 2, 5)),
            Milestone("build", date(2026, 3, 31), 50, percent_complete=40),
            Milestone("go-live", date(2026, 4, 30), 20),
        ),
        spend=(
            SpendEntry(date(2026, 1, 15), 25),
            SpendEntry(date(2026, 2, 20), 30),
            SpendEntry(date(2026, 3, 10), 5),
        ),
        last_update=date(2026, 2, 28),
    )
    f = earned_value([project], [date(2026, 1, 16), date(2026, 3, 1), date(2026, 5, 1)])
    # 16 Jan: design is 16 of its 31 days in → PV 30 × 16/31; nothing completed or reported yet.
    # 1 Mar: design done (30) + build 29 of its 59 days (31 Jan → 31 Mar) → 30 + 50 × 29/59.
    # 1 May: everything was due → PV = BAC = 100.
    assert f.pv[0] == pytest.approx([30 * 16 / 31, 30 + 50 * 29 / 59, 100])
    # EV: design completed 5 Feb (30); build's 40 % was reported on 28 Feb (+20).
    assert f.ev[0] == pytest.approx([0, 50, 50])
    # AC: 25 by 16 Jan; 25 + 30 by 1 Mar; + 5 by 1 May.
    assert f.ac[0] == pytest.approx([25, 55, 60])
    assert f.bac[0] == pytest.approx(100)
    assert f.spi[0, 1] == pytest.approx(50 / (30 + 50 * 29 / 59))  # 0.916
    assert f.cpi[0, 1] == pytest.approx(50 / 55)


def test_project_without_milestones_spreads_its_yearly_budget() -> None:
    # Starts 1 Jul 2026: the 2026 budget (184) is spread over the 184 days from 1 Jul to 31 Dec,
    # the 2027 budget (365) over 2027.
    project = tracked(
        start_date=date(2026, 7, 1),
        budget=(BudgetYear(2026, 184), BudgetYear(2027, 365)),
        percent_complete=25,
        last_update=date(2026, 9, 15),
    )
    f = earned_value([project], [date(2026, 6, 30), date(2026, 9, 30), date(2027, 1, 31)])
    assert f.pv[0] == pytest.approx([0, 92, 184 + 31])  # 1 Jul–30 Sep is 92 days
    assert f.bac[0] == pytest.approx(549)
    assert f.ev[0] == pytest.approx([0, 137.25, 137.25])  # 25 % of 549 from 15 Sep


def test_conventions_at_zero() -> None:
    nothing_due = one(100, 0, 0, 0)
    assert nothing_due.spi[0, 0] == 1 and nothing_due.cpi[0, 0] == 1
    assert nothing_due.eac[0, 0] == 100  # BAC / 1
    assert one(100, 0, 5, 5).spi[0, 0] == np.inf  # work earned before any was due
    advance = one(100, 10, 0, 30)  # an advance payment, nothing earned yet
    assert advance.cpi[0, 0] == 0
    assert np.isnan(advance.eac[0, 0]) and np.isnan(advance.eac_composite[0, 0])
    assert advance.eac_atypical[0, 0] == 130  # 30 + 100
    assert one(100, 100, 80, 100).tcpi[0, 0] == np.inf  # work left, budget spent
    assert np.isnan(one(100, 100, 100, 90).tcpi[0, 0])  # nothing left to do


def test_roll_up_recomputes_indices_from_sums() -> None:
    # A: PV 100, EV 50, AC 50 (SPI 0.5, CPI 1); B: PV 10, EV 10, AC 20 (SPI 1, CPI 0.5).
    f = evm_figures(
        ["a", "b", "c"],
        [DAY],
        np.array([200.0, 20.0, 10.0]),
        np.array([[100.0], [10.0], [5.0]]),
        np.array([[50.0], [10.0], [5.0]]),
        np.array([[50.0], [20.0], [5.0]]),
    )
    groups = roll_up(f, ["启动实施", "启动实施", "持续推进"])
    assert groups.rows == ("启动实施", "持续推进")
    # Sums: PV 110, EV 60, AC 70 → SPI 60/110 = 0.545, CPI 60/70 = 0.857 (not 0.75 and 0.75).
    assert groups.spi[0, 0] == pytest.approx(60 / 110)
    assert groups.cpi[0, 0] == pytest.approx(60 / 70)
    assert groups.eac[0, 0] == pytest.approx(220 * 70 / 60)
    assert groups.spi[1, 0] == 1 and groups.bac[1] == 10
    with pytest.raises(InputError) as caught:
        roll_up(f, ["one label"])
    assert caught.value.key == "supervision.rollup.labels_mismatch"


# -- properties -------------------------------------------------------------------------------

# Amounts of money: zero or between 0.001 and 10 000 (no subnormals, which scaling would round).
money = st.one_of(st.just(0.0), st.floats(min_value=1e-3, max_value=1e4))


@st.composite
def projects(draw: st.DrawFn) -> list[TrackedProject]:
    """1–4 projects, each with milestones (some done, some partly done) or a yearly budget."""
    found = []
    for k in range(draw(st.integers(1, 4))):
        start = DAY + timedelta(days=draw(st.integers(0, 200)))
        offsets = draw(st.lists(st.integers(0, 500), max_size=4))
        milestones = tuple(
            Milestone(
                f"m{i}",
                start + timedelta(days=off),
                draw(money),
                draw(st.floats(0, 100)),
                draw(st.none() | st.just(start + timedelta(days=off + draw(st.integers(-5, 30))))),
            )
            for i, off in enumerate(offsets)
        )
        spend = tuple(
            SpendEntry(DAY + timedelta(days=d), draw(money))
            for d in draw(st.lists(st.integers(0, 900), max_size=5))
        )
        budget = (BudgetYear(2026, draw(money)), BudgetYear(2027, draw(money)))
        found.append(
            tracked(
                f"p{k}",
                start_date=start,
                milestones=milestones,
                spend=spend,
                budget=budget,
                percent_complete=draw(st.floats(0, 100)),
                last_update=DAY + timedelta(days=draw(st.integers(0, 900))),
            )
        )
    return found


STATUS = [DAY + timedelta(days=d) for d in (0, 45, 200, 400, 700, 1000)]


@settings(max_examples=60)
@given(projects())
def test_curves_stay_within_the_budget_and_never_fall(found: list[TrackedProject]) -> None:
    f = earned_value(found, STATUS)
    tolerance = 1e-9 * (1 + f.bac[:, None])
    assert (f.ev <= f.bac[:, None] + tolerance).all()
    assert (f.pv <= f.bac[:, None] + tolerance).all()
    assert (np.diff(f.pv, axis=1) >= -tolerance).all()
    assert (np.diff(f.ac, axis=1) >= -tolerance).all()
    assert f.pv[:, -1] == pytest.approx(f.bac)  # every milestone and budget year is past


@settings(max_examples=40)
@given(
    st.lists(st.tuples(st.integers(1, 120), st.floats(min_value=1e-3, max_value=1e4)), min_size=1)
)
def test_a_project_exactly_on_plan_has_both_indices_one(steps: list[tuple[int, float]]) -> None:
    # Each milestone is completed on its due date and paid for that day, exactly its value.
    due = np.cumsum([gap for gap, _ in steps])
    milestones = tuple(
        Milestone(f"m{i}", DAY + timedelta(days=int(d)), v, 0, DAY + timedelta(days=int(d)))
        for i, (d, (_, v)) in enumerate(zip(due, steps, strict=True))
    )
    spend = tuple(SpendEntry(m.planned_date, m.planned_value) for m in milestones)
    project = tracked(milestones=milestones, spend=spend, last_update=DAY)
    f = earned_value([project], [m.planned_date for m in milestones])
    assert f.spi[0] == pytest.approx(1.0)
    assert f.cpi[0] == pytest.approx(1.0)
    assert f.eac[0] == pytest.approx(f.bac[0])


@settings(max_examples=40)
@given(projects(), st.sampled_from([0.001, 0.5, 3.0, 10_000.0]))
def test_scaling_all_money_leaves_the_indices_unchanged(
    found: list[TrackedProject], k: float
) -> None:
    scaled = [
        tracked(
            p.code,
            start_date=p.start_date,
            last_update=p.last_update,
            percent_complete=p.percent_complete,
            milestones=tuple(
                Milestone(m.name, m.planned_date, m.planned_value * k, m.percent_complete,
                          m.completed_date) for m in p.milestones
            ),
            spend=tuple(SpendEntry(s.day, s.amount * k) for s in p.spend),
            budget=tuple(BudgetYear(b.year, b.planned_cost * k) for b in p.budget),
        )
        for p in found
    ]  # fmt: skip
    f, g = earned_value(found, STATUS), earned_value(scaled, STATUS)
    for name in ("spi", "cpi", "tcpi"):
        assert getattr(g, name) == pytest.approx(getattr(f, name), rel=1e-9, nan_ok=True)
    assert g.eac == pytest.approx(f.eac * k, rel=1e-9, nan_ok=True)


@settings(max_examples=60)
@given(
    st.integers(1, 8).flatmap(
        lambda n: st.tuples(
            st.lists(st.tuples(money, money, money), min_size=n, max_size=n),
            st.lists(st.sampled_from("ABC"), min_size=n, max_size=n),
        )
    )
)
def test_roll_up_indices_are_ratios_of_sums(
    case: tuple[list[tuple[float, float, float]], list[str]],
) -> None:
    rows, labels = case
    pv, ev, ac = (np.array([[r[i]] for r in rows]) for i in range(3))
    f = evm_figures([str(i) for i in range(len(rows))], [DAY], pv[:, 0] * 2, pv, ev, ac)
    g = roll_up(f, labels)

    def ratio(earned: float, base: float) -> float:
        if base == 0:
            return 1.0 if earned == 0 else np.inf
        return earned / base

    for k, group in enumerate(g.rows):
        members = np.array(labels) == group
        assert g.spi[k, 0] == pytest.approx(ratio(ev[members].sum(), pv[members].sum()))
        assert g.cpi[k, 0] == pytest.approx(ratio(ev[members].sum(), ac[members].sum()))
        assert g.bac[k] == pytest.approx(2 * pv[members].sum())
