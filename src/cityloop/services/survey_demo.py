"""The demo's SYNTHETIC surveys: a citizen survey over two years, a government and an enterprise
survey of one demo city with districts, answered by synthetic respondents from a fixed seed.

Nothing here is real; every survey, response and margin is labelled synthetic (来源 demo).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from cityloop.demo.survey import PlantedTruth, default_truth, synthetic_responses
from cityloop.errors import InputError
from cityloop.services.survey_collect import city_districts, close_survey, open_survey
from cityloop.store import Database
from cityloop.store.surveys import NewResponse, SurveyRow
from cityloop.survey.answers import Answer, validate_submission
from cityloop.survey.items import Responses
from cityloop.survey.questionnaire import Questionnaire, shipped_questionnaire
from cityloop.survey.questionnaire_schema import (
    CHOICE_KINDS,
    SCALE_ENDS,
    Kind,
    Question,
    ShowIf,
)

DEMO_SEED = 20250601
DEMO_SOURCE = "demo"
CITIZEN = "citizen-experience-gbt33356-2016"
GOVERNMENT = "government-gbt33356-2016"
ENTERPRISE = "enterprise-gbt33356-2016"
# Respondents per survey: enough for stable indices, small enough to load in a second or two.
DEMO_SIZES = {CITIZEN: 600, GOVERNMENT: 120, ENTERPRISE: 200}
# The citizen questionnaire's age bands, the population shares and effects the demo plants.
AGE_SHARES = {"18-24": 0.1, "25-34": 0.2, "35-44": 0.2, "45-54": 0.2, "55-64": 0.15, "65+": 0.15}
AGE_EFFECTS = {"18-24": 6.0, "25-34": 4.0, "35-44": 1.0, "45-54": -1.0, "55-64": -4.0, "65+": -6.0}
DEMO_POPULATION = 1_000_000  # synthetic population the margins are scaled to


@dataclass(frozen=True)
class DemoSurveys:
    """The demo surveys written (empty when the city had surveys already)."""

    unit: str
    surveys: list[SurveyRow]


def demo_city(db: Database, preferred: str | None = None) -> str:
    """A city with districts: ``preferred`` when it has any, else the first by code."""
    units = db.units()
    if units is None:
        raise InputError("surveyweb.svc.demo_no_regions")
    table = units.table
    with_districts = sorted(set(table.loc[table["level"] == "district", "parent"].astype(str)))
    if not with_districts:
        raise InputError("surveyweb.svc.demo_no_districts")
    return preferred if preferred in with_districts else with_districts[0]


def load_demo_surveys(
    db: Database,
    year: int,
    *,
    actor: str,
    unit: str | None = None,
    seed: int = DEMO_SEED,
    sizes: Mapping[str, int] = DEMO_SIZES,
) -> DemoSurveys:
    """Open and fill the SYNTHETIC demo surveys of ``unit`` (default: a demo city with districts):
    citizen surveys of ``year − 1`` (closed) and ``year``, government and enterprise surveys of
    ``year``, each with synthetic responses; the citizen surveys get synthetic margins. Nothing
    is written when the city has surveys already. ``sizes`` are respondents per questionnaire."""
    city = demo_city(db, unit)
    if db.surveys.list(city):
        return DemoSurveys(city, [])
    districts = city_districts(db, city)
    codes = [d["code"] for d in districts]
    written = []
    plan = [(CITIZEN, year - 1), (CITIZEN, year), (GOVERNMENT, year), (ENTERPRISE, year)]
    for k, (questionnaire_id, survey_year) in enumerate(plan):
        q = shipped_questionnaire(questionnaire_id)
        truth = _truth(q, codes, shift=2.0 * (survey_year - year))
        margins = _margins(truth) if questionnaire_id == CITIZEN else {}
        row = open_survey(
            db, city, questionnaire_id, year=survey_year, actor=actor, districts=districts,
            margins=margins,
        )  # fmt: skip
        sample = synthetic_responses(
            q.plan(), sizes[questionnaire_id], districts=codes, seed=seed + k,
            year=survey_year, planted=truth,
        )  # fmt: skip
        db.surveys.add_responses(row.id, _responses(q, sample, codes, seed + k, row.id))
        if survey_year < year:
            row = close_survey(db, row.id, actor=actor)
        written.append(row)
    return DemoSurveys(city, written)


def _truth(q: Questionnaire, districts: list[str], shift: float) -> PlantedTruth:
    """The default planted population on the questionnaire's own age bands; ``shift`` moves
    every domain mean (the earlier year is a little less satisfied, so YoY shows a change)."""
    truth = default_truth(q.plan(), districts)
    return replace(
        truth,
        domain_means={d: m + shift for d, m in truth.domain_means.items()},
        age_effects=AGE_EFFECTS,
        age_shares=AGE_SHARES,
        oversampled="25-34",
        need_age_multipliers=dict.fromkeys(AGE_SHARES, 1.0),
    )


def _margins(truth: PlantedTruth) -> dict[str, dict[str, float]]:
    """Synthetic population counts of district, age band and gender."""
    shares = truth.margins()
    names = {"district": "district", "age": "age_band", "gender": "gender"}
    return {
        names[variable]: {
            category: round(DEMO_POPULATION * share / sum(values.values()))
            for category, share in values.items()
        }
        for variable, values in shares.items()
    }


def _responses(
    q: Questionnaire, sample: Responses, districts: list[str], seed: int, survey_id: int
) -> list[NewResponse]:
    """Each synthetic respondent as a submission the questionnaire accepts, validated."""
    rng = np.random.default_rng(seed)
    frame = sample.frame.rename(columns={"age": "age_band"})
    picks = sample.choices.groupby(["response", "question"], observed=True)["choice"].agg(list)
    texts: dict[tuple[int, str], str] = {
        (int(r), str(x)): str(v)
        for r, x, v in sample.texts[["response", "question", "text"]].itertuples(index=False)
    }
    rows = []
    for i, record in enumerate(frame.to_dict("records")):
        payload = _payload(q, record, i, picks, texts, districts, rng)
        submission = validate_submission(q, payload, districts)
        rows.append(
            NewResponse(
                receipt=f"demo-{survey_id}-{i:05d}",
                attributes=submission.attributes,
                answers=submission.answers,
                source=DEMO_SOURCE,
            )
        )
    return rows


def _payload(
    q: Questionnaire,
    record: Mapping[Any, Any],
    i: int,
    picks: pd.Series,
    texts: Mapping[tuple[int, str], str],
    districts: list[str],
    rng: np.random.Generator,
) -> dict[str, Answer]:
    payload: dict[str, Answer] = {}
    for attribute in q.attributes:
        if attribute.id in record:
            payload[attribute.id] = str(record[attribute.id])
        else:
            choices = attribute.choices
            codes = districts if isinstance(choices, str) else [c.code for c in choices]
            payload[attribute.id] = str(rng.choice(codes))
    # A "have you used …" question says yes when the rating it gates was answered.
    gates = {
        x.show_if.question: x
        for x in q.questions()
        if x.show_if is not None and x.show_if.any_of and x.id in record
    }
    for x in q.questions():
        rule = x.show_if
        if rule is not None and not _shown(rule, payload):
            continue
        value: Answer
        if x.id in gates:
            gated = record[gates[x.id].id]
            yes = gates[x.id].show_if.any_of[0]  # type: ignore[union-attr,index]
            others = [c.code for c in x.choices or [] if c.code != yes]
            value = yes if pd.notna(gated) or not others else others[0]
        elif x.id in record:
            value = _rating(x, record[x.id], rng)
        elif x.kind in CHOICE_KINDS:
            value = _choice(x, picks.get((i, x.id)), rng)
        elif x.kind == Kind.TEXT:
            value = texts.get((i, x.id))
        else:
            low, high = SCALE_ENDS.get(x.kind, (x.min or 0.0, x.max or 100.0))
            value = float(rng.integers(int(low), int(high) + 1))
        if value is not None:
            payload[x.id] = value
    return payload


def _shown(rule: ShowIf, payload: Mapping[str, Answer]) -> bool:
    value = payload.get(rule.question)
    if rule.any_of is not None:
        picked = value if isinstance(value, list) else [value]
        return any(code in rule.any_of for code in picked)
    return isinstance(value, float) and (
        (rule.at_least is None or value >= rule.at_least)
        and (rule.at_most is None or value <= rule.at_most)
    )


def _rating(x: Question, value: Any, rng: np.random.Generator) -> Answer:
    if pd.notna(value):
        return float(value)
    if x.allow_na:
        return "na"
    low, high = SCALE_ENDS[x.kind]
    return float(rng.integers(int(low), int(high) + 1))


def _choice(x: Question, picked: list[str] | None, rng: np.random.Generator) -> Answer:
    choices = x.choices or []
    plain = [c.code for c in choices if not c.exclusive]
    if x.kind == Kind.SINGLE:
        return str(rng.choice([c.code for c in choices]))
    chosen = list(picked or [])[: x.max_choices or len(choices)]
    if chosen:
        return chosen
    exclusive = [c.code for c in choices if c.exclusive]
    return exclusive[:1] or [str(rng.choice(plain))]
