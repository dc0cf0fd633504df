"""The sandbox: the only way generated code is run."""

from mge_assets.sandbox.runner import Limits, SandboxResult, run_in_sandbox, sandbox_environment

__all__ = ["Limits", "SandboxResult", "run_in_sandbox", "sandbox_environment"]
