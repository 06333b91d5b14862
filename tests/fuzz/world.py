"""One populated database for the importer fuzz tests: demo regions and values, a collection
round, a tracked plan, the demo catalogue with sensor resources, and one open survey.

``build_world`` makes it on any backend; the fuzz tests use one SQLite world per test module
and a few fixed cases run on PostgreSQL too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from cityloop.accounts import Principal, Role
from cityloop.services import collection, runs
from cityloop.services import plan as plan_service
from cityloop.services import store as store_service
from cityloop.services import supervision as supervision_service
from cityloop.services.catalogue import load_demo_catalogue
from cityloop.services.plan_settings import PlanSettings
from cityloop.services.sensor_demo import register_demo_resources
from cityloop.services.survey_collect import open_survey
from cityloop.services.survey_demo import CITIZEN
from cityloop.store import Database, Settings
from cityloop.store.collection import RoundRow

FRAMEWORK = "gbt33356-2016"
N_CITIES = 31
NOW = datetime(2026, 12, 1, 4, tzinfo=UTC)
ADMIN = Principal("root", Role.ADMINISTRATOR)
PLAN_SETTINGS = PlanSettings(budget=(20000.0,), staff=(100.0,))


@dataclass
class World:
    """The database and the ids the importers need."""

    db: Database
    unit: str  # a city with districts: catalogue, plan, sensors and the survey live here
    round: RoundRow
    table_resource: int  # a catalogue resource that holds rows
    sensor_resource: int
    sensor_type: str
    survey: int


def build_world(url: str) -> World:
    """Migrate ``url``'s database and fill it (about ten seconds on SQLite)."""
    db = Database.open(Settings(database_url=url))
    db.upgrade()
    store_service.load_demo(db, [FRAMEWORK], n_cities=N_CITIES, user="fixture")
    runs.evaluate_stored(db, FRAMEWORK, actor="fixture")
    units = db.units()
    assert units is not None
    table = units.table
    unit = str(sorted(set(table.loc[table["level"] == "district", "parent"].astype(str)))[0])
    view = plan_service.solve_plan(db, unit, PLAN_SETTINGS)
    saved = plan_service.save_plan(db, view, PLAN_SETTINGS, "规划", actor="fixture")
    supervision_service.track_plan(db, saved.id, actor="fixture")
    load_demo_catalogue(db, unit, actor="fixture")
    rows = next(r for r in db.catalogue.entries([unit]) if r.entry.holds_rows)
    sensor = next(iter(register_demo_resources(db, unit, "fixture").values()))
    round_ = collection.choose_round(db, None)  # the demo opens this year's round
    assert round_ is not None
    survey = open_survey(db, unit, CITIZEN, year=round_.year, actor="fixture")
    return World(db, unit, round_, rows.id, sensor.id, sensor.entity_type, survey.id)
