"""ibms — 预算管理一体化系统 (integrated budget management system)."""

__version__ = "0.1.0"
