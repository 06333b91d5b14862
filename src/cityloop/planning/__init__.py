"""Planning: choose the projects of a smart-city plan and place them in its three phases.

The public names are re-exported here; the modules behind them are pure (no I/O).
"""

from cityloop.planning.portfolio import greedy_rank_and_fill, optimise_portfolio
from cityloop.planning.portfolio_bring_in import BringIn, bring_in, bring_in_candidates
from cityloop.planning.portfolio_conflicts import explain_infeasibility
from cityloop.planning.portfolio_scenarios import (
    Robustness,
    Scenario,
    ScenarioComparison,
    assess_robustness,
    compare_scenarios,
)
from cityloop.planning.portfolio_types import (
    BindingLimit,
    Conflict,
    IndicatorGains,
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
    "BringIn",
    "Conflict",
    "IndicatorGains",
    "Phases",
    "PortfolioResult",
    "Project",
    "ProjectScores",
    "Robustness",
    "Scenario",
    "ScenarioComparison",
    "ScheduledProject",
    "TopsisResult",
    "assess_robustness",
    "bring_in",
    "bring_in_candidates",
    "compare_scenarios",
    "competition_rank",
    "explain_infeasibility",
    "greedy_rank_and_fill",
    "optimise_portfolio",
    "score_projects",
    "topsis",
]
