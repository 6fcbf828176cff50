"""Recall estimates and stopping rules: how many positives remain, and when to stop."""

from .audit import AuditAnswers, AuditSample
from .audited import Audit, HandOver
from .estimates import RecallEstimate, audit_estimate, clopper_pearson, quant_estimate, quant_from_state
from .rules import (
    BudgetStop,
    CertifiedStop,
    KneeStop,
    StopRule,
    StopSpec,
    knee_reached,
    make_rule,
    min_target_positives,
    parse_stop,
    qbcb_threshold,
)
from .sequence import HiddenPositives

__all__ = [
    "Audit", "AuditAnswers", "AuditSample", "BudgetStop", "CertifiedStop", "HandOver", "HiddenPositives", "KneeStop",
    "RecallEstimate", "StopRule", "StopSpec",
    "audit_estimate", "clopper_pearson", "knee_reached", "make_rule", "min_target_positives", "parse_stop", "qbcb_threshold",
    "quant_estimate", "quant_from_state",
]
