"""Planning: choose the projects of a smart-city plan and place them in its three phases.

The public names are re-exported here; the modules behind them are pure (no I/O).
"""

from cityloop.planning.portfolio import greedy_rank_and_fill, optimise_portfolio
from cityloop.planning.portfolio_conflicts import explain_infeasibility
from cityloop.planning.portfolio_types import (
    BindingLimit,
    Conflict,
    Phases,
    PortfolioResult,
    Project,
    ScheduledProject,
)
from cityloop.planning.scoring import (
    FACTOR_BENEFIT,
    FACTORS,
    ProjectScores,
    TopsisResult,
    competition_rank,
    score_projects,
    topsis,
)

__all__ = [
    "FACTORS",
    "FACTOR_BENEFIT",
    "BindingLimit",
    "Conflict",
    "Phases",
    "PortfolioResult",
    "Project",
    "ProjectScores",
    "ScheduledProject",
    "TopsisResult",
    "competition_rank",
    "explain_infeasibility",
    "greedy_rank_and_fill",
    "optimise_portfolio",
    "score_projects",
    "topsis",
]
