"""The live survey dashboard as plain data: counts, completion, indices with intervals, YoY,
IPA, needs and candidate applications, ready for a template, the charts and the JSON API.

Built on ``survey_results.analyse_survey`` (cached per response count); this module only adds
what the dashboard shows besides the analysis (today's count, counts by district) and names.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from cityloop.i18n import current_language, pick, t
from cityloop.services.survey_design import stored_framework
from cityloop.services.survey_results import (
    SurveyResults,
    analyse_survey,
    candidate_applications_for,
)
from cityloop.store import Database
from cityloop.survey.grouped import ALL
from cityloop.survey.ipa import QUADRANT_ORDER
from cityloop.survey.needs_dictionary import load_catalogue

CHINA = timedelta(hours=8)  # "today" is the office's day, China Standard Time
CACHE_SIZE = 32
DISTRICT = "district"


@dataclass(frozen=True)
class Counts:
    """How many answered: in all, today (China time), per district and per channel."""

    total: int
    today: int
    by_district: list[dict[str, Any]]
    by_source: dict[str, int]


@dataclass(frozen=True)
class SurveyDashboard:
    """Everything the dashboard page and ``GET /api/surveys/{id}/results`` show."""

    results: SurveyResults
    counts: Counts
    weighted: bool
    weighting_note: str  # empty when the survey's margins were used
    design_effect: float | None
    n_eff: float | None
    experience: dict[str, float] | None
    completion: list[dict[str, Any]]
    indices: list[dict[str, Any]]
    districts: list[dict[str, Any]]
    yoy: list[dict[str, Any]]
    ipa: list[dict[str, Any]]
    ipa_cuts: dict[str, float]
    needs: list[dict[str, Any]]
    candidates: list[dict[str, Any]]
    charts: dict[str, Any] = field(default_factory=dict)


_counts: OrderedDict[tuple[int, int, str], Counts] = OrderedDict()
_lock = threading.Lock()


def survey_dashboard(db: Database, survey_id: int) -> SurveyDashboard:
    """The dashboard of one survey in the current language."""
    results = analyse_survey(db, survey_id)
    names = _domain_names(db, results)
    analysis = results.analysis
    dashboard = SurveyDashboard(
        results=results,
        counts=_cached_counts(db, results),
        weighted=results.weighted,
        weighting_note=t(results.weighting_note) if results.weighting_note else "",
        design_effect=None if analysis is None else float(analysis.design_effect),
        n_eff=None if analysis is None else float(analysis.n_eff),
        experience=None if analysis is None else _estimate(analysis.experience_score),
        completion=_completion(results),
        indices=[] if analysis is None else _indices(analysis.indices, names),
        districts=[] if analysis is None else _by_district(results, analysis.experience),
        yoy=[] if analysis is None else _yoy(analysis.yoy, names),
        ipa=[] if analysis is None else _ipa(results, names),
        ipa_cuts={} if analysis is None else _cuts(analysis.ipa),
        needs=[] if analysis is None else _needs(analysis.needs, names),
        candidates=[] if analysis is None else _candidates(db, results),
    )
    dashboard.charts.update(_charts(dashboard))
    return dashboard


# -- counts --------------------------------------------------------------------------------------


def _cached_counts(db: Database, results: SurveyResults) -> Counts:
    """Counts change only when a response arrives (or the day turns): cached on both."""
    today = (datetime.now(UTC) + CHINA).date().isoformat()
    key = (results.survey.id, results.responses, today)
    with _lock:
        hit = _counts.get(key)
    if hit is not None:
        return hit
    counts = _counts_of(db, results, today)
    with _lock:
        _counts[key] = counts
        while len(_counts) > CACHE_SIZE:
            _counts.popitem(last=False)
    return counts


def _counts_of(db: Database, results: SurveyResults, today: str) -> Counts:
    stored = db.surveys.responses_frame(results.survey.id)
    submitted = pd.to_datetime(stored["submitted_at"], utc=True)
    day = (submitted + CHINA).dt.strftime("%Y-%m-%d")
    per_district = (
        stored[DISTRICT].value_counts() if DISTRICT in stored else pd.Series(dtype=np.int64)
    )
    by_district = [
        {"code": d["code"], "name": _district_name(d), "n": int(per_district.get(d["code"], 0))}
        for d in results.survey.districts
    ]
    return Counts(
        total=len(stored),
        today=int((day == today).sum()),
        by_district=by_district,
        by_source=dict(results.by_source),
    )


def _district_name(district: dict[str, str]) -> str:
    return pick({"zh": district.get("name_zh", ""), "en": district.get("name_en", "")}) or str(
        district["code"]
    )


# -- tables --------------------------------------------------------------------------------------


def _domain_names(db: Database, results: SurveyResults) -> dict[str, str]:
    """Framework dimension code → name in the reader's language (codes when not stored)."""
    fw = stored_framework(db, results.questionnaire.spec.framework)
    if fw is None:
        return {}
    lang = current_language()
    return {d.code: fw.name(d.code, lang) for d in fw.dimensions}


def _estimate(e: Any) -> dict[str, float]:
    return {"value": e.value, "low": e.low, "high": e.high, "n": e.n, "n_eff": e.n_eff}


def _completion(results: SurveyResults) -> list[dict[str, Any]]:
    texts = {q.id: pick(q.text.as_dict()) for q in results.questionnaire.questions()}
    frame = results.completion.assign(text=lambda f: f["question"].map(texts))
    return _records(frame)


def _indices(indices: pd.DataFrame, names: dict[str, str]) -> list[dict[str, Any]]:
    year = indices["year"].max()
    city = indices[(indices["group_by"] == ALL) & (indices["year"] == year)]
    return _records(city.assign(name=city["key"].map(lambda k: names.get(k, k))))


def _by_district(results: SurveyResults, experience: pd.DataFrame) -> list[dict[str, Any]]:
    names = {d["code"]: _district_name(d) for d in results.survey.districts}
    year = experience["year"].max()
    rows = experience[(experience["group_by"] == DISTRICT) & (experience["year"] == year)]
    return _records(rows.assign(name=rows["group"].map(lambda g: names.get(g, g))))


def _yoy(yoy: pd.DataFrame, names: dict[str, str]) -> list[dict[str, Any]]:
    """City-wide changes of the experience score and each domain (parents repeat a domain
    when they have one child, so they are left to the indices table)."""
    city = yoy[(yoy["group_by"] == ALL) & yoy["kind"].isin(("experience", "domain"))]
    experience = t("surveyweb.board.experience_short")
    named = (
        city["key"].map(lambda k: names.get(k, k)).where(city["kind"] != "experience", experience)
    )
    return _records(city.assign(name=named).sort_values("kind", key=lambda k: k != "experience"))


def _ipa(results: SurveyResults, names: dict[str, str]) -> list[dict[str, Any]]:
    assert results.analysis is not None
    ipa = results.analysis.ipa
    return _records(ipa.assign(name=ipa["domain"].map(lambda k: names.get(k, k))))


def _cuts(ipa: pd.DataFrame) -> dict[str, float]:
    """The cross-hairs drawn on the IPA chart: the ones the analysis placed the items by.

    Stated and derived importances are cut at their own means, so when both kinds are on the
    chart there is no single importance line; only the satisfaction line is drawn then.
    """
    if ipa.empty:
        return {}
    cuts = {"satisfaction": float(ipa["satisfaction_cut"].iloc[0])}
    importance = ipa["importance_cut"].unique()
    if importance.size == 1:
        cuts["importance"] = float(importance[0])
    return cuts


def _needs(needs: pd.DataFrame, names: dict[str, str]) -> list[dict[str, Any]]:
    catalogue = load_catalogue()
    labels = {code: pick({"zh": a.name_zh, "en": a.name_en}) for code, a in catalogue.items()}
    return _records(
        needs.assign(
            name=needs["application"].map(lambda c: labels.get(c, c)),
            domain_name=needs["domain"].map(lambda k: names.get(k, k)),
        )
    )


def _candidates(db: Database, results: SurveyResults) -> list[dict[str, Any]]:
    """The city's candidate applications from every subject surveyed that year."""
    found = candidate_applications_for(db, results.survey.unit, results.survey.year)
    return [
        {
            "rank": c.rank,
            "code": c.code,
            "name": pick({"zh": c.name_zh, "en": c.name_en}),
            "level": c.level.value,
            "term": c.term.value,
            "demand": c.demand,
            "subjects": [s.value for s in c.subjects],
        }
        for c in found.candidates
    ]


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as dicts with JSON-safe values (NaN → None, NumPy scalars → Python)."""
    return [{str(k): _plain(v) for k, v in row.items()} for row in frame.to_dict("records")]


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    return None if isinstance(value, float) and not np.isfinite(value) else value


# -- chart data ----------------------------------------------------------------------------------


def _charts(d: SurveyDashboard) -> dict[str, Any]:
    """The JSON each chart builder of ``static/js/surveys.js`` reads."""
    domains = [r for r in d.indices if r["kind"] == "domain"]
    return {
        "indices": _bars(domains, "name"),
        "districts": _bars(d.districts, "name"),
        "yoy": {
            "names": [r["name"] for r in d.yoy],
            "values": [_round(r["change"]) for r in d.yoy],
            "low": [_round(r["low"]) for r in d.yoy],
            "high": [_round(r["high"]) for r in d.yoy],
        },
        "ipa": {
            "points": [
                {
                    "name": r["name"],
                    "item": r["item"],
                    "quadrant": r["quadrant"],
                    "value": [_round(r["satisfaction"]), _round(r["importance"])],
                }
                for r in d.ipa
            ],
            "cuts": {k: _round(v) for k, v in d.ipa_cuts.items()},
            "labels": {q: t(f"surveyweb.quadrant.{q}") for q in QUADRANT_ORDER},
        },
    }


def _bars(rows: list[dict[str, Any]], label: str) -> dict[str, list[Any]]:
    return {
        "names": [r[label] for r in rows],
        "values": [_round(r["value"]) for r in rows],
        "low": [_round(r["low"]) for r in rows],
        "high": [_round(r["high"]) for r in rows],
    }


def _round(value: Any) -> float | None:
    return None if value is None or not np.isfinite(value) else round(float(value), 2)
