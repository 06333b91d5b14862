"""SYNTHETIC survey responses with planted truths, for benchmarks, coverage tests and the demo.

Nothing here is real: every answer is drawn from a fixed seed around values set by hand, so the
population value of every index and share is known exactly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd

from cityloop.survey.items import AnalysisPlan, Responses, Role

FloatArray = npt.NDArray[np.float64]

AGES = ("18-34", "35-59", "60+")
GENDERS = ("female", "male")
# Respondent-level and answer-level noise (0–100 points), uniform and centred: with the planted
# means kept within [30, 75] and effects within ±6 no probability is clipped, so the planted
# means are the exact population expectations of the 0–100 scores.
RESPONDENT_NOISE = 6.0
ANSWER_NOISE = 6.0
SKIP_RATE = 0.03

# Free-text needs (zh and en) and the application each one states, for the text question.
NEED_TEXTS = (
    ("小区附近停车难，希望多一些车位", "smart_parking"),
    ("看病挂号排队太久了", "online_appointment"),
    ("公交到站时间不准，经常等很久", "realtime_transit"),
    ("家里老人需要居家养老服务", "elderly_care_platform"),
    ("Mobile signal is weak and broadband is slow", "broadband_5g"),
    ("网上办事还要跑好几趟，材料太多", "one_network_services"),
)


@dataclass(frozen=True)
class PlantedTruth:
    """The population the synthetic respondents are drawn from.

    Satisfaction of a respondent in district ``d`` and age band ``a`` with an item of domain
    ``k`` has the expected 0–100 score ``domain_means[k] + district_effects[d] +
    age_effects[a]``. The age band ``oversampled`` answers ``oversampling`` times as often as
    its population share (so unweighted means are biased and weighting matters); age, district
    and gender are independent in the population, so raking to the margins recovers it.
    """

    domain_means: Mapping[str, float]
    district_effects: Mapping[str, float]
    district_shares: Mapping[str, float]
    age_effects: Mapping[str, float] = field(
        default_factory=lambda: {"18-34": 6.0, "35-59": 0.0, "60+": -6.0}
    )
    age_shares: Mapping[str, float] = field(
        default_factory=lambda: {"18-34": 0.3, "35-59": 0.45, "60+": 0.25}
    )
    gender_shares: Mapping[str, float] = field(default_factory=lambda: {"female": 0.5, "male": 0.5})
    oversampled: str = "18-34"
    oversampling: float = 3.0
    importance_means: Mapping[str, float] = field(default_factory=dict)
    drivers: Mapping[str, float] = field(default_factory=dict)
    need_rates: Mapping[str, float] = field(default_factory=dict)
    need_age_multipliers: Mapping[str, float] = field(
        default_factory=lambda: {"18-34": 1.5, "35-59": 1.0, "60+": 0.8}
    )
    text_rate: float = 0.05

    def margins(self) -> dict[str, dict[str, float]]:
        """Population margins of ``district``, ``age`` and ``gender`` (shares)."""
        return {
            "district": dict(self.district_shares),
            "age": dict(self.age_shares),
            "gender": dict(self.gender_shares),
        }

    def domain_truth(self, domain: str) -> float:
        """Population satisfaction index (0–100) of a domain for the whole city."""
        district = sum(self.district_shares[d] * e for d, e in self.district_effects.items())
        age = sum(self.age_shares[a] * e for a, e in self.age_effects.items())
        total = sum(self.district_shares.values())
        return self.domain_means[domain] + district / total + age

    def need_truth(self, application: str) -> float:
        """Population share stating a need by choice (texts not included)."""
        rate = self.need_rates[application]
        return sum(self.age_shares[a] * rate * m for a, m in self.need_age_multipliers.items())


def default_truth(plan: AnalysisPlan, districts: Sequence[str]) -> PlantedTruth:
    """Planted values spread over the plan's domains, districts and need choices."""
    domains = sorted({q.domain for q in plan.rated if q.role is Role.SATISFACTION})
    spread = np.linspace(0.0, 1.0, max(len(domains), 2))
    district_spread = np.linspace(-6.0, 6.0, max(len(districts), 2))
    apps = [c.application for c in plan.needs]
    return PlantedTruth(
        domain_means={d: 30.0 + 45.0 * s for d, s in zip(domains, spread, strict=False)},
        district_effects={d: float(e) for d, e in zip(districts, district_spread, strict=False)},
        district_shares={d: 1.0 + (k % 3) for k, d in enumerate(districts)},
        importance_means={d: 85.0 - 30.0 * s for d, s in zip(domains, spread, strict=False)},
        drivers={d: 1.0 + 3.0 * s for d, s in zip(domains, spread[::-1], strict=False)},
        need_rates={a: 0.02 + 0.2 * (k % 7) / 6 for k, a in enumerate(apps)},
    )


def _draw_category(
    rng: np.random.Generator, n: int, shares: Mapping[str, float], tilt: Mapping[str, float]
) -> pd.Categorical:
    labels = list(shares)
    p = np.array([shares[c] * tilt.get(c, 1.0) for c in labels], dtype=np.float64)
    codes = rng.choice(len(labels), size=n, p=p / p.sum())
    # pandas-stubs type the codes as a Sequence[int]; an integer array is what pandas expects.
    return pd.Categorical.from_codes(codes, categories=pd.Index(labels))  # type: ignore[arg-type]


def synthetic_responses(
    plan: AnalysisPlan,
    n: int,
    *,
    districts: Sequence[str],
    seed: int,
    year: int,
    planted: PlantedTruth | None = None,
) -> Responses:
    """SYNTHETIC responses to ``plan`` drawn from a planted population (never real data).

    Each rating is ``low + Binomial(high − low, p)`` with ``p`` the planted expected 0–100
    score (domain mean + district effect + age effect + uniform respondent and answer noise)
    divided by 100, so the 0–100 score's expectation is exactly the planted value. The overall
    question is driven by the items with weights ``planted.drivers`` (derived importance);
    importance ratings centre on ``planted.importance_means``. Each need choice is picked with
    its planted rate × the age band's multiplier; ``text_rate`` of respondents write one of
    :data:`NEED_TEXTS`. About 3 % of ratings are skipped at random. The same arguments give
    identical responses.

    Parameters
    ----------
    plan
        The questionnaire's analysis plan.
    n
        Number of respondents.
    districts
        District names (the ``district`` attribute).
    seed
        Seed of ``numpy.random.default_rng``.
    year
        Survey year of every response.
    planted
        The population; :func:`default_truth` when omitted.
    """
    truth = default_truth(plan, districts) if planted is None else planted
    rng = np.random.default_rng(seed)
    tilt = {truth.oversampled: truth.oversampling}
    district = _draw_category(rng, n, truth.district_shares, {})
    age = _draw_category(rng, n, truth.age_shares, tilt)
    gender = _draw_category(rng, n, truth.gender_shares, {})
    effects = np.array([truth.district_effects[d] for d in district.categories])[district.codes]
    effects += np.array([truth.age_effects[a] for a in age.categories])[age.codes]
    effects += rng.uniform(-RESPONDENT_NOISE, RESPONDENT_NOISE, n)
    columns: dict[str, object] = {"year": np.full(n, year, dtype=np.int64)}
    columns.update({"district": district, "age": age, "gender": gender})
    driven = np.zeros(n)
    driver_total = 0.0
    for question in plan.rated:
        span = question.high - question.low
        if question.role is Role.SATISFACTION:
            p = truth.domain_means[question.domain] + effects
            p = p + rng.uniform(-ANSWER_NOISE, ANSWER_NOISE, n)
            beta = truth.drivers.get(question.domain, 1.0)
            driven += beta * p
            driver_total += beta
        elif question.role is Role.IMPORTANCE:
            p = truth.importance_means.get(question.domain, 70.0) + rng.uniform(-10, 10, n)
        else:
            continue
        columns[question.question] = _rating(rng, p, question.low, span)
    for question in plan.rated:
        if question.role is Role.OVERALL and driver_total > 0:
            columns[question.question] = _rating(
                rng, driven / driver_total, question.low, question.high - question.low
            )
    frame = pd.DataFrame(columns)
    return Responses(frame, _choices(rng, plan, truth, age), _texts(rng, plan, truth, n))


def _rating(rng: np.random.Generator, expected: FloatArray, low: float, span: float) -> FloatArray:
    p = np.clip(expected / 100.0, 0.0, 1.0)
    answers = low + rng.binomial(int(span), p).astype(np.float64)
    answers[rng.random(p.size) < SKIP_RATE] = np.nan
    return answers


def _choices(
    rng: np.random.Generator, plan: AnalysisPlan, truth: PlantedTruth, age: pd.Categorical
) -> pd.DataFrame:
    multiplier = np.array([truth.need_age_multipliers[a] for a in age.categories])[age.codes]
    picked = []
    for choice in plan.needs:  # one draw per choice, vectorised over respondents
        chosen = rng.random(age.size) < truth.need_rates[choice.application] * multiplier
        rows = np.flatnonzero(chosen)
        picked.append((rows, choice.question, choice.choice))
    # Categorical columns: tens of millions of picks of a few dozen (question, choice) pairs.
    which = np.repeat(np.arange(len(picked)), [rows.size for rows, _, _ in picked])
    return pd.DataFrame(
        {
            "response": np.concatenate([rows for rows, _, _ in picked] or [np.zeros(0, np.intp)]),
            "question": pd.Categorical([question for _, question, _ in picked])[which],
            "choice": pd.Categorical([choice for _, _, choice in picked])[which],
        }
    )


def _texts(
    rng: np.random.Generator, plan: AnalysisPlan, truth: PlantedTruth, n: int
) -> pd.DataFrame:
    if not plan.need_texts:
        return pd.DataFrame({"response": [], "question": [], "text": []})
    rows = np.flatnonzero(rng.random(n) < truth.text_rate)
    pool = np.array([text for text, _ in NEED_TEXTS], dtype=object)
    return pd.DataFrame(
        {
            "response": rows,
            "question": plan.need_texts[0],
            "text": pool[rng.integers(0, len(pool), rows.size)],
        }
    )


# Domains of the citizen-like demo plan: GB/T 33356-2016 second-level dimensions.
DEMO_DOMAINS = (
    "L1P1", "L1P2", "L1P3", "L1P4", "L1P5", "L1P6", "L1P7", "L2P1", "L2P2", "L3P1", "L4P1",
)  # fmt: skip
DEMO_DISTRICTS = tuple(f"示例区{k:02d}" for k in range(1, 11))


def demo_plan(*, need_texts: bool = True) -> AnalysisPlan:
    """A citizen-experience-like plan: 11 domains × (satisfaction 1–5, importance 1–5), an
    overall 0–10 question, one need choice per application of those domains and a free-text
    need question. Used by the benchmark, the coverage tests and the demo."""
    from cityloop.survey.items import NeedChoice, RatedQuestion, Subject
    from cityloop.survey.needs_dictionary import load_catalogue

    rated = [
        RatedQuestion(f"{kind}_{d}", role, d, d, None, 1, 5)
        for d in DEMO_DOMAINS
        for kind, role in (("sat", Role.SATISFACTION), ("imp", Role.IMPORTANCE))
    ]
    rated.append(RatedQuestion("overall", Role.OVERALL, "overall", "L8P1", None, 0, 10))
    needs = tuple(
        NeedChoice("needs", app.code, app.domain, app.level, app.code)
        for app in load_catalogue().values()
        if app.domain in DEMO_DOMAINS
    )
    return AnalysisPlan(
        questionnaire="demo-citizen",
        subject=Subject.PUBLIC,
        framework="gbt33356-2016",
        score_indicator="L8P1-A1",
        attributes=("district", "age", "gender"),
        rated=tuple(rated),
        needs=needs,
        need_texts=("needs_text",) if need_texts else (),
    )
