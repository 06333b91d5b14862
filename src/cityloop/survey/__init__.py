"""The citizen-experience survey and needs analysis: questionnaires as data, answer checks,
weighting, satisfaction indices, importance–performance analysis and needs.

Pure computation only; storage, pages and the CLI build on these functions.
"""

from cityloop.survey.analysis import SurveyAnalysis, analyse
from cityloop.survey.answers import Submission, form_payload, validate_submission
from cityloop.survey.ipa import importance_performance
from cityloop.survey.items import (
    AnalysisPlan,
    NeedChoice,
    NeedLevel,
    RatedQuestion,
    Responses,
    Role,
    Subject,
    Term,
)
from cityloop.survey.needs import CandidateApplication, candidate_applications, rank_needs
from cityloop.survey.questionnaire import (
    Questionnaire,
    check_against,
    dump_questionnaire,
    load_questionnaire,
    parse_questionnaire,
    shipped_questionnaire,
    shipped_questionnaire_ids,
)
from cityloop.survey.satisfaction import satisfaction_indices
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
    "AnalysisPlan",
    "CandidateApplication",
    "Estimate",
    "NeedChoice",
    "NeedLevel",
    "Questionnaire",
    "RakingResult",
    "RatedQuestion",
    "Responses",
    "Role",
    "Subject",
    "Submission",
    "SurveyAnalysis",
    "Term",
    "analyse",
    "candidate_applications",
    "check_against",
    "design_effect",
    "dump_questionnaire",
    "effective_sample_size",
    "form_payload",
    "importance_performance",
    "load_questionnaire",
    "parse_questionnaire",
    "post_stratify",
    "rake",
    "rank_needs",
    "satisfaction_indices",
    "shipped_questionnaire",
    "shipped_questionnaire_ids",
    "validate_submission",
    "weighted_mean",
    "weighted_share",
]
