"""Starting points of a run: weights from a model file (``init_from``, ``init_from_prefix``) and
the checks on a checkpoint to resume (``ckpt_path``)."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import torch

from pcnet._checks import InputError, check
from pcnet.models import load_model

__all__ = ["check_resume_checkpoint", "init_weights"]

log = logging.getLogger(__name__)


def init_weights(net: torch.nn.Module, path: str, prefix: str | None = None) -> None:
    """Start from the network weights of a model file or checkpoint (a curriculum's earlier stage).

    Only the weights are taken: optimizer, step counter and data order start afresh (unlike
    ``ckpt_path``, which resumes a run). Tensors the network lacks (a training head it was built
    without, e.g. ``model.sr_head=false``) are left out; every tensor it has must be in the source.

    With ``prefix`` (``init_from_prefix``, e.g. ``backbone.``) only the tensors under it are taken,
    from a model of any kind with the same layers there (PCNet's encoder–decoder from SCN's); the
    rest of the network keeps its fresh initialisation.
    """
    if prefix:
        _init_prefix(net, path, prefix)
        return
    source = load_model(path, expect=getattr(net, "model_name", None)).state_dict()
    wanted = net.state_dict().keys()
    dropped = sorted(set(source) - set(wanted))  # e.g. the SR head of a source trained with it
    try:
        net.load_state_dict({k: v for k, v in source.items() if k in wanted})
    except RuntimeError as err:
        raise InputError(
            f"init_from={path} does not fit this {net.model_name!r} network (its config differs: "
            f"{str(err).splitlines()[0]}); pick a model trained with the same model.* settings"
        ) from None
    log.info("initialised %s from %s", net.model_name, path)
    if dropped:
        log.warning(
            "init_from: %d tensors of %s are not in this network and were left out: %s",
            len(dropped),
            path,
            ", ".join(dropped),
        )


def _init_prefix(net: torch.nn.Module, path: str, prefix: str) -> None:
    source = {k: v for k, v in load_model(path).state_dict().items() if k.startswith(prefix)}
    wanted = {k: v for k, v in net.state_dict().items() if k.startswith(prefix)}
    check(wanted, f"init_from_prefix={prefix!r}: this {net.model_name!r} network has no tensors under it")
    missing = sorted(set(wanted) - set(source))
    wrong = sorted(k for k in set(wanted) & set(source) if wanted[k].shape != source[k].shape)
    check(
        not missing and not wrong,
        f"init_from={path} does not fit this network under {prefix!r}: "
        f"{len(missing)} tensors missing ({', '.join(missing[:3])}), "
        f"{len(wrong)} of another shape ({', '.join(wrong[:3])})",
    )
    net.load_state_dict(source, strict=False)
    log.info("initialised %d tensors under %r of %s from %s", len(source), prefix, net.model_name, path)


def check_resume_checkpoint(path: str | os.PathLike, model_name: str) -> None:
    """``ckpt_path`` must be a ``pcnet.train`` checkpoint of the configured model (checked before
    Lightning restores it, whose errors on a wrong file are deep ``KeyError`` tracebacks).
    Lightning's own names (``last``, ``best``, ``hpc``, ``registry``) and URLs pass through."""
    if str(path) in ("last", "best", "hpc", "registry") or "://" in str(path):
        return
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"ckpt_path={path}: no such checkpoint (resume from <run>/checkpoints/last.ckpt)")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=False, mmap=True)
    except Exception as err:  # noqa: BLE001 - torch raises many types for a bad file
        raise InputError(
            f"ckpt_path={path} cannot be read: not a checkpoint, or corrupt ({type(err).__name__})"
        ) from None
    check(
        isinstance(payload, dict) and "global_step" in payload and "pcnet_model" in payload,
        f"ckpt_path={path} is not a pcnet.train checkpoint; "
        "to start from a model file's weights use init_from= instead",
    )
    saved = payload["pcnet_model"]["name"]
    check(
        saved == model_name,
        f"ckpt_path={path} holds a {saved!r} run, but this run trains {model_name!r}: "
        f"pick model={saved} or another checkpoint",
    )
