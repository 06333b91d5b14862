"""Needs analysis: classify free text, rank the needs each subject states, propose applications.

Stated needs come from need choices (mapped by the questionnaire) and from free text (mapped by
the keyword dictionary); each respondent counts once per application.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from cityloop.errors import InputError
from cityloop.survey.grouped import z_value
from cityloop.survey.items import AnalysisPlan, NeedLevel, Responses, Subject, Term
from cityloop.survey.needs_dictionary import Application, NeedsDictionary, load_dictionary
from cityloop.survey.weighting import _as_weights

FloatArray = npt.NDArray[np.float64]

TERMS = (Term.NEAR, Term.MIDDLE, Term.LONG)
NEED_COLUMNS = [
    "subject", "domain", "level", "application", "share", "low", "high",
    "respondents", "from_text", "n", "n_eff",
]  # fmt: skip


def _hits(texts: pd.Series, word: str, whole_word: bool) -> npt.NDArray[np.bool_]:
    if whole_word:
        # RE2 (Arrow) syntax: \b around an escaped literal, so "job" does not match "jobless".
        pattern = r"\b" + "".join("\\" + c if not c.isalnum() else c for c in word) + r"\b"
        found = texts.str.contains(pattern, regex=True)
    else:
        found = texts.str.contains(word, regex=False)
    return found.to_numpy(dtype=bool, na_value=False)


def classify_texts(texts: Sequence[str] | pd.Series, dictionary: NeedsDictionary) -> pd.DataFrame:
    """Every application each text states a need for, and the keyword that showed it.

    A text matches an entry when it contains one of the entry's keywords and none of its
    exclusion words (Chinese: anywhere; English: as a whole word; case ignored). Each keyword
    is searched in all distinct texts at once (Arrow string kernels); the first keyword of the
    entry that matches is reported.

    Returns
    -------
    pandas.DataFrame
        Columns ``text`` (position in ``texts``), ``application``, ``keyword``; one row per
        match, ordered by text then dictionary order.
    """
    series = pd.Series(texts, dtype="string[pyarrow]").reset_index(drop=True)
    if series.empty:
        return pd.DataFrame(
            {"text": np.zeros(0, np.intp), "application": np.zeros(0, object),
             "keyword": np.zeros(0, object)}
        )  # fmt: skip
    codes, distinct = pd.factorize(series, use_na_sentinel=True)
    lowered = pd.Series(distinct, dtype="string[pyarrow]").str.lower()
    found: list[pd.DataFrame] = []
    for order, entry in enumerate(dictionary.entries):
        excluded = np.zeros(len(lowered), dtype=bool)
        for word in entry.exclude_zh:
            excluded |= _hits(lowered, word, whole_word=False)
        for word in entry.exclude_en:
            excluded |= _hits(lowered, word, whole_word=True)
        keyword = np.full(len(lowered), None, dtype=object)
        for word, whole in [(w, False) for w in entry.keywords_zh] + [
            (w, True) for w in entry.keywords_en
        ]:
            new = _hits(lowered, word, whole) & ~excluded & (keyword == None)  # noqa: E711
            keyword[new] = word
        matched = np.flatnonzero(keyword != None)  # noqa: E711
        found.append(
            pd.DataFrame(
                {"distinct": matched, "order": order, "application": entry.application,
                 "keyword": keyword[matched]}
            )
        )  # fmt: skip
    per_distinct = pd.concat(found, ignore_index=True)
    texts_of = pd.DataFrame({"text": np.arange(len(series)), "distinct": codes})
    matches = texts_of.merge(per_distinct, on="distinct")
    matches = matches.sort_values(["text", "order"], kind="stable", ignore_index=True)
    return matches[["text", "application", "keyword"]].astype({"keyword": str})


def _chosen_applications(
    plan: AnalysisPlan, choices: pd.DataFrame, codes: Mapping[str, int]
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """Respondent and application code of every picked choice that states a need.

    Questions and choices are turned into category codes once and looked up in a small
    (question × choice) table, so tens of millions of picks cost a few array passes.
    """
    questions = pd.Categorical(choices["question"])
    options = pd.Categorical(choices["choice"])
    table = np.full((len(questions.categories) + 1, len(options.categories) + 1), -1, np.intp)
    q_index = {q: k for k, q in enumerate(questions.categories)}
    c_index = {c: k for k, c in enumerate(options.categories)}
    for need in plan.needs:
        if need.question in q_index and need.choice in c_index:
            table[q_index[need.question], c_index[need.choice]] = codes[need.application]
    # Code −1 (a missing value) indexes the extra last row/column, which maps to no need.
    app = table[questions.codes, options.codes]
    response = choices["response"].to_numpy(dtype=np.intp)
    stated = app >= 0
    if stated.all():  # the usual case: every pick states a need; skip two copies
        return response, app
    return response[stated], app[stated]


def _wilson(share: FloatArray, n_eff: float, z: float) -> tuple[FloatArray, FloatArray]:
    """Wilson score interval with Kish's effective n, as in ``weighted_share`` (vectorised)."""
    z2n = z * z / n_eff
    centre = (share + z2n / 2) / (1 + z2n)
    half = z / (1 + z2n) * np.sqrt(share * (1 - share) / n_eff + z2n / (4 * n_eff))
    return np.minimum(np.maximum(centre - half, 0.0), share), np.maximum(
        np.minimum(centre + half, 1.0), share
    )


def rank_needs(
    plan: AnalysisPlan,
    responses: Responses,
    weights: npt.ArrayLike,
    *,
    dictionary: NeedsDictionary | None = None,
    year: int | None = None,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Weighted share of respondents stating each need, per domain, level and application.

    A respondent states the need for an application when they picked a need choice mapped to
    it or wrote a need text the dictionary maps to it; either way they count once. The share
    is over all respondents of the year (not stating a need counts as "no"), with Wilson's
    interval on Kish's effective sample size (as :func:`~cityloop.survey.weighted_share`).

    Returns
    -------
    pandas.DataFrame
        Columns ``subject, domain, level, application, share, low, high, respondents``
        (stating it), ``from_text`` (of whom by free text), ``n`` (respondents of the year),
        ``n_eff``; ordered by share, largest first.
    """
    dictionary = load_dictionary() if dictionary is None else dictionary
    catalogue = dictionary.catalogue
    unknown = sorted({c.application for c in plan.needs} - catalogue.keys())
    if unknown:
        raise InputError("survey.application_unknown", codes=", ".join(unknown))
    frame = responses.frame
    w = _as_weights(weights)
    chosen_year = int(frame["year"].max()) if year is None else year
    in_year = frame["year"].to_numpy() == chosen_year
    if not in_year.any():
        raise InputError("survey.year_absent", year=chosen_year)
    year_weights = np.where(in_year, w, 0.0)
    codes = {code: k for k, code in enumerate(catalogue)}
    picked = _chosen_applications(plan, responses.choices, codes)
    written = responses.texts[responses.texts["question"].isin(plan.need_texts)]
    classified = classify_texts(written["text"], dictionary)
    by_text = pd.DataFrame(
        {
            "response": written["response"].to_numpy(dtype=np.intp)[
                classified["text"].to_numpy(dtype=np.intp)
            ],
            "app": classified["application"].map(codes).to_numpy(dtype=np.intp),
        }
    )
    response = np.concatenate([picked[0], by_text["response"].to_numpy(dtype=np.intp)])
    app = np.concatenate([picked[1], by_text["app"].to_numpy(dtype=np.intp)])
    if not in_year.all():
        keep = in_year[response]
        response, app = response[keep], app[keep]
    text_pairs = by_text[in_year[by_text["response"].to_numpy()]].drop_duplicates()
    from_text = np.bincount(text_pairs["app"].to_numpy(dtype=np.intp), minlength=len(codes))
    # 16-bit codes sort by radix, in time linear in the picks whatever their order.
    order = np.argsort(app.astype(np.int16), kind="stable")
    bounds = np.searchsorted(app[order], np.arange(len(codes) + 1))
    response = response[order]  # one gather, then each application's rows are contiguous
    weighted = np.zeros(len(codes))
    counted = np.zeros(len(codes), dtype=np.int64)
    stamp = np.zeros(len(frame), dtype=np.int32)  # half the memory traffic of intp
    # Per application (a loop over the catalogue, not over respondents), each respondent counts
    # once: every row stamps its position on its respondent, and only the row whose stamp
    # survives is kept, so repeated (respondent, application) pairs keep exactly one row.
    for k in np.flatnonzero(np.diff(bounds)):
        rows = response[bounds[k] : bounds[k + 1]]
        positions = np.arange(rows.size, dtype=np.int32)
        stamp[rows] = positions
        distinct = rows[stamp[rows] == positions]
        weighted[k] = year_weights[distinct].sum()
        counted[k] = distinct.size
    total = year_weights.sum()
    n_eff = float(total**2 / np.square(year_weights).sum())
    share = weighted / total
    low, high = _wilson(share, n_eff, z_value(confidence))
    apps = list(catalogue.values())
    result = pd.DataFrame(
        {
            "subject": plan.subject.value,
            "domain": [a.domain for a in apps],
            "level": [a.level.value for a in apps],
            "application": [a.code for a in apps],
            "share": share,
            "low": low,
            "high": high,
            "respondents": counted,
            "from_text": from_text,
            "n": int(in_year.sum()),
            "n_eff": n_eff,
        }
    )
    result = result[result["respondents"] > 0]
    return result.sort_values(
        ["share", "application"], ascending=[False, True], kind="stable", ignore_index=True
    )[NEED_COLUMNS]


@dataclass(frozen=True)
class NeedEvidence:
    """What one subject said about an application: weighted share with CI and counts."""

    subject: Subject
    share: float
    low: float
    high: float
    respondents: int
    n_eff: float


@dataclass(frozen=True)
class CandidateApplication:
    """An application the plan should consider, with when and why."""

    rank: int
    code: str
    name_zh: str
    name_en: str
    domain: str
    level: NeedLevel
    term: Term
    default_term: Term
    demand: float
    subjects: tuple[Subject, ...]
    strong_subjects: tuple[Subject, ...]
    evidence: tuple[NeedEvidence, ...]


def candidate_applications(
    needs_by_subject: Mapping[Subject, pd.DataFrame],
    catalogue: Mapping[str, Application],
    *,
    strong: float = 0.25,
) -> list[CandidateApplication]:
    """Rank the applications the subjects asked for and place each in a term.

    Parameters
    ----------
    needs_by_subject
        :func:`rank_needs` output of each surveyed subject.
    catalogue
        The application catalogue (names, domain, level, default term).
    strong
        A subject states a need *strongly* when the lower bound of its share's interval is
        at least this share.

    Returns
    -------
    list of CandidateApplication
        Ordered by demand, highest first. ``demand`` is the mean over the surveyed subjects
        of the share stating the need (a subject that did not state it counts 0), × 100.
        ``term`` is the catalogue's default term (basic → near, developmental → middle,
        personalised → long) moved one term earlier when two or more subjects state the need
        strongly: a need several stakeholders share, with confidence, cannot wait.
    """
    if not needs_by_subject:
        return []
    rows = pd.concat(
        [frame.assign(subject=str(subject)) for subject, frame in needs_by_subject.items()],
        ignore_index=True,
    )
    unknown = sorted(set(rows["application"]) - catalogue.keys())
    if unknown:
        raise InputError("survey.application_unknown", codes=", ".join(unknown))
    demand = rows.groupby("application")["share"].sum() / len(needs_by_subject) * 100
    rows["is_strong"] = rows["low"] >= strong
    strong_count = rows.groupby("application")["is_strong"].sum()
    ordered = sorted(demand.index, key=lambda code: (-demand[code], code))
    candidates = []
    for rank, code in enumerate(ordered, start=1):
        app = catalogue[code]
        mine = rows[rows["application"] == code]
        pulled = TERMS.index(app.term) - (1 if strong_count[code] >= 2 else 0)
        candidates.append(
            CandidateApplication(
                rank=rank,
                code=code,
                name_zh=app.name_zh,
                name_en=app.name_en,
                domain=app.domain,
                level=app.level,
                term=TERMS[max(pulled, 0)],
                default_term=app.term,
                demand=float(demand[code]),
                subjects=tuple(Subject(s) for s in mine["subject"]),
                strong_subjects=tuple(Subject(s) for s in mine.loc[mine["is_strong"], "subject"]),
                evidence=tuple(
                    NeedEvidence(Subject(r.subject), r.share, r.low, r.high, r.respondents, r.n_eff)
                    for r in mine.itertuples()
                ),
            )
        )
    return candidates
