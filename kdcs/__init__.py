"""kdcs: knowledge-distillation powered collaborative learning for distributed C&S nodes."""

__version__ = "0.1.0"
