"""Logger factories: wandb online when logged in and reachable, offline otherwise; run names from
the Hydra job; finishing runs. (The tests read offline run folders with ``tests/wandb_offline.py``:
it decodes wandb's private log format, so it is no public API a wandb release could break.)

``import pcnet.training.loggers`` does not import wandb: it is imported when a run starts.
"""

from __future__ import annotations

import logging
import netrc
import os
import re
import socket
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from pcnet._checks import check

__all__ = [
    "finish_wandb",
    "wandb_logged_in",
    "wandb_logger",
    "wandb_offline_reason",
    "wandb_reachable",
    "wandb_run_names",
]

log = logging.getLogger(__name__)

#: override keys left out of run names: the experiment is the group, the logger is always wandb
NAME_EXCLUDE = ("experiment", "logger")


def _host() -> tuple[str, int]:
    url = urlparse(os.environ.get("WANDB_BASE_URL") or "https://api.wandb.ai")
    return url.hostname or "api.wandb.ai", url.port or (80 if url.scheme == "http" else 443)


def wandb_reachable(host: str = "api.wandb.ai", port: int = 443, timeout: float = 2.0) -> bool:
    """Whether the wandb server answers a TCP connection within ``timeout`` seconds."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wandb_logged_in(host: str = "api.wandb.ai") -> bool:
    """Whether wandb has credentials for ``host``: ``WANDB_API_KEY`` (or
    ``WANDB_IDENTITY_TOKEN_FILE``) is set, or ``wandb login`` wrote them to the netrc file
    (``$NETRC``, else ``~/.netrc`` or ``~/_netrc``). The key itself is not checked."""
    if os.environ.get("WANDB_API_KEY") or os.environ.get("WANDB_IDENTITY_TOKEN_FILE"):
        return True
    path = os.environ.get("NETRC")
    if not path:
        home = Path("~/.netrc").expanduser()
        path = str(home if home.exists() else Path("~/_netrc").expanduser())
    try:
        return netrc.netrc(os.path.expanduser(path)).authenticators(host) is not None
    except (OSError, netrc.NetrcParseError):
        return False


def wandb_offline_reason() -> str | None:
    """Why ``offline="auto"`` goes offline (``None``: online). Offline when ``WANDB_MODE`` is
    ``offline``/``dryrun``, when there are no credentials, or when the server
    (``WANDB_BASE_URL``, default api.wandb.ai) does not answer; ``WANDB_MODE=online`` forces online."""
    mode = os.environ.get("WANDB_MODE", "").lower()
    if mode in ("offline", "dryrun"):
        return f"WANDB_MODE={mode}"
    if mode == "online":
        return None
    host, port = _host()
    if not wandb_logged_in(host):
        return "not logged in: run `wandb login` or set WANDB_API_KEY to log online"
    if not wandb_reachable(host, port):
        return f"{host}:{port} cannot be reached"
    return None


def _override_key(override: str) -> str:
    return override.split("=", 1)[0].lstrip("+~")


def wandb_run_names(hydra_cfg: Any, max_len: int = 128) -> dict[str, str | None]:
    """``name``, ``group`` and ``job_type`` of a wandb run from the Hydra job config
    (``HydraConfig.get()``).

    * name: the command-line overrides, sorted and joined with ``,`` like
      ``hydra.job.override_dirname``, without ``experiment=`` and ``logger=`` (and
      ``hydra.job.config.override_dirname.exclude_keys``); none left: the experiment name; no
      experiment either: ``None`` (wandb picks a name). A multirun job's name ends with
      ``#<job number>``. Names longer than ``max_len`` (wandb's limit: 128) are cut, ending in ``…``.
    * group: the experiment (``None`` without one); in a multirun
      ``<experiment>/sweep-<sweep dir name>``, so the jobs of one sweep sit together.
    * job_type: ``train``, or ``sweep`` in a multirun.
    """
    from hydra.types import RunMode

    experiment = hydra_cfg.runtime.choices.get("experiment") or None
    exclude = {*NAME_EXCLUDE, *(hydra_cfg.job.config.override_dirname.get("exclude_keys") or [])}
    overrides = sorted(o for o in hydra_cfg.overrides.task if _override_key(o) not in exclude)
    name = re.sub(r"\s+", "", ",".join(overrides)) or experiment
    multirun = hydra_cfg.mode == RunMode.MULTIRUN
    suffix = f"#{hydra_cfg.job.num}" if multirun else ""
    if name and len(name) + len(suffix) > max_len:
        name = name[: max_len - len(suffix) - 1] + "…"
    name = name and name + suffix
    if multirun:
        sweep = f"sweep-{Path(str(hydra_cfg.sweep.dir)).name}"
        return {"name": name, "group": f"{experiment}/{sweep}" if experiment else sweep, "job_type": "sweep"}
    return {"name": name, "group": experiment, "job_type": "train"}


def wandb_logger(
    offline: bool | str = "auto",
    name: str | None = None,
    group: str | None = None,
    job_type: str | None = None,
    **kwargs: Any,
) -> Any:
    """A Lightning ``WandbLogger``.

    ``offline="auto"`` logs online only when wandb has credentials and its server answers
    (:func:`wandb_offline_reason`); an offline run says so in one log line with the command
    that uploads it later (``wandb sync <save_dir>/wandb/offline-run-*``). ``name``, ``group``
    and ``job_type`` left ``None`` come from the Hydra job (:func:`wandb_run_names`).
    """
    try:
        import wandb  # noqa: F401
        from lightning.pytorch.loggers import WandbLogger
    except ImportError:
        raise ImportError("logger=wandb needs wandb: pip install wandb (or use logger=csv)") from None
    check(offline in (True, False, "auto"), f"wandb offline must be true, false or auto; got {offline!r}")
    reason = "offline=true" if offline is True else None
    if offline == "auto":
        reason = wandb_offline_reason()
    from hydra.core.hydra_config import HydraConfig

    if HydraConfig.initialized():
        names = wandb_run_names(HydraConfig.get())
        name, group, job_type = name or names["name"], group or names["group"], job_type or names["job_type"]
    if reason:
        save_dir = kwargs.get("save_dir") or kwargs.get("dir") or "."
        log.info(
            "wandb: offline run (%s); upload it later with `wandb sync %s`",
            reason,
            os.path.join(save_dir, "wandb", "offline-run-*"),
        )
    return WandbLogger(offline=reason is not None, name=name or None, group=group, job_type=job_type, **kwargs)


def finish_wandb(loggers: Iterable[Any], failed: bool = False) -> None:
    """Finish the wandb run of every ``WandbLogger`` in ``loggers`` that started one (so the next
    run of this process, e.g. a multirun job, gets its own); an offline run logs its
    ``wandb sync`` command."""
    from lightning.pytorch.loggers import WandbLogger

    for logger in loggers:
        run = getattr(logger, "_experiment", None) if isinstance(logger, WandbLogger) else None
        if run is None or not hasattr(run, "finish"):
            continue
        run_dir = os.path.dirname(run.dir) if getattr(run, "dir", None) else None
        offline = logger._offline or os.environ.get("WANDB_MODE") in ("offline", "dryrun")
        run.finish(exit_code=1 if failed else 0)
        if offline and run_dir:
            log.info("wandb: offline run saved; upload it with `wandb sync %s`", run_dir)
