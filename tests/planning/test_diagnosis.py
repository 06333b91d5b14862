"""Tests for cityloop.planning.diagnosis: hand-made cities whose emphasis is obvious, the
urgent/important split and the application terms, properties of the shares (hypothesis), and
the validation of the method file (plan-types.yaml)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from cityloop.errors import InputError
from cityloop.frameworks import load_framework
from cityloop.planning.diagnosis import Diagnosis, diagnose_unit, framework_nodes
from cityloop.planning.diagnosis_method import METHOD_FILE, load_method
from cityloop.planning.project_types import PlanType
from cityloop.survey.items import Subject, Term
from cityloop.survey.needs import CandidateApplication, NeedEvidence
from cityloop.survey.needs_dictionary import load_catalogue

FRAMEWORK = "gbt33356-2016"
FW = load_framework(FRAMEWORK)
NODES = framework_nodes(FW)
SECOND = [str(c) for c in NODES.index[NODES["level"] == 2]]
METHOD = load_method()
CATALOGUE = load_catalogue()
STAGES = ("digital", "networked", "intelligent", "smart")


def peers(n: int = 30, seed: int = 7) -> pd.DataFrame:
    """``n`` middling cities (scores 55–85 on every node), codes P00, P01, …"""
    rng = np.random.default_rng(seed)
    values = rng.uniform(55, 85, size=(n, len(NODES)))
    return pd.DataFrame(values, index=[f"P{i:02d}" for i in range(n)], columns=NODES.index)


def with_city(
    scores: pd.DataFrame, weak_prefixes: tuple[str, ...], low: float = 20.0
) -> pd.DataFrame:
    """``scores`` plus city X: 95 everywhere, ``low`` on the nodes under ``weak_prefixes``."""
    city = pd.Series(95.0, index=NODES.index)
    city[[c for c in NODES.index if c.startswith(weak_prefixes)]] = low
    return pd.concat([scores, city.to_frame("X").T])


def candidate(
    code: str, rank: int, subject: Subject, share: float, low: float | None = None
) -> CandidateApplication:
    app = CATALOGUE[code]
    lower = share - 0.05 if low is None else low
    strong = (subject,) if lower >= 0.25 else ()
    return CandidateApplication(
        rank=rank, code=code, name_zh=app.name_zh, name_en=app.name_en, domain=app.domain,
        level=app.level, term=app.term, default_term=app.term, demand=100 * share / 3,
        subjects=(subject,), strong_subjects=strong,
        evidence=(NeedEvidence(subject, share, lower, share + 0.05, int(400 * share), 400.0),),
    )  # fmt: skip


def run(
    scores: pd.DataFrame,
    unit: str = "X",
    stage: str | None = None,
    candidates: list[CandidateApplication] | None = None,
) -> Diagnosis:
    return diagnose_unit(
        scores, unit, NODES, framework_id=FRAMEWORK, scale=100.0, stage=stage,
        candidates=candidates, applications=CATALOGUE, method=METHOD,
    )  # fmt: skip


# -- hand-made cases --------------------------------------------------------------------------


def test_weak_only_in_infrastructure_without_survey_gives_infrastructure() -> None:
    d = run(with_city(peers(), ("L4", "L5")))
    assert d.primary is PlanType.INFRASTRUCTURE
    assert d.types[0].plan_type is PlanType.INFRASTRUCTURE and d.types[0].share > 0.45
    assert {n.code for n in d.weak_dimensions} == {"L4", "L5"}
    assert {n.code for n in d.strong_dimensions} == {"L1", "L2", "L3", "L6", "L7", "L8"}
    assert not d.has_needs and dict(d.part_weights) == {"evaluation": 1.0}
    assert any(r.key == "plandiag.reason.no_survey" and r.plan_type is None for r in d.reasons)
    first = next(r for r in d.reasons if r.plan_type is PlanType.INFRASTRUCTURE)
    assert first.key == "plandiag.reason.weak_peers" and first.params["node"][:2] in ("L4", "L5")
    assert first.params["rank"] == 31 and first.params["of"] == 31
    assert d.min_share == {"infrastructure": 0.40}
    # Nobody asked: every application of the weak domains comes from the evaluation.
    weak_domains = {"L4P1", "L4P2", "L5P1", "L5P2"}
    assert {a.domain for a in d.applications} == weak_domains
    assert {a.source for a in d.applications} == {"evaluation"}
    assert not d.unmapped


def test_citizen_demand_and_weak_services_give_livelihood() -> None:
    needs = [
        candidate("smart_parking", 1, Subject.PUBLIC, 0.61),
        candidate("online_appointment", 2, Subject.PUBLIC, 0.45),
        candidate("one_network_services", 3, Subject.PUBLIC, 0.30),
        candidate("broadband_5g", 4, Subject.PUBLIC, 0.05),
    ]
    d = run(with_city(peers(), ("L1",)), stage="intelligent", candidates=needs)
    assert d.primary is PlanType.LIVELIHOOD and d.types[0].share > 0.6
    assert {n.code for n in d.weak_dimensions} == {"L1"}
    assert set(d.part_weights) == {"evaluation", "needs", "stage"}
    need = next(r for r in d.reasons if r.key == "plandiag.reason.need")
    assert need.plan_type is PlanType.LIVELIHOOD
    assert need.params == {"application": "smart_parking", "subject": "public", "share": 61.0,
                           "demand": round(100 * 0.61 / 3, 1)}  # fmt: skip
    # Weak and strongly demanded: urgent; a big share of the index makes it important too.
    kinds = {p.node: p.kind for p in d.priorities}
    assert kinds["L1P1"] == "urgent_important" and kinds["L1P2"] == "urgent"
    assert kinds["L1P7"] == "important"  # 7 % of the index, weak, nobody asked
    assert next(p.node for p in d.priorities) == "L1P1"
    assert "L4P1" not in kinds  # infrastructure, but X is strong there
    # 智慧停车 (middle term) is moved to the near term: its domain L1P2 is weak.
    planned = {a.code: a for a in d.applications}
    assert planned["smart_parking"].term is Term.NEAR and planned["smart_parking"].moved
    assert planned["broadband_5g"].term is Term.NEAR and not planned["broadband_5g"].moved
    assert planned["job_matching"].source == "evaluation"  # L1P6 is weak, nobody asked
    assert "realtime_transit" in planned and planned["realtime_transit"].demand is None


def test_stage_alone_and_a_close_second_type() -> None:
    level = pd.DataFrame(70.0, index=["A", "B"], columns=NODES.index)
    d = run(level, unit="A", stage="networked")
    # No gap, no survey: the stage decides (infrastructure 0.6, livelihood 0.4).
    assert [(t.plan_type, round(t.share, 6)) for t in d.types[:2]] == [
        (PlanType.INFRASTRUCTURE, 0.6), (PlanType.LIVELIHOOD, 0.4)]  # fmt: skip
    assert d.secondary is None  # 0.4 < 0.8 × 0.6
    assert any(r.key == "plandiag.reason.no_gap" for r in d.reasons)
    d = run(level, unit="A", stage="smart")  # innovation 0.5 and industry 0.5: a tie
    assert (d.primary, d.secondary) == (PlanType.INNOVATION, PlanType.INDUSTRY)
    assert d.min_share == {"innovation": 0.40, "industry": 0.20}
    d = run(level, unit="A")
    assert {round(t.share, 6) for t in d.types} == {0.25}


def test_weak_by_own_mean_and_missing_scores() -> None:
    scores = with_city(peers(), ("L2P2",), low=70.0)  # in the middle of the peers
    scores.loc["X", "L6P1"] = np.nan
    d = run(scores)
    node = {n.code: n for n in d.nodes}
    assert node["L2P2"].weak_by_own and not node["L2P2"].weak_by_peers
    assert round(node["L2P2"].below_own_mean, 6) > 10
    assert np.isnan(node["L6P1"].score) and node["L6P1"].rank == 0 and not node["L6P1"].weak
    assert node["L6P1"].of == 30


def test_unknown_unit_and_framework_are_refused() -> None:
    with pytest.raises(InputError, match="ZZ"):
        run(peers(), unit="ZZ")
    with pytest.raises(InputError, match="iso37122"):
        diagnose_unit(
            peers(), "P00", NODES, framework_id="iso37122-2019", scale=100.0, stage=None,
            candidates=None, applications=CATALOGUE, method=METHOD,
        )  # fmt: skip


# -- properties -------------------------------------------------------------------------------


@st.composite
def situations(draw: st.DrawFn) -> tuple[pd.DataFrame, str | None, list[CandidateApplication]]:
    n = draw(st.integers(min_value=2, max_value=6))
    grid = st.sampled_from([0.0, 25.0, 50.0, 75.0, 100.0])
    value = st.one_of(st.floats(min_value=0, max_value=100), grid, st.just(np.nan))
    cells = draw(st.lists(value, min_size=n * len(NODES), max_size=n * len(NODES)))
    scores = pd.DataFrame(
        np.asarray(cells).reshape(n, len(NODES)), index=[f"U{i}" for i in range(n)],
        columns=NODES.index,
    )  # fmt: skip
    stage = draw(st.sampled_from((None, *STAGES)))
    codes = draw(st.lists(st.sampled_from(sorted(CATALOGUE)), unique=True, max_size=6))
    subjects = st.sampled_from(list(Subject))
    shares = st.floats(min_value=0.01, max_value=0.9)
    needs = [candidate(c, k + 1, draw(subjects), draw(shares)) for k, c in enumerate(codes)]
    return scores, stage, needs


@settings(max_examples=25, deadline=None)
@given(situations())
def test_shares_are_a_distribution(situation: tuple[pd.DataFrame, str | None, list]) -> None:
    scores, stage, needs = situation
    d = run(scores, unit="U0", stage=stage, candidates=needs or None)
    shares = np.array([t.share for t in d.types])
    assert (shares >= 0).all() and abs(shares.sum() - 1) < 1e-9
    assert d.types[0].plan_type is d.primary
    assert abs(sum(d.part_weights.values()) - 1) < 1e-9 or not d.part_weights
    assert sum(d.min_share.values()) <= 1


@settings(max_examples=25, deadline=None)
@given(situations(), st.sampled_from(SECOND), st.floats(min_value=0.1, max_value=100))
def test_a_larger_gap_never_lowers_its_plan_types(
    situation: tuple[pd.DataFrame, str | None, list], node: str, drop: float
) -> None:
    scores, stage, needs = situation
    own = float(scores.loc["U0", node])
    assume(not np.isnan(own))
    before = run(scores, unit="U0", stage=stage, candidates=needs)
    lowered = scores.copy()
    lowered.loc["U0", node] = max(0.0, own - drop)
    after = run(lowered, unit="U0", stage=stage, candidates=needs)
    mapped = METHOD.framework_nodes(FRAMEWORK).loc[node]
    old = {t.plan_type.value: t for t in before.types}
    new = {t.plan_type.value: t for t in after.types}
    for plan_type in mapped.index[mapped.to_numpy() > 0]:
        assert new[plan_type].evaluation >= old[plan_type].evaluation - 1e-9
    # A node speaking for one type only: that type's share of the part cannot fall either.
    if (mapped > 0).sum() == 1:
        only = str(mapped.idxmax())
        assert new[only].evaluation_share >= old[only].evaluation_share - 1e-9


@settings(max_examples=15, deadline=None)
@given(situations(), st.randoms(use_true_random=False))
def test_the_order_of_the_cities_changes_nothing(
    situation: tuple[pd.DataFrame, str | None, list], random: object
) -> None:
    scores, stage, needs = situation
    order = list(scores.index)
    random.shuffle(order)  # type: ignore[attr-defined]
    a = run(scores, unit="U0", stage=stage, candidates=needs)
    b = run(scores.loc[order], unit="U0", stage=stage, candidates=needs)
    assert repr(a) == repr(b)


# -- the method file --------------------------------------------------------------------------


def test_the_packaged_method_maps_every_second_level_node() -> None:
    mapping = METHOD.framework_nodes(FRAMEWORK)
    assert sorted(mapping.index) == sorted(SECOND)
    assert np.allclose(mapping.sum(axis=1), 1) and np.allclose(METHOD.subjects.sum(axis=1), 1)
    assert sorted(METHOD.stages.index) == sorted(STAGES)
    assert all(("node", code) in METHOD.why for code in SECOND)


def test_a_broken_method_file_names_every_fault(tmp_path: Path) -> None:
    text = (Path(__file__).parents[2] / "src/cityloop/planning" / METHOD_FILE).read_text("utf-8")
    data = yaml.safe_load(text)
    data["rules"]["weak_percentile"] = 0.9  # above strong_percentile
    data["rules"]["min_share"] = {"primary": 0.3, "secondary": 0.5}
    data["subjects"]["citizens"] = data["subjects"].pop("public")
    nodes = data["frameworks"][FRAMEWORK]["nodes"]
    nodes["L1P1"]["types"] = {"livelihood": 0.7}
    nodes["L1P2"]["types"] = {"welfare": 1.0}
    del nodes["L1P3"]["why"]
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_method(path)
    text = caught.value.render("en")
    assert str(path) in text and "6 problem" in text
    for fragment in ("weak_percentile must be below", "“citizens” is not a survey subject",
                     "add up to 1, not 0.7", "“welfare” is not a plan type",
                     "frameworks.gbt33356-2016.L1P3", "secondary ≤ primary"):  # fmt: skip
        assert fragment in text
    with pytest.raises(InputError, match=r"nowhere\.yaml"):
        load_method(tmp_path / "nowhere.yaml")
