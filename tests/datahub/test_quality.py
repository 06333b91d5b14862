"""The data-quality measures (pure): hand-worked examples for each definition, the policy file's
checks, and properties (every share in [0, 1]; a complete, on-time resource never lowers its
department's completeness or timeliness)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from cityloop.datahub import quality as q
from cityloop.errors import InputError
from cityloop.services.data_quality import quality_policy

AT = datetime(2026, 3, 13, 4, 0, tzinfo=UTC)  # Friday 13 March 2026, noon in China
POLICY = quality_policy()


def resources(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """A catalogue frame: complete daily, shareable, open, published table resources."""
    base = {
        "department": "transport", "name_zh": "资源", "name_en": "Resource",
        "description": "描述", "classification": "department", "fields": [{"name": "a"}],
        "update_frequency": "daily", "format": "csv", "sharing_type": "unconditional",
        "sharing_condition": "", "sharing_method": "api", "not_shared_reason": "",
        "open_type": "open", "open_condition": "", "licence": "CC-BY", "keywords": ["k"],
        "entity_type": None, "api_url": "", "status": "published", "data_updated_at": AT,
    }  # fmt: skip
    frame = pd.DataFrame([{**base, **r} for r in rows], index=range(1, len(rows) + 1))
    frame["data_updated_at"] = pd.to_datetime(frame["data_updated_at"], utc=True)
    return frame


def empty(columns: list[str], index: str | None = "resource_id") -> pd.DataFrame:
    frame = pd.DataFrame({c: pd.Series(dtype=float) for c in [index, *columns] if c})
    return frame.set_index(index) if index else frame


NO_CELLS = empty(["rows", "declared", "filled"])
NO_READINGS = empty(["resource_id", "periods", "last_observed"], None)
NO_CHECKS = empty(["probes", "ok_probes", "latency_ms", "last_ok", "last_detail"])
NO_ACCESS = empty(["requests", "served"])
NO_REQUESTS = pd.DataFrame(
    {"department": [], "status": [], "requested_at": [], "decided_at": []}
).astype({"requested_at": "datetime64[ns, UTC]", "decided_at": "datetime64[ns, UTC]"})


def measure(frame: pd.DataFrame, cells: pd.DataFrame = NO_CELLS, **parts: Any) -> pd.DataFrame:
    return q.resource_quality(
        frame,
        cells,
        parts.get("readings", NO_READINGS),
        parts.get("checks", NO_CHECKS),
        parts.get("access", NO_ACCESS),
        at=AT,
        window_days=30,
        policy=POLICY,
    )


# -- each definition by hand --------------------------------------------------------------------


def test_table_completeness_counts_filled_declared_cells() -> None:
    cells = pd.DataFrame(
        {"rows": [2, 0, 5], "declared": [2, 3, 0], "filled": [3, 0, 0]}, index=[1, 2, 3]
    )
    got = q.table_completeness(cells)
    assert got[1] == 0.75  # 3 of 2 × 2 cells
    assert got[2] == 0.0  # declared fields, no rows: nothing delivered
    assert np.isnan(got[3])  # no declared field: not measurable


def test_sensor_completeness_credits_at_most_the_expected_readings() -> None:
    # realtime over 30 days: 720 hourly readings owed per entity; daily: 30.
    frequency = pd.Series({1: "realtime", 2: "daily", 3: "weekly"})
    readings = pd.DataFrame({
        "resource_id": [1, 1, 2, 2],
        "periods": [720, 0, 45, 15],  # 45 > 30: an eager sensor is not credited beyond 30
        "last_observed": [AT.timestamp() - 3600, np.nan, AT.timestamp(), np.nan],
    })  # fmt: skip
    got = q.sensor_completeness(readings, frequency, 30 * 24, POLICY)
    assert got.loc[1, "completeness"] == 0.5
    assert got.loc[2, "completeness"] == pytest.approx(45 / 60)
    assert got.loc[3, "completeness"] == 0.0  # no entity feeds it
    assert got.loc[1, "last_observed"] == pd.Timestamp(AT) - pd.Timedelta(hours=1)
    owed = q.expected_readings(pd.Series(["weekly", "yearly", "irregular"]), 720, POLICY)
    assert owed.tolist() == [4.0, 1.0, 1.0]


def test_metadata_completeness_weighs_recommended_and_conditional_items() -> None:
    frame = resources([
        {},  # everything filled: 1
        {"description": " ", "keywords": []},  # one required (1) and one recommended (0.5) gap
        {"sharing_type": "none"},  # a required reason is missing: 8 + 2 of 9 + 2
        {"sharing_type": "conditional", "sharing_condition": "仅限内部"},  # condition given
    ])  # fmt: skip
    got = q.metadata_completeness(frame, POLICY.metadata)
    assert got.tolist() == pytest.approx([1.0, 8.5 / 10, 10 / 11, 1.0])


def test_timeliness_allows_period_plus_grace_and_skips_irregular() -> None:
    frequency = pd.Series(["daily", "daily", "monthly", "irregular", "weekly"])
    updated = pd.Series(
        [AT - timedelta(hours=36), AT - timedelta(hours=36, seconds=1), AT - timedelta(days=33),
         AT - timedelta(days=400), None]
    )  # fmt: skip
    got = q.timeliness(frequency, pd.to_datetime(updated, utc=True), AT, POLICY)
    assert got["on_time"].tolist()[:3] == [1.0, 0.0, 1.0]  # 24 + 12 h; 720 + 72 h = 33 days
    assert np.isnan(got["on_time"][3])  # irregular promises nothing
    assert got["on_time"][4] == 0.0 and np.isnan(got["age_days"][4])  # never updated: late
    assert got["age_days"][2] == pytest.approx(33.0)


def test_requests_decided_within_five_working_days() -> None:
    asked = pd.Timestamp("2026-03-01 12:00", tz="Asia/Shanghai")  # a Sunday
    requests = pd.DataFrame({
        "department": ["transport"] * 5 + ["health"],
        "status": ["approved", "refused", "pending", "pending", "withdrawn", "approved"],
        "requested_at": [asked, asked, asked + pd.Timedelta(days=2), AT - pd.Timedelta(days=1),
                         asked, asked],
        "decided_at": [asked + pd.Timedelta(days=3), asked + pd.Timedelta(days=11), None, None,
                       None, asked + pd.Timedelta(days=7)],
    })  # fmt: skip
    flags = q.request_flags(requests, AT, POLICY)
    # approved Wed (2 working days, in time); refused next Thu (8, late); pending since Tue 3rd
    # (8 by Fri 13th, late); pending since yesterday (not judged yet); withdrawn (left out);
    # health approved Sun 8th (5 working days: in time).
    got = q.request_handling(flags, flags["department"])
    assert got.loc["transport"].tolist() == pytest.approx([3, 1 / 3, 1 / 2])
    assert got.loc["health"].tolist() == pytest.approx([1, 1.0, 1.0])
    holiday = POLICY.model_copy(
        update={"sharing": q.SharingRules(decision_working_days=5, holidays=("2026-03-02",))}
    )
    late = q.request_handling(q.request_flags(requests, AT, holiday), flags["department"])
    assert late.loc["health", "decided_in_time"] == 1.0  # 4 working days once Monday is off


def test_score_rescales_weights_over_measured_measures_and_lights() -> None:
    frame = pd.DataFrame(
        {
            "completeness": [1.0, 0.5, np.nan],
            "metadata": [1.0, 0.5, np.nan],
            "timeliness": [1.0, 0.5, np.nan],
            "sharing": [1.0, 0.5, np.nan],
            "uptime": [np.nan, 1.0, np.nan],
        }
    )
    score = q.overall_score(frame, POLICY)
    assert score[0] == 1.0  # uptime unmeasured: the other weights rescaled
    assert score[1] == pytest.approx(0.85 * 0.5 + 0.15 * 1.0)
    assert np.isnan(score[2])
    lights = q.traffic_light(pd.Series([0.85, 0.8499, 0.6, 0.59, np.nan]), POLICY)
    assert lights.tolist() == ["green", "amber", "amber", "red", "none"]


def test_hand_worked_catalogue_per_department_and_unit() -> None:
    frame = resources([
        {"api_url": "https://x/1", "data_updated_at": AT - timedelta(hours=2)},
        {"department": "health", "sharing_type": "none", "not_shared_reason": "隐私",
         "open_type": "closed", "status": "draft", "update_frequency": "monthly",
         "data_updated_at": AT - timedelta(days=60)},
    ])  # fmt: skip
    cells = pd.DataFrame({"rows": [2, 0], "declared": [2, 1], "filled": [3, 0]}, index=[1, 2])
    checks = pd.DataFrame(
        {"probes": [4], "ok_probes": [3], "latency_ms": [21.5], "last_ok": [False],
         "last_detail": ["HTTP 500"]}, index=[1],
    )  # fmt: skip
    access = pd.DataFrame({"requests": [4], "served": [3]}, index=[1])
    per = measure(frame, cells, checks=checks, access=access)
    summary = q.summarise(per, q.request_flags(NO_REQUESTS, AT, POLICY), POLICY)
    transport, health, unit = (summary.loc[k] for k in ("transport", "health", q.TOTAL))
    assert transport[["completeness", "timeliness", "sharing", "uptime"]].tolist() == [
        0.75, 1.0, 1.0, 0.75
    ]  # fmt: skip
    assert transport["failing"] == 1 and transport["hub_availability"] == 0.75
    assert health[["completeness", "timeliness", "sharing", "late"]].tolist() == [0, 0, 0, 1]
    assert np.isnan(health["uptime"]) and np.isnan(health["open_share"])  # nothing published
    assert health["stalest_days"] == pytest.approx(60)
    assert unit["resources"] == 2 and unit["open_share"] == 1.0 and unit["sharing"] == 0.5
    assert transport["score"] == pytest.approx(0.3 * 0.75 + 0.1 + 0.25 + 0.2 + 0.15 * 0.75)
    assert health["light"] == "red"
    metrics = q.hub_metric_values(summary)
    assert metrics == pytest.approx(
        {"open_share": 1.0, "sharing_ratio": 0.5, "completeness": 0.375, "timeliness": 0.5,
         "uptime": 0.75, "resources": 2.0}
    )  # fmt: skip


def test_a_unit_without_resources_has_an_empty_total_row() -> None:
    none = resources([{}]).iloc[0:0]
    summary = q.summarise(measure(none), q.request_flags(NO_REQUESTS, AT, POLICY), POLICY)
    assert list(summary.index) == [q.TOTAL]
    assert summary.loc[q.TOTAL, "resources"] == 0 and summary.loc[q.TOTAL, "light"] == "none"


# -- the policy file ------------------------------------------------------------------------------


def test_a_broken_policy_is_refused_naming_the_file_and_key() -> None:
    shipped = POLICY.model_dump(mode="json")
    broken = {**shipped, "lights": {"green": 0.5, "amber": 0.7}}
    with pytest.raises(InputError) as refused:
        q.parse_policy(broken, "my-weights.yaml")
    assert "my-weights.yaml" in refused.value.render()
    assert refused.value.problems[0].location.column == "lights"
    missing = {**shipped, "weights": {"completeness": 1.0}}
    with pytest.raises(InputError):
        q.parse_policy(missing, "my-weights.yaml")
    assert q.parse_policy(yaml.safe_load(yaml.safe_dump(shipped)), "copy.yaml") == POLICY


# -- properties -----------------------------------------------------------------------------------

shares = st.floats(min_value=0, max_value=1)
catalogues = st.lists(
    st.fixed_dictionaries(
        {
            "rows": st.integers(0, 50),
            "declared": st.integers(0, 6),
            "fill": shares,
            "age_hours": st.floats(0, 2000),
            "frequency": st.sampled_from([*q.FREQUENCIES, "irregular"]),
            "sharing_type": st.sampled_from(["unconditional", "conditional", "none"]),
            "department": st.sampled_from(["a", "b"]),
        }
    ),
    min_size=1,
    max_size=12,
)


def _measured(items: list[dict[str, Any]]) -> pd.DataFrame:
    frame = resources([
        {"department": i["department"], "update_frequency": i["frequency"],
         "sharing_type": i["sharing_type"], "data_updated_at": AT - timedelta(hours=i["age_hours"])}
        for i in items
    ])  # fmt: skip
    owed = np.array([i["rows"] * i["declared"] for i in items])
    cells = pd.DataFrame(
        {"rows": [i["rows"] for i in items], "declared": [i["declared"] for i in items],
         "filled": np.floor(owed * np.array([i["fill"] for i in items]))},
        index=frame.index,
    )  # fmt: skip
    return q.summarise(measure(frame, cells), q.request_flags(NO_REQUESTS, AT, POLICY), POLICY)


@settings(max_examples=20, deadline=None)
@given(catalogues)
def test_every_share_is_between_zero_and_one(items: list[dict[str, Any]]) -> None:
    summary = _measured(items)
    shares_only = summary[[*q.MEASURES, "open_share", "score"]].to_numpy(dtype=float)
    present = shares_only[~np.isnan(shares_only)]
    assert ((present >= 0) & (present <= 1)).all()


@settings(max_examples=20, deadline=None)
@given(catalogues, st.sampled_from(["a", "b"]))
def test_a_complete_on_time_resource_never_lowers_its_department(
    items: list[dict[str, Any]], department: str
) -> None:
    perfect = {"rows": 3, "declared": 2, "fill": 1.0, "age_hours": 0.0, "frequency": "daily",
               "sharing_type": "unconditional", "department": department}  # fmt: skip
    before, after = _measured(items), _measured([*items, perfect])
    for measure_name in ("completeness", "timeliness"):
        old = before[measure_name].get(department, np.nan)
        new = after.loc[department, measure_name]
        assert np.isnan(old) or new >= old - 1e-12
        assert after.loc[q.TOTAL, measure_name] >= before.loc[
            q.TOTAL, measure_name
        ] - 1e-12 or np.isnan(before.loc[q.TOTAL, measure_name])
