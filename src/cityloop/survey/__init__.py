"""The citizen-experience survey: weighting respondents to the population and estimating shares.

Pure computation only; storage, pages and the CLI build on these functions.
"""

from cityloop.survey.weighting import (
    Estimate,
    RakingResult,
    design_effect,
    effective_sample_size,
    post_stratify,
    rake,
    weighted_mean,
    weighted_share,
)

__all__ = [
    "Estimate",
    "RakingResult",
    "design_effect",
    "effective_sample_size",
    "post_stratify",
    "rake",
    "weighted_mean",
    "weighted_share",
]
