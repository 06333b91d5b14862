"""Collecting citizens' answers: open and close a city's survey, issue one-time tokens, and take
a submission through token check, validation and the group-commit writer.

The web routes and the CLI call this; the questionnaire logic is ``cityloop.survey``'s.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from pydantic_settings import BaseSettings, SettingsConfigDict

from cityloop.errors import CityLoopError, InputError
from cityloop.store import Database
from cityloop.store.models import SurveyStatus
from cityloop.store.survey_writer import DEFAULT_MAX_BATCH, Outcome, SurveyWriter
from cityloop.store.surveys import NewResponse, SurveyRow
from cityloop.survey.answers import validate_submission
from cityloop.survey.questionnaire import (
    Questionnaire,
    dump_questionnaire,
    parse_questionnaire,
    shipped_questionnaire,
    shipped_questionnaire_ids,
)

TOKEN_SALT = "cityloop-survey-token"
DEVICE_SALT = b"cityloop-survey-device"
RECEIPT_BYTES = 12  # 96 random bits per receipt


class SurveySettings(BaseSettings):
    """Settings of public survey collection, each from ``CITYLOOP_SURVEY_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="CITYLOOP_SURVEY_", extra="ignore")

    rate_per_minute: int = 10  # submissions per client address per minute (per worker)
    batch_window_ms: float = 5.0  # how long a batch waits for more submissions (measured)
    batch_max: int = DEFAULT_MAX_BATCH
    token_days: int = 30  # how long a form stays submittable after it was shown
    fresh_seconds: float = 1.0  # how old a survey's cached status may be


class SurveyUnavailableError(CityLoopError):
    """The survey is unknown (``gone`` False: 404) or not taking answers (``gone``: 410)."""

    def __init__(self, key: str, *, gone: bool, **params: Any) -> None:
        super().__init__(key, **params)
        self.gone = gone


@dataclass(frozen=True)
class District:
    code: str
    name_zh: str
    name_en: str


@dataclass(frozen=True)
class PublicSurvey:
    """What a public page and a submission need of a survey, cached per worker."""

    row: SurveyRow
    questionnaire: Questionnaire
    districts: tuple[District, ...]

    @property
    def district_codes(self) -> tuple[str, ...]:
        return tuple(d.code for d in self.districts)

    @property
    def open(self) -> bool:
        return self.row.status == SurveyStatus.OPEN


# -- opening and closing -------------------------------------------------------------------------


def resolve_questionnaire(
    db: Database, questionnaire_id: str, version: str | None = None
) -> tuple[Questionnaire, str]:
    """A stored questionnaire version (the latest by default), else the shipped one; with the
    YAML text the survey keeps."""
    stored = db.surveys.questionnaire(questionnaire_id, version)
    if stored is not None:
        return parse_questionnaire(
            stored.yaml_text, f"{stored.id}@{stored.version}"
        ), stored.yaml_text
    if questionnaire_id not in shipped_questionnaire_ids():
        raise InputError("surveypub.unknown_questionnaire", id=questionnaire_id)
    q = shipped_questionnaire(questionnaire_id)
    return q, dump_questionnaire(q)


def city_districts(db: Database, unit: str) -> list[dict[str, str]]:
    """The stored districts of a city as the survey's district choices."""
    units = db.units()
    if units is None or unit not in units.table.index:
        raise InputError("store.unknown_region", value=unit)
    table = units.table
    rows = table.loc[(table["parent"] == unit) & (table["level"] == "district")]
    names = rows.reindex(columns=["name_zh", "name_en"]).fillna("").astype(str)
    return [
        {"code": str(code), "name_zh": zh, "name_en": en}
        for code, zh, en in zip(names.index, names["name_zh"], names["name_en"], strict=True)
    ]


def open_survey(
    db: Database,
    unit: str,
    questionnaire_id: str,
    *,
    year: int,
    actor: str,
    version: str | None = None,
    districts: Sequence[Mapping[str, str]] | None = None,
    margins: Mapping[str, Mapping[str, float]] | None = None,
    closes_at: datetime | None = None,
) -> SurveyRow:
    """Open a survey of ``unit``'s public with a shipped or stored questionnaire.

    ``districts`` (code, name_zh, name_en) default to the city's stored districts; ``margins``
    (population per attribute and category) are kept for weighting.
    """
    q, text = resolve_questionnaire(db, questionnaire_id, version)
    chosen = [dict(d) for d in districts] if districts is not None else city_districts(db, unit)
    created = db.surveys.create(
        unit=unit,
        questionnaire_id=q.id,
        questionnaire_version=q.spec.version,
        questionnaire_yaml=text,
        year=year,
        districts=chosen,
        margins=margins or {},
        actor=actor,
        closes_at=closes_at,
    )
    return db.surveys.open(created.id, actor=actor)


def close_survey(db: Database, survey_id: int, *, actor: str) -> SurveyRow:
    """Stop taking answers; submissions already acknowledged stay."""
    return db.surveys.close(survey_id, actor=actor)


# -- the per-worker collector ----------------------------------------------------------------------


@lru_cache(maxsize=64)
def _parsed(questionnaire_yaml: str, source: str) -> Questionnaire:
    """Parsing is the costly part of loading a survey: done once per questionnaire text."""
    return parse_questionnaire(questionnaire_yaml, source)


class Collector:
    """Everything a web worker needs to take submissions: the token signer, a short-lived
    cache of surveys by slug, and its group-commit writer."""

    def __init__(self, db: Database, secret: str, settings: SurveySettings | None = None) -> None:
        self.db = db
        self.settings = settings or SurveySettings()
        self._signer = URLSafeTimedSerializer(secret, salt=TOKEN_SALT)
        self._device_key = hmac.new(secret.encode(), DEVICE_SALT, hashlib.sha256).digest()
        self._cache: dict[str, tuple[float, PublicSurvey | None]] = {}
        self._lock = threading.Lock()
        self.writer = SurveyWriter(
            db.engine,
            window_s=self.settings.batch_window_ms / 1000,
            max_batch=self.settings.batch_max,
        )

    def survey(self, slug: str) -> PublicSurvey:
        """The survey behind ``slug`` if it takes answers; else ``SurveyUnavailableError``.

        Surveys are re-read after ``fresh_seconds``, so an opened or closed survey is seen that
        much later by the pages; the writer checks the status again in each batch.
        """
        now = time.monotonic()
        hit = self._cache.get(slug)
        if hit is None or now - hit[0] > self.settings.fresh_seconds:
            hit = (now, self._load(slug))
            with self._lock:
                self._cache[slug] = hit
        found = hit[1]
        if found is None:
            raise SurveyUnavailableError("surveypub.not_found", gone=False)
        if not found.open:
            raise SurveyUnavailableError("surveypub.closed", gone=True)
        return found

    def _load(self, slug: str) -> PublicSurvey | None:
        row = self.db.surveys.by_slug(slug) if len(slug) <= 64 else None
        if row is None:
            return None
        source = f"{row.questionnaire_id}@{row.questionnaire_version}"
        districts = tuple(
            District(d["code"], d.get("name_zh", d["code"]), d.get("name_en", ""))
            for d in row.districts
        )
        return PublicSurvey(row, _parsed(row.questionnaire_yaml, source), districts)

    def issue_token(self, survey: PublicSurvey) -> str:
        """A signed one-time token for one form: the survey and a fresh receipt id. Nothing is
        written; the receipt becomes unique in the database when the form is submitted."""
        return self._signer.dumps([survey.row.id, secrets.token_urlsafe(RECEIPT_BYTES)])

    def receipt_of(self, survey: PublicSurvey, token: str) -> str:
        """The receipt id of a genuine, unexpired token of this survey."""
        try:
            survey_id, receipt = self._signer.loads(token, max_age=self.settings.token_days * 86400)
        except (BadSignature, ValueError, TypeError):
            raise InputError("surveypub.bad_token") from None
        if survey_id != survey.row.id or not isinstance(receipt, str):
            raise InputError("surveypub.bad_token")
        return receipt

    def device_hash(self, device_id: str | None) -> str | None:
        """What is stored of a device cookie: a keyed hash, useless outside this site."""
        if not device_id:
            return None
        return hmac.new(self._device_key, device_id.encode(), hashlib.sha256).hexdigest()

    async def submit(
        self,
        survey: PublicSurvey,
        token: str,
        payload: Mapping[str, Any],
        *,
        device_id: str | None = None,
        source: str = "web",
    ) -> tuple[str, Outcome]:
        """Check the token and every answer, queue the response and wait for its batch to be
        committed; returns the receipt and what became of it. Raises ``InputError`` (bad
        token, bad answers) with nothing queued."""
        receipt = self.receipt_of(survey, token)
        submission = validate_submission(survey.questionnaire, payload, survey.district_codes)
        response = NewResponse(
            receipt=receipt,
            attributes=submission.attributes,
            answers=submission.answers,
            source=source,
            device_hash=self.device_hash(device_id),
        )
        return receipt, await self.writer.submit(survey.row.id, response)

    def close(self) -> None:
        self.writer.close()
