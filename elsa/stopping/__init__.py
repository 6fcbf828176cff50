"""Recall estimates and stopping rules: how many positives remain, and when to stop."""

from .audit import AuditAnswers, AuditSample
from .audited import Audit, HandOver
from .estimates import RecallEstimate, audit_estimate, clopper_pearson, model_estimate, quant_estimate, quant_from_state
from .rules import (
    BudgetStop,
    CertifiedStop,
    EstimateStop,
    KneeStop,
    StopRule,
    StopSpec,
    BudgetSpec, KneeSpec, EstimateSpec, SampleSpec, AuditSpec, QBCBSpec,
    knee_reached,
    make_rule,
    min_target_positives,
    parse_stop,
    qbcb_threshold,
)
from .sample_wait import SampleCertificate, SampleWaitStop, zero_miss_size
from .sequence import HiddenPositives

__all__ = [
    "Audit", "AuditAnswers", "AuditSample", "BudgetStop", "CertifiedStop", "EstimateStop", "HandOver", "HiddenPositives", "KneeStop",
    "RecallEstimate", "SampleCertificate", "SampleWaitStop", "StopRule", "StopSpec", "BudgetSpec", "KneeSpec", "EstimateSpec", "SampleSpec", "AuditSpec", "QBCBSpec",
    "audit_estimate", "clopper_pearson", "knee_reached", "make_rule", "min_target_positives", "parse_stop", "qbcb_threshold",
    "model_estimate", "quant_estimate", "quant_from_state", "zero_miss_size",
]
