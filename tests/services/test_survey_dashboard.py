"""The dashboard draws the IPA cross-hairs the analysis used, and no importance line when
stated and derived importances were cut at different means."""

from __future__ import annotations

import pandas as pd

from cityloop.services.survey_dashboard import _cuts


def test_one_importance_line_only_when_the_items_share_it() -> None:
    shared = pd.DataFrame({"satisfaction_cut": [61.0, 61.0], "importance_cut": [70.0, 70.0]})
    assert _cuts(shared) == {"satisfaction": 61.0, "importance": 70.0}
    mixed = pd.DataFrame({"satisfaction_cut": [61.0, 61.0], "importance_cut": [70.0, 35.0]})
    assert _cuts(mixed) == {"satisfaction": 61.0}
    assert _cuts(pd.DataFrame()) == {}
