"""kdcs: knowledge-distillation powered collaborative learning for distributed C&S nodes.

The Python API (`kdcs.api`): `kdcs.synthesize`, `kdcs.load_scenario`, `kdcs.train`, `kdcs.distill_student`,
`kdcs.evaluate` and `kdcs.run_protocol` do what the `kdcs` commands do; `kdcs.RunConfig`,
`kdcs.CollabConfig`, `kdcs.ModelConfig` and `kdcs.DataConfig` are their typed configs.
"""

__version__ = "0.1.0"

_API = frozenset(
    {
        "synthesize",
        "load_scenario",
        "train",
        "distill_student",
        "evaluate",
        "run_protocol",
        "RunConfig",
        "CollabConfig",
        "ModelConfig",
        "DataConfig",
    }
)


def __getattr__(name: str):
    if name in _API:
        from kdcs import (
            api,  # late: the API loads torch, which `import kdcs.config` and `kdcs --help` need not
        )

        return getattr(api, name)
    raise AttributeError(f"module 'kdcs' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_API})
