"""Questionnaires, surveys and their responses in the store: save, open, close, add and read.

``db.surveys`` (a ``SurveyStore``) is the facade; survey and questionnaire changes are audited.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import duckdb
import pandas as pd
from sqlalchemy import Text, cast, func, insert, select
from sqlalchemy.orm import Session

from cityloop.errors import InputError, Location, Problem
from cityloop.store.audit import record_audit, utc_now
from cityloop.store.models import (
    QuestionnaireRecord,
    Region,
    Survey,
    SurveyResponse,
    SurveyStatus,
    table_of,
)

QUESTIONNAIRE_ENTITY = "questionnaires"
SURVEY_ENTITY = "surveys"
SLUG_BYTES = 12  # 96 random bits: a slug can be shared but never guessed
RESPONSE_COLUMNS = ("receipt", "submitted_at", "source")


@dataclass(frozen=True)
class QuestionnaireRow:
    """One stored version of a custom or edited questionnaire."""

    id: str
    version: str
    yaml_text: str
    updated_by: str
    updated_at: datetime


@dataclass(frozen=True)
class SurveyRow:
    """A survey with the questionnaire text it opened with."""

    id: int
    slug: str
    unit: str
    questionnaire_id: str
    questionnaire_version: str
    questionnaire_yaml: str
    year: int
    districts: list[dict[str, str]]
    margins: dict[str, dict[str, float]]
    status: SurveyStatus
    created_by: str
    created_at: datetime
    closes_at: datetime | None


@dataclass(frozen=True)
class NewResponse:
    """A validated response to store: ``receipt`` is unique per survey, and so is
    ``device_hash`` when given."""

    receipt: str
    attributes: Mapping[str, str]
    answers: Mapping[str, Any]
    source: str = "web"
    device_hash: str | None = None
    submitted_at: datetime = field(default_factory=utc_now)

    def row(self, survey_id: int) -> dict[str, Any]:
        """The row's column values."""
        return {
            "survey_id": survey_id,
            "receipt": self.receipt,
            "device_hash": self.device_hash,
            "source": self.source,
            "submitted_at": self.submitted_at,
            "attributes": dict(self.attributes),
            "answers": dict(self.answers),
        }


# -- questionnaires ------------------------------------------------------------------------------


def save_questionnaire(
    session: Session, questionnaire_id: str, version: str, yaml_text: str, actor: str
) -> QuestionnaireRow:
    """Store (or replace) one version of a questionnaire."""
    row = session.get(QuestionnaireRecord, (questionnaire_id, version))
    before = None if row is None else {"yaml_chars": len(row.yaml_text)}
    if row is None:
        row = QuestionnaireRecord(id=questionnaire_id, version=version)
        session.add(row)
    row.yaml_text, row.updated_by, row.updated_at = yaml_text, actor, utc_now()
    session.flush()
    record_audit(
        session, actor, "save", QUESTIONNAIRE_ENTITY, f"{questionnaire_id}@{version}",
        before=before, after={"yaml_chars": len(yaml_text)}, at=row.updated_at,
    )  # fmt: skip
    return _questionnaire(row)


def list_questionnaires(session: Session) -> list[QuestionnaireRow]:
    """Every stored questionnaire version, by id then version."""
    query = select(QuestionnaireRecord).order_by(
        QuestionnaireRecord.id, QuestionnaireRecord.version
    )
    return [_questionnaire(r) for r in session.scalars(query)]


def get_questionnaire(
    session: Session, questionnaire_id: str, version: str | None = None
) -> QuestionnaireRow | None:
    """One stored version (default: the one saved last); None when there is none."""
    query = select(QuestionnaireRecord).where(QuestionnaireRecord.id == questionnaire_id)
    if version is not None:
        query = query.where(QuestionnaireRecord.version == version)
    row = session.scalars(query.order_by(QuestionnaireRecord.updated_at.desc()).limit(1)).first()
    return None if row is None else _questionnaire(row)


# -- surveys -------------------------------------------------------------------------------------


def create_survey(
    session: Session,
    *,
    unit: str,
    questionnaire_id: str,
    questionnaire_version: str,
    questionnaire_yaml: str,
    year: int,
    districts: Sequence[Mapping[str, str]],
    margins: Mapping[str, Mapping[str, float]],
    actor: str,
    closes_at: datetime | None = None,
) -> SurveyRow:
    """A new survey in draft, with a fresh random slug."""
    if session.get(Region, unit) is None:
        raise InputError("store.unknown_region", value=unit)
    row = Survey(
        slug=secrets.token_urlsafe(SLUG_BYTES),
        unit_code=unit,
        questionnaire_id=questionnaire_id,
        questionnaire_version=questionnaire_version,
        questionnaire_yaml=questionnaire_yaml,
        year=year,
        districts=[dict(d) for d in districts],
        margins={k: dict(v) for k, v in margins.items()},
        status=SurveyStatus.DRAFT,
        created_by=actor,
        created_at=utc_now(),
        closes_at=closes_at,
    )
    session.add(row)
    session.flush()
    after = {
        "unit": unit, "questionnaire": f"{questionnaire_id}@{questionnaire_version}",
        "year": year, "districts": len(row.districts), "slug": row.slug,
    }  # fmt: skip
    record_audit(session, actor, "create", SURVEY_ENTITY, str(row.id), after=after)
    return _survey(row)


def set_status(session: Session, survey_id: int, status: SurveyStatus, actor: str) -> SurveyRow:
    """Open or close a survey (a closed survey stays closed)."""
    row = session.get(Survey, survey_id)
    if row is None:
        raise InputError("surveypub.unknown_survey", survey=survey_id)
    if row.status == SurveyStatus.CLOSED and status != SurveyStatus.CLOSED:
        raise InputError("surveypub.survey_closed_for_good", survey=survey_id)
    before = {"status": row.status.value}
    row.status = status
    session.flush()
    record_audit(
        session, actor, status.value, SURVEY_ENTITY, str(survey_id),
        before=before, after={"status": status.value},
    )  # fmt: skip
    return _survey(row)


def list_surveys(session: Session, unit: str | None = None) -> list[SurveyRow]:
    """Surveys (of one city when given), newest first."""
    query = select(Survey).order_by(Survey.created_at.desc(), Survey.id.desc())
    if unit is not None:
        query = query.where(Survey.unit_code == unit)
    return [_survey(r) for r in session.scalars(query)]


def get_survey(session: Session, survey_id: int) -> SurveyRow | None:
    row = session.get(Survey, survey_id)
    return None if row is None else _survey(row)


def survey_by_slug(session: Session, slug: str) -> SurveyRow | None:
    row = session.scalars(select(Survey).where(Survey.slug == slug)).first()
    return None if row is None else _survey(row)


# -- responses -----------------------------------------------------------------------------------


def add_responses(session: Session, survey_id: int, rows: Sequence[NewResponse]) -> int:
    """Store ``rows`` all together or, when any receipt or device is taken (in the database
    or twice in ``rows``), none of them: the error names each duplicate. Returns the count."""
    if session.get(Survey, survey_id) is None:
        raise InputError("surveypub.unknown_survey", survey=survey_id)
    problems = _duplicates(session, survey_id, rows)
    if problems:
        raise InputError("surveypub.duplicates", problems, survey=survey_id)
    if rows:
        session.execute(insert(table_of(SurveyResponse)), [r.row(survey_id) for r in rows])
    return len(rows)


def _duplicates(session: Session, survey_id: int, rows: Sequence[NewResponse]) -> list[Problem]:
    r = SurveyResponse
    problems: list[Problem] = []
    for column, values in (
        ("receipt", [x.receipt for x in rows]),
        ("device_hash", [x.device_hash for x in rows if x.device_hash is not None]),
    ):
        stored = set(
            session.scalars(
                select(getattr(r, column)).where(
                    r.survey_id == survey_id, getattr(r, column).in_(set(values))
                )
            )
        )
        seen: set[str] = set()
        for position, value in enumerate(values, start=1):
            if value in stored or value in seen:
                key = (
                    "surveypub.duplicate_receipt"
                    if column == "receipt"
                    else "surveypub.duplicate_device"
                )
                problems.append(
                    Problem(key, {"value": value}, Location(row=position, column=column))
                )
            seen.add(value)
    return problems


def response_count(session: Session, survey_id: int) -> int:
    r = SurveyResponse
    return int(session.scalar(select(func.count()).where(r.survey_id == survey_id)) or 0)


def responses_frame(session: Session, survey_id: int) -> pd.DataFrame:
    """The stored responses, oldest first: ``receipt``, ``submitted_at``, ``source``, then one
    column per attribute and per answered question (choices as arrays of codes, absent None).

    The JSON is fetched as text in one query and expanded by DuckDB's JSON functions: no
    Python work per response.
    """
    r = SurveyResponse
    query = (
        select(r.receipt, r.submitted_at, r.source, cast(r.attributes, Text), cast(r.answers, Text))
        .where(r.survey_id == survey_id)
        .order_by(r.id)
    )
    raw = pd.DataFrame(
        session.execute(query).all(), columns=[*RESPONSE_COLUMNS, "attributes", "answers"]
    )
    return expand_json(raw)


def expand_json(raw: pd.DataFrame) -> pd.DataFrame:
    """``raw`` (with JSON text columns ``attributes`` and ``answers``) with one column per key:
    attributes as text, numbers as floats, choices as lists of codes, texts as text."""
    base = raw[list(RESPONSE_COLUMNS)].reset_index(drop=True)
    if raw.empty:
        return base
    con = duckdb.connect()
    try:
        con.register("raw", raw[["attributes", "answers"]].reset_index(drop=True))
        kinds = con.execute(
            "SELECT src, key, list(DISTINCT json_type(json_extract(doc, '$.\"' || key || '\"')))"
            " FROM (SELECT 'attributes' AS src, attributes::JSON AS doc FROM raw"
            " UNION ALL SELECT 'answers', answers::JSON FROM raw) d,"
            " unnest(json_keys(doc)) AS k(key) GROUP BY src, key ORDER BY src DESC, key"
        ).fetchall()
        columns = [_typed(src, key, set(types)) for src, key, types in kinds]
        if not columns:
            return base
        expanded = con.execute(f"SELECT {', '.join(columns)} FROM raw").df()
    finally:
        con.close()
    return pd.concat([base, expanded], axis=1)


def _typed(source: str, key: str, types: set[str]) -> str:
    """The DuckDB expression that reads ``key`` of ``source`` with the type its values have."""
    path = "'$.\"" + key.replace("'", "''").replace('"', '\\"') + "\"'"
    name = '"' + key.replace('"', '""') + '"'
    found = types - {"NULL"}
    if found and found <= {"BIGINT", "UBIGINT", "DOUBLE"}:
        return f"CAST(json_extract({source}::JSON, {path}) AS DOUBLE) AS {name}"
    if found == {"ARRAY"}:
        return f"CAST(json_extract({source}::JSON, {path}) AS VARCHAR[]) AS {name}"
    return f"json_extract_string({source}::JSON, {path}) AS {name}"


# -- rows ----------------------------------------------------------------------------------------


def _questionnaire(row: QuestionnaireRecord) -> QuestionnaireRow:
    return QuestionnaireRow(row.id, row.version, row.yaml_text, row.updated_by, row.updated_at)


def _survey(row: Survey) -> SurveyRow:
    return SurveyRow(
        id=row.id,
        slug=row.slug,
        unit=row.unit_code,
        questionnaire_id=row.questionnaire_id,
        questionnaire_version=row.questionnaire_version,
        questionnaire_yaml=row.questionnaire_yaml,
        year=row.year,
        districts=list(row.districts),
        margins=dict(row.margins),
        status=SurveyStatus(row.status),
        created_by=row.created_by,
        created_at=row.created_at,
        closes_at=row.closes_at,
    )


# -- the facade ------------------------------------------------------------------------------------


class Sessions(Protocol):
    """What the facade needs of ``Database``: a write session and a read session."""

    def session(self) -> AbstractContextManager[Session]: ...

    def reader(self) -> AbstractContextManager[Session]: ...


class SurveyStore:
    """``db.surveys``: questionnaires, surveys and responses, each call one transaction."""

    def __init__(self, db: Sessions) -> None:
        self._db = db

    def save_questionnaire(
        self, questionnaire_id: str, version: str, yaml_text: str, *, actor: str
    ) -> QuestionnaireRow:
        with self._db.session() as s:
            return save_questionnaire(s, questionnaire_id, version, yaml_text, actor)

    def questionnaires(self) -> list[QuestionnaireRow]:
        with self._db.reader() as s:
            return list_questionnaires(s)

    def questionnaire(
        self, questionnaire_id: str, version: str | None = None
    ) -> QuestionnaireRow | None:
        with self._db.reader() as s:
            return get_questionnaire(s, questionnaire_id, version)

    def create(self, **survey: Any) -> SurveyRow:
        """A new draft survey; see ``create_survey`` for the fields."""
        with self._db.session() as s:
            return create_survey(s, **survey)

    def open(self, survey_id: int, *, actor: str) -> SurveyRow:
        with self._db.session() as s:
            return set_status(s, survey_id, SurveyStatus.OPEN, actor)

    def close(self, survey_id: int, *, actor: str) -> SurveyRow:
        with self._db.session() as s:
            return set_status(s, survey_id, SurveyStatus.CLOSED, actor)

    def list(self, unit: str | None = None) -> list[SurveyRow]:
        with self._db.reader() as s:
            return list_surveys(s, unit)

    def get(self, survey_id: int) -> SurveyRow | None:
        with self._db.reader() as s:
            return get_survey(s, survey_id)

    def by_slug(self, slug: str) -> SurveyRow | None:
        with self._db.reader() as s:
            return survey_by_slug(s, slug)

    def add_responses(self, survey_id: int, rows: Sequence[NewResponse]) -> int:
        """Store every row or none; see ``add_responses``."""
        with self._db.session() as s:
            return add_responses(s, survey_id, rows)

    def response_count(self, survey_id: int) -> int:
        with self._db.reader() as s:
            return response_count(s, survey_id)

    def responses_frame(self, survey_id: int) -> pd.DataFrame:
        with self._db.reader() as s:
            return responses_frame(s, survey_id)

    def receipts(self, survey_id: int) -> set[str]:
        """Every stored receipt of a survey (the benchmarks compare them with the acks)."""
        with self._db.reader() as s:
            query = select(SurveyResponse.receipt).where(SurveyResponse.survey_id == survey_id)
            return set(s.scalars(query))
