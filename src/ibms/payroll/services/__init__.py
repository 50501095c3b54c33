"""Payroll services, the only writers: profiles (:mod:`.profiles`), the monthly run (:mod:`.runs`) and paying it
through the treasury (:mod:`.pay`)."""

from .pay import payroll_run_pay
from .profiles import ProfileIn, pay_profile_save
from .runs import payroll_run_generate, payroll_run_review, payroll_run_submit

__all__ = ["ProfileIn", "pay_profile_save", "payroll_run_generate", "payroll_run_pay", "payroll_run_review",
           "payroll_run_submit"]
