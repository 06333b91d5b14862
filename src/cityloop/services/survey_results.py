"""Survey results on stored answers: responses for analysis, the analysis itself (cached per
response count), importing other tools' exports, margins, publishing the 市民体验 score, exports.

The dashboard, the JSON API and ``cityloop survey`` call these; the maths is ``cityloop.survey``.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pandas as pd

from cityloop.datahub.indicator_table import validate_values
from cityloop.datahub.survey_table import read_answers, read_margins
from cityloop.errors import InputError
from cityloop.frameworks.tree import Framework
from cityloop.i18n import t
from cityloop.services.dashboard_cache import FRESH_SECONDS, Cache
from cityloop.services.files import write_atomically
from cityloop.services.survey_tables import (
    candidates_frame,
    coded_responses,
    labelled_responses,
    responses_of,
)
from cityloop.services.workbook import excel_safe, write_workbook
from cityloop.store import Database, Origin, OriginKind, WriteCounts
from cityloop.store.audit import record_audit
from cityloop.store.models import Survey
from cityloop.store.surveys import SURVEY_ENTITY, NewResponse, SurveyRow, add_responses
from cityloop.survey.analysis import SurveyAnalysis, analyse
from cityloop.survey.items import Responses, Subject
from cityloop.survey.needs import CandidateApplication, candidate_applications
from cityloop.survey.needs_dictionary import load_catalogue
from cityloop.survey.questionnaire import Questionnaire, parse_questionnaire

CACHE_SIZE = 32  # analyses kept per process: a dashboard polls a handful of surveys
IMPORT_SOURCE = "import"
RECEIPT_BYTES = 12


@dataclass(frozen=True)
class SurveySummary:
    """One survey in a list: the stored row and how many responses it has."""

    row: SurveyRow
    responses: int


@dataclass(frozen=True)
class SurveyResults:
    """What the dashboard shows of one survey.

    ``completion`` has one row per question (``question, kind, answered, share``: share of
    the responses that answered it). ``analysis`` is None while there are no responses.
    ``weighted`` says whether the survey's margins were used; without margins every response
    weighs the same and ``weighting_note`` is the catalogue key saying so. ``previous`` is the
    earlier survey of the same city and questionnaire that the year-over-year change uses.
    """

    survey: SurveyRow
    questionnaire: Questionnaire
    responses: int
    by_source: dict[str, int]
    completion: pd.DataFrame
    analysis: SurveyAnalysis | None
    weighted: bool
    weighting_note: str | None
    previous: SurveyRow | None


@dataclass(frozen=True)
class ImportReport:
    """What ``import_answers`` stored: the count, and the columns it read and ignored."""

    survey_id: int
    file: str
    stored: int
    mapped_columns: tuple[str, ...]
    ignored_columns: tuple[str, ...]


@dataclass(frozen=True)
class PublishedScore:
    """The experience score written into the framework's score indicator."""

    survey_id: int
    unit: str
    year: int
    framework: str
    indicator: str
    value: float
    low: float
    high: float
    n: int
    counts: WriteCounts


@dataclass(frozen=True)
class CandidateList:
    """The candidate applications of a city and year, and the survey of each subject used."""

    unit: str
    year: int
    surveys: dict[Subject, SurveyRow]
    candidates: list[CandidateApplication]


# -- reading surveys ---------------------------------------------------------------------------


def get_survey(db: Database, survey_id: int) -> SurveyRow:
    """The stored survey; ``InputError`` naming the id when there is none."""
    row = db.surveys.get(survey_id)
    if row is None:
        raise InputError("surveyweb.svc.unknown_survey", survey=survey_id)
    return row


def list_surveys(db: Database, unit: str | None = None) -> list[SurveySummary]:
    """Stored surveys (of one city when given), newest first, with their response counts."""
    return [SurveySummary(r, db.surveys.response_count(r.id)) for r in db.surveys.list(unit)]


@lru_cache(maxsize=64)
def _parsed(questionnaire_yaml: str, source: str) -> Questionnaire:
    return parse_questionnaire(questionnaire_yaml, source)


def survey_questionnaire(row: SurveyRow) -> Questionnaire:
    """The questionnaire exactly as the survey opened with it."""
    return _parsed(row.questionnaire_yaml, f"{row.questionnaire_id}@{row.questionnaire_version}")


def survey_responses(db: Database, survey_id: int) -> Responses:
    """The stored answers of a survey in the shape analysis reads (``items.Responses``)."""
    row = get_survey(db, survey_id)
    return responses_of(survey_questionnaire(row), db.surveys.responses_frame(survey_id), row.year)


# -- analysis ------------------------------------------------------------------------------------


RESULTS: Cache[tuple[object, ...], SurveyResults] = Cache(CACHE_SIZE)
PARENTS: Cache[tuple[str, str], dict[str, str]] = Cache(8, FRESH_SECONDS)


def analyse_survey(db: Database, survey_id: int) -> SurveyResults:
    """Counts, completion and the full analysis of a survey's stored answers.

    Weighting rakes to the survey's margins (see ``set_margins``); without margins every
    response weighs the same. The latest earlier survey of the same city and questionnaire
    gives the year-over-year change; the framework's tree rolls domains up to their parents.
    Results are cached per survey, response count and margins, so a live dashboard that asks
    again before a new response arrived costs two counting queries.
    """
    row = get_survey(db, survey_id)
    count = db.surveys.response_count(survey_id)
    previous = _previous_survey(db, row)
    previous_count = db.surveys.response_count(previous.id) if previous is not None else 0
    key = (
        db.url, survey_id, count, json.dumps(row.margins, sort_keys=True),
        None if previous is None else previous.id, previous_count,
    )  # fmt: skip

    def build() -> SurveyResults:
        earlier = None
        if previous is not None and previous_count > 0:
            earlier = _results(db, previous, None).analysis
        return _results(db, row, earlier, previous if earlier is not None else None)

    return RESULTS.get(key, build)


def _results(
    db: Database,
    row: SurveyRow,
    earlier: SurveyAnalysis | None,
    previous: SurveyRow | None = None,
) -> SurveyResults:
    q = survey_questionnaire(row)
    stored = db.surveys.responses_frame(row.id)
    responses = responses_of(q, stored, row.year)
    weighted = bool(row.margins)
    analysis = None
    if len(stored):
        # Without margins, raking to the one year every response has gives equal weights.
        margins = row.margins if weighted else {"year": {row.year: 1.0}}
        analysis = analyse(q.plan(), responses, margins, previous=earlier, parents=_parents(db, q))
    by_source = stored["source"].value_counts().to_dict() if len(stored) else {}
    return SurveyResults(
        survey=row,
        questionnaire=q,
        responses=len(stored),
        by_source={str(k): int(v) for k, v in by_source.items()},
        completion=_completion(q, stored),
        analysis=analysis,
        weighted=weighted,
        weighting_note=None if weighted else "surveyweb.svc.equal_weights",
        previous=previous,
    )


def _completion(q: Questionnaire, stored: pd.DataFrame) -> pd.DataFrame:
    questions = q.questions()
    n = len(stored)
    answered = [int(stored[x.id].notna().sum()) if x.id in stored else 0 for x in questions]
    return pd.DataFrame(
        {
            "question": [x.id for x in questions],
            "kind": [x.kind.value for x in questions],
            "answered": answered,
            "share": [a / n if n else 0.0 for a in answered],
        }
    )


def _previous_survey(db: Database, row: SurveyRow) -> SurveyRow | None:
    """The latest survey of an earlier year, same city and questionnaire."""
    earlier = [
        s
        for s in db.surveys.list(row.unit)
        if s.questionnaire_id == row.questionnaire_id and s.year < row.year
    ]
    return max(earlier, key=lambda s: (s.year, s.id), default=None)


def _framework(db: Database, framework_id: str) -> Framework:
    return db.framework(framework_id)


def _parents(db: Database, q: Questionnaire) -> dict[str, str]:
    """Dimension → parent dimension of the questionnaire's framework (empty if not stored).

    Parsing a stored framework takes a second or more, so the tree is kept for a while.
    """

    def build() -> dict[str, str]:
        try:
            fw = _framework(db, q.spec.framework)
        except InputError:
            return {}
        return {d.code: d.parent for d in fw.dimensions if d.parent is not None}

    return PARENTS.get((db.url, q.spec.framework), build)


# -- writing: imported answers, margins, the published score ------------------------------------


def import_answers(db: Database, survey_id: int, path: str | Path, actor: str) -> ImportReport:
    """Import answers exported from another survey tool (CSV or XLSX), all or nothing.

    Every row is validated as a web submission would be; a receipt column (回执, 序号, …)
    makes a re-import refuse the rows already stored instead of storing them twice. Rows
    without a receipt get a fresh random one. Nothing is stored when any row is refused.
    """
    row = get_survey(db, survey_id)
    file = Path(path)
    q = survey_questionnaire(row)
    table = read_answers(q, file, row.districts, db.surveys.receipts(survey_id))
    rows = [
        NewResponse(
            receipt=a.receipt or f"imp-{secrets.token_urlsafe(RECEIPT_BYTES)}",
            attributes=a.submission.attributes,
            answers=a.submission.answers,
            source=IMPORT_SOURCE,
        )
        for a in table.answers
    ]
    with db.session() as s:  # the answers and their audit row commit together
        stored = add_responses(s, survey_id, rows)
        record_audit(
            s, actor, "import", SURVEY_ENTITY, str(survey_id),
            after={"file": file.name, "rows": stored},
        )  # fmt: skip
    return ImportReport(survey_id, str(file), stored, table.mapped, table.ignored)


def set_margins(
    db: Database, survey_id: int, source: str | Path | pd.DataFrame, actor: str
) -> SurveyRow:
    """Store the population margins the survey's answers are raked to.

    ``source`` is a CSV/XLSX file (or a DataFrame) with columns ``variable, category,
    population``: each variable a respondent attribute of the questionnaire, each category
    one of its choices (or of the survey's districts), every choice given once. Refused whole,
    every fault located, when anything is wrong.
    """
    row = get_survey(db, survey_id)
    margins = read_margins(source, survey_questionnaire(row), row.districts)
    with db.session() as s:
        stored = s.get(Survey, survey_id)
        if stored is None:
            raise InputError("surveyweb.svc.unknown_survey", survey=survey_id)
        before = {"variables": sorted(stored.margins)}
        stored.margins = margins
        s.flush()
        record_audit(
            s, actor, "margins", SURVEY_ENTITY, str(survey_id),
            before=before, after={"variables": sorted(margins)},
        )  # fmt: skip
    return get_survey(db, survey_id)


def publish_score(db: Database, survey_id: int, actor: str) -> PublishedScore:
    """Write the survey's experience score (0–100) as the city's value of the framework's
    ``score_indicator`` for the survey year, so the next evaluation run uses it.

    The value goes through the same validation, history and audit as any value write; its
    origin names the survey and the source column says how many responses it rests on.
    """
    results = analyse_survey(db, survey_id)
    row, analysis = results.survey, results.analysis
    plan = results.questionnaire.plan()
    if plan.score_indicator is None:
        raise InputError("surveyweb.svc.no_score_indicator", questionnaire=plan.questionnaire)
    if analysis is None:
        raise InputError("surveyweb.svc.no_responses", survey=survey_id)
    fw = _framework(db, plan.framework)
    score = analysis.experience_score
    value = round(score.value, 2)
    low, high = f"{score.low:.1f}", f"{score.high:.1f}"
    frame = pd.DataFrame(
        {
            "unit": [row.unit],
            "year": [row.year],
            "indicator": [plan.score_indicator],
            "value": [value],
            "source": [t("surveyweb.svc.score_source", survey=survey_id, n=score.n)],
            "note": [t("surveyweb.svc.score_note", low=low, high=high)],
        }
    )
    table = validate_values(frame, fw, db.units(), source=f"survey:{survey_id}")
    ref = f"survey:{survey_id} {row.questionnaire_id}@{row.questionnaire_version}"
    counts = db.upsert_values(table, fw, actor, Origin(OriginKind.API, ref))
    return PublishedScore(
        survey_id=survey_id, unit=row.unit, year=row.year, framework=fw.id,
        indicator=plan.score_indicator, value=value, low=score.low, high=score.high,
        n=score.n, counts=counts,
    )  # fmt: skip


# -- needs across the three subjects, and exports -----------------------------------------------


def candidate_applications_for(db: Database, unit: str, year: int) -> CandidateList:
    """The ranked candidate applications of a city and year from the needs its public,
    government and enterprise surveys stated (the latest survey with answers of each subject).

    This is the list the planning module consumes; a subject not surveyed is left out.
    """
    chosen: dict[Subject, SurveyRow] = {}
    for row in sorted(db.surveys.list(unit), key=lambda s: s.id):
        if row.year == year and db.surveys.response_count(row.id) > 0:
            chosen[survey_questionnaire(row).spec.subject] = row  # later ids win
    needs = {}
    for subject, row in chosen.items():
        analysis = analyse_survey(db, row.id).analysis
        if analysis is not None:
            needs[subject] = analysis.needs
    return CandidateList(unit, year, chosen, candidate_applications(needs, load_catalogue()))


def export_survey(db: Database, survey_id: int, path: str | Path, lang: str | None = None) -> Path:
    """Write the survey's answers and results to ``path``.

    ``.xlsx``: sheets of the responses (choices as their wording in ``lang``), indices with
    their intervals, the experience score, year-over-year change, IPA, needs and the city's
    candidate applications. ``.csv``: the responses with question ids and choice codes
    (multiple choice joined by ┋), UTF-8 with BOM, in the format ``import_answers`` reads
    back. Text a spreadsheet would run as a formula is prefixed with a quote in both.
    """
    out = Path(path)
    suffix = out.suffix.lower()
    if suffix not in {".xlsx", ".csv"}:
        raise InputError("surveyweb.svc.export_suffix", suffix=suffix or out.name)
    results = analyse_survey(db, survey_id)
    stored = db.surveys.responses_frame(survey_id)
    q, row = results.questionnaire, results.survey
    if suffix == ".csv":
        frame = excel_safe(coded_responses(q, stored))
        return write_atomically(
            out, lambda tmp: frame.to_csv(tmp, index=False, encoding="utf-8-sig")
        )
    sheets = {
        t("surveyweb.svc.sheet_responses", lang): labelled_responses(q, stored, row.districts, lang)
    }
    analysis = results.analysis
    if analysis is not None:
        candidates = candidate_applications_for(db, row.unit, row.year).candidates
        sheets |= {
            t("surveyweb.svc.sheet_indices", lang): analysis.indices,
            t("surveyweb.svc.sheet_experience", lang): analysis.experience,
            t("surveyweb.svc.sheet_yoy", lang): analysis.yoy,
            t("surveyweb.svc.sheet_ipa", lang): analysis.ipa,
            t("surveyweb.svc.sheet_needs", lang): analysis.needs,
            t("surveyweb.svc.sheet_applications", lang): candidates_frame(candidates, lang),
        }
    return write_atomically(out, lambda tmp: write_workbook(tmp, sheets, lang))
