"""Data collection, pure: who owes which indicator values for a round, how complete they are,
and which submitted cells a user may not write. No files, sessions or sockets here.
"""

from cityloop.collection.checks import CellsRefusedError, checked_table, refused_rows
from cityloop.collection.completeness import (
    CHINA_TIME,
    Completeness,
    Deadline,
    collected_units,
    completeness,
    deadline_day,
    deadline_moment,
    deadline_status,
    owed_cells,
)

__all__ = [
    "CHINA_TIME",
    "CellsRefusedError",
    "Completeness",
    "Deadline",
    "checked_table",
    "collected_units",
    "completeness",
    "deadline_day",
    "deadline_moment",
    "deadline_status",
    "owed_cells",
    "refused_rows",
]
