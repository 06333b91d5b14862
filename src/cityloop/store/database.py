"""The one place every write goes through: a ``Database`` with its transactions and repositories.

``with db.session() as s:`` is one transaction, committed once at the end or not at all.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime

import pandas as pd
from sqlalchemy import Connection, Engine, func, inspect, select, table, text
from sqlalchemy.orm import Session

from cityloop.accounts.lockout import DEFAULT_LOCKOUT, LockoutPolicy, LoginState
from cityloop.accounts.roles import Role
from cityloop.datahub.indicator_table import IndicatorTable
from cityloop.datahub.units import Units
from cityloop.errors import CityLoopError
from cityloop.evaluation.result import EvaluationResult
from cityloop.frameworks import Framework
from cityloop.store import collection, migrate, regions, runs, sessions, values
from cityloop.store import users as user_store
from cityloop.store.audit import AuditRow, read_audit
from cityloop.store.bulk import WriteCounts
from cityloop.store.catalogue import CatalogueStore
from cityloop.store.frameworks import register_framework, stored_framework
from cityloop.store.models import Base
from cityloop.store.outcomes import OutcomeStore
from cityloop.store.plan_projects import PlanProjectStore
from cityloop.store.plans import PlanStore
from cityloop.store.quality import QualityStore
from cityloop.store.runs import RunRow
from cityloop.store.sensors import SensorStore
from cityloop.store.series import SeriesStore
from cityloop.store.settings import WRITE_OPTION, Settings, display_url, make_engine
from cityloop.store.sharing import SharingStore
from cityloop.store.surveys import SurveyStore
from cityloop.store.tracking import TrackingStore

# Key of the PostgreSQL advisory lock every write transaction holds: writers take turns, as
# they do on SQLite, so an import never interleaves with another one.
WRITE_LOCK = 0x43_49_54_59  # "CITY"


def cityloop_tables(conn: Connection) -> list[str]:
    """The tables of CityLoop's models that exist in the database, in the models' order."""
    present = set(inspect(conn).get_table_names())
    return [name for name in Base.metadata.tables if name in present]


def row_counts(conn: Connection) -> dict[str, int]:
    """Rows in each CityLoop table the database has."""
    return {
        name: int(conn.execute(select(func.count()).select_from(table(name))).scalar_one())
        for name in cityloop_tables(conn)
    }


class Database:
    """A CityLoop database on SQLite or PostgreSQL; build it with ``Database.open(settings)``."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._writer = engine.execution_options(**{WRITE_OPTION: True})
        self._schema_checked = False

    @classmethod
    def open(cls, settings: Settings | None = None) -> Database:
        """A database for ``settings`` (default: from the environment); nothing connects yet."""
        return cls(make_engine(settings or Settings()))

    @property
    def url(self) -> str:
        """The database URL without its password."""
        return display_url(self.engine.url)

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    # -- transactions ---------------------------------------------------------------------------

    @contextmanager
    def transaction(self, *, changes_schema: bool = False) -> Iterator[Connection]:
        """A write transaction at the Core level: committed at the end, or rolled back.

        ``changes_schema`` (migrations, restore) makes the next session check the schema again.
        """
        try:
            with self._writer.begin() as conn:
                if conn.dialect.name == "postgresql":
                    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": WRITE_LOCK})
                yield conn
        finally:
            if changes_schema:
                self._schema_checked = False

    @contextmanager
    def session(self) -> Iterator[Session]:
        """An ORM session in one write transaction, committed once when the block ends."""
        self._check_schema()
        with self.transaction() as conn, Session(bind=conn, expire_on_commit=False) as s:
            yield s
            s.flush()

    @contextmanager
    def reader(self) -> Iterator[Session]:
        """A session for reading; whatever it began is rolled back when the block ends."""
        self._check_schema()
        with Session(self.engine) as s:
            yield s

    @contextmanager
    def snapshot(self) -> Iterator[Connection]:
        """A read-only connection that sees every table as it was at one moment."""
        with self.engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
            with conn.begin():
                yield conn

    def _check_schema(self) -> None:
        if self._schema_checked:
            return
        with self.engine.connect() as conn:
            revision = migrate.current_revision(conn)
        head = migrate.head_revision()
        if revision != head:
            raise CityLoopError(
                "store.not_upgraded", url=self.url, revision=revision or "—", head=head
            )
        self._schema_checked = True

    # -- schema ---------------------------------------------------------------------------------

    def revision(self) -> str | None:
        """The migration the database is at; None when it has no CityLoop tables yet."""
        with self.engine.connect() as conn:
            return migrate.current_revision(conn)

    def upgrade(self, revision: str = "head") -> str | None:
        """Apply the migrations up to ``revision`` in one transaction; return the new revision."""
        with self.transaction(changes_schema=True) as conn:
            migrate.require_known(migrate.current_revision(conn), self.url)
            migrate.upgrade(conn, revision)
            return migrate.current_revision(conn)

    def row_counts(self) -> dict[str, int]:
        """Rows in each CityLoop table the database has."""
        with self.engine.connect() as conn:
            return row_counts(conn)

    # -- repositories ---------------------------------------------------------------------------

    def load_units(self, units: Units, user: str) -> WriteCounts:
        """Insert or update regions and their cluster memberships."""
        with self.session() as s:
            return regions.load_units(s, units, user)

    def units(self) -> Units | None:
        """The stored regions as ``Units``; None when none are stored."""
        with self.reader() as s:
            return regions.read_units(s)

    def register_framework(self, fw: Framework, user: str) -> int:
        """Store ``fw``'s version if it is new; return the version's id."""
        with self.session() as s:
            return register_framework(s, fw, user).id

    def framework(self, framework_id: str, version: str | None = None) -> Framework:
        """A stored framework version (default: the latest registered)."""
        with self.reader() as s:
            return stored_framework(s, framework_id, version)

    def upsert_values(
        self, table: IndicatorTable, framework: Framework, user: str, origin: values.Origin
    ) -> WriteCounts:
        """Write validated values with history and audit, all or nothing."""
        with self.session() as s:
            return values.upsert_values(s, table, framework, user, origin)

    def values_frame(self, framework_id: str, years: Sequence[int] | None = None) -> pd.DataFrame:
        """The current values as the long table ``cityloop.evaluate`` accepts."""
        with self.reader() as s:
            return values.values_frame(s, framework_id, years)

    def record_run(self, result: EvaluationResult, user: str) -> int:
        """Store an evaluation with its scores; return the run's id."""
        with self.session() as s:
            return runs.record_run(s, result, user)

    def audit_log(self, *, after_id: int = 0, entity: str | None = None) -> list[AuditRow]:
        """Audit entries above ``after_id`` (of one ``entity`` when given), oldest first."""
        with self.reader() as s:
            return read_audit(s, after_id=after_id, entity=entity)

    def runs(self, framework_id: str | None = None) -> list[RunRow]:
        """Stored evaluation runs, newest first."""
        with self.reader() as s:
            return runs.list_runs(s, framework_id)

    def run(self, run_id: int) -> RunRow | None:
        """One stored run; None when unknown."""
        with self.reader() as s:
            return runs.get_run(s, run_id)

    def run_scores(
        self, run_id: int, *, units: list[str] | None = None, max_level: int | None = None
    ) -> pd.DataFrame:
        """A run's scores, ranks and stages as a long table; see ``runs.read_run_scores``."""
        with self.reader() as s:
            return runs.read_run_scores(s, run_id, units=units, max_level=max_level)

    # -- evaluation runs: frameworks a run can evaluate (runs pages) ---------------------------

    def frameworks_with_values(self) -> list[tuple[str, str, str]]:
        """(id, Chinese title, English title) of the frameworks that have stored values."""
        with self.reader() as s:
            return runs.frameworks_with_values(s)

    # -- end of the runs pages' block ------------------------------------------------------------

    def add_user(
        self,
        *,
        username: str,
        password_hash: str,
        role: Role | str,
        scope: str | None,
        department: str | None,
        display_name: str = "",
        actor: str,
    ) -> None:
        """Add an account (with an audit row that leaves the hash out)."""
        with self.session() as s:
            user_store.add_user(
                s,
                username=username,
                password_hash=password_hash,
                role=role,
                scope=scope,
                department=department,
                display_name=display_name,
                actor=actor,
            )

    def users(self) -> list[user_store.UserRow]:
        """Every account, by username, without password hashes."""
        with self.reader() as s:
            return user_store.list_users(s)

    def user(self, username: str) -> user_store.UserRow | None:
        """One account without its hash; None when unknown."""
        with self.reader() as s:
            return user_store.get_user(s, username)

    def credentials(self, username: str) -> tuple[user_store.UserRow, str] | None:
        """An account with its password hash, to check a password; None when unknown."""
        with self.reader() as s:
            return user_store.get_credentials(s, username)

    def set_role(
        self,
        username: str,
        role: Role | str,
        *,
        scope: str | user_store.Keep | None = user_store.KEEP,
        department: str | user_store.Keep | None = user_store.KEEP,
        actor: str,
    ) -> user_store.UserRow:
        """Change an account's role and, when given, its scope and department."""
        with self.session() as s:
            return user_store.set_role(
                s, username, role, scope=scope, department=department, actor=actor
            )

    def set_password_hash(
        self, username: str, password_hash: str, *, actor: str, new_password: bool = True
    ) -> None:
        """Replace an account's password hash; a new password ends the account's sessions."""
        with self.session() as s:
            user_store.set_password_hash(
                s, username, password_hash, actor=actor, new_password=new_password
            )

    def set_active(self, username: str, active: bool, *, actor: str) -> user_store.UserRow:
        """Let an account sign in or not; deactivating ends its sessions."""
        with self.session() as s:
            return user_store.set_active(s, username, active, actor=actor)

    # -- web sessions (``cityloop.store.sessions``; audited by ``cityloop.store.users``) --

    def session_user(self, digest: str, now: datetime) -> user_store.UserRow | None:
        """The active account of the live session with this token digest, or None."""
        with self.reader() as s:
            return user_store.session_user(s, digest, now)

    def sign_out(self, digest: str, now: datetime) -> str | None:
        """End one session; the username it was of, or None when it was not live."""
        with self.session() as s:
            return user_store.sign_out(s, digest, now)

    def end_sessions(self, username: str, now: datetime, *, actor: str) -> int:
        """End every live session of ``username``; how many there were."""
        with self.session() as s:
            return user_store.end_sessions(s, username, now, actor=actor)

    def live_sessions(
        self, now: datetime, username: str | None = None
    ) -> list[sessions.SessionRow]:
        """The live sessions at ``now``, of one user when given; never their tokens."""
        with self.reader() as s:
            return sessions.list_live(s, now, username)

    def login_state(self, username: str) -> LoginState:
        """The lockout state of an account."""
        with self.reader() as s:
            return user_store.get_login_state(s, username)

    def record_login(
        self,
        username: str,
        succeeded: bool,
        now: datetime,
        actor: str,
        policy: LockoutPolicy = DEFAULT_LOCKOUT,
        session_digest: str | None = None,
    ) -> LoginState:
        """Apply one login attempt to the account's lockout state; return the new state. A
        success with a ``session_digest`` starts that web session in the same transaction."""
        with self.session() as s:
            return user_store.record_login(
                s, username, succeeded, now, actor, policy, session_digest
            )

    # -- collection rounds and reminders (data collection pages) -------------------------------

    def open_round(
        self, framework_id: str, year: int, deadline: datetime, *, note: str = "", actor: str
    ) -> collection.RoundRow:
        """Open a collection round for a stored framework and year (one per pair)."""
        with self.session() as s:
            return collection.open_round(s, framework_id, year, deadline, note, actor)

    def rounds(self, framework_id: str | None = None) -> list[collection.RoundRow]:
        """Collection rounds, newest year first."""
        with self.reader() as s:
            return collection.list_rounds(s, framework_id)

    def round(self, round_id: int) -> collection.RoundRow | None:
        """One collection round; None when unknown."""
        with self.reader() as s:
            return collection.get_round(s, round_id)

    def add_reminder(
        self, round_id: int, department: str, unit: str | None, *, message: str = "", actor: str
    ) -> collection.ReminderRow:
        """Record a reminder (催报) to a department about a round."""
        with self.session() as s:
            return collection.add_reminder(s, round_id, department, unit, message, actor)

    def reminders(
        self, round_id: int, department: str | None = None
    ) -> list[collection.ReminderRow]:
        """A round's reminders, newest first."""
        with self.reader() as s:
            return collection.list_reminders(s, round_id, department)

    def round_cells(
        self, framework_id: str, year: int, units: Sequence[str] | None = None
    ) -> pd.DataFrame:
        """Stored values of one year with who entered them; see ``collection.round_cells``."""
        with self.reader() as s:
            return collection.round_cells(s, framework_id, year, units)

    # -- end of the collection block -----------------------------------------------------------

    @property
    def surveys(self) -> SurveyStore:
        """Questionnaires, surveys and their responses (``cityloop.store.surveys``)."""
        return SurveyStore(self)

    # -- data hub: each block below is one repository of the hub (revision 0006) --------------
    # -- data hub: catalogue --

    @property
    def catalogue(self) -> CatalogueStore:
        """The resource catalogue and table resources' rows (``cityloop.store.catalogue``)."""
        return CatalogueStore(self)

    # -- data hub: sharing --

    @property
    def sharing(self) -> SharingStore:
        """Sharing requests, keys, access log, endpoint checks (``cityloop.store.sharing``)."""
        return SharingStore(self)

    # -- data hub: sensors --

    @property
    def sensors(self) -> SensorStore:
        """NGSI-LD sensor entities and their observations (``cityloop.store.sensors``)."""
        return SensorStore(self)

    # -- data hub: series --

    @property
    def series(self) -> SeriesStore:
        """Sensor series for derived formulas and the derived values (``cityloop.store.series``)."""
        return SeriesStore(self)

    # -- data hub: quality --

    @property
    def quality(self) -> QualityStore:
        """Data-quality aggregates and endpoint probe results (``cityloop.store.quality``)."""
        return QualityStore(self)

    # -- planning: project catalogue --

    @property
    def plan_projects(self) -> PlanProjectStore:
        """A unit's catalogue overrides and own projects (``cityloop.store.plan_projects``)."""
        return PlanProjectStore(self)

    # -- planning: plans --

    @property
    def plans(self) -> PlanStore:
        """Saved plans of a unit: settings and result as JSON (``cityloop.store.plans``)."""
        return PlanStore(self)

    # -- supervision: tracking --

    @property
    def tracking(self) -> TrackingStore:
        """Tracked projects, their progress, payments and risks (``cityloop.store.tracking``)."""
        return TrackingStore(self)

    # -- supervision: outcomes --

    @property
    def outcomes(self) -> OutcomeStore:
        """Outcome reports, measured effects, feedback ranges (``cityloop.store.outcomes``)."""
        return OutcomeStore(self)
