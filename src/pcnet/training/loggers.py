"""Logger factories: wandb that falls back to offline mode when there is no network."""

from __future__ import annotations

import os
import socket
from typing import Any

from pcnet._checks import check

__all__ = ["wandb_logger", "wandb_reachable"]


def wandb_reachable(host: str = "api.wandb.ai", port: int = 443, timeout: float = 2.0) -> bool:
    """Whether the wandb server answers a TCP connection within ``timeout`` seconds."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wandb_logger(offline: bool | str = "auto", **kwargs: Any) -> Any:
    """A Lightning ``WandbLogger``; ``offline="auto"`` goes offline when wandb.ai is unreachable
    or ``WANDB_MODE=offline`` is set (sync later with ``wandb sync``)."""
    try:
        import wandb  # noqa: F401
        from lightning.pytorch.loggers import WandbLogger
    except ImportError:
        raise ImportError('logger=wandb needs wandb: pip install "pcnet[wandb]" (or use logger=csv)') from None
    check(offline in (True, False, "auto"), f"wandb offline must be true, false or auto; got {offline!r}")
    if offline == "auto":
        offline = os.environ.get("WANDB_MODE") == "offline" or not wandb_reachable()
    return WandbLogger(offline=bool(offline), **kwargs)
