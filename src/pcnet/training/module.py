"""The LightningModule: PCNet, SCN or SSN with its loss, benchmark metrics on whole images."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import lightning as L
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics import MeanMetric

from pcnet._checks import check
from pcnet.losses import superpixel_loss
from pcnet.methods.learned import Segmenter
from pcnet.metrics import SuperpixelMetrics
from pcnet.models import list_models, load_model
from pcnet.models.base import SuperpixelModel

__all__ = ["SuperpixelModule"]

Factory = Callable[..., Any]


class SuperpixelModule(L.LightningModule):
    """Trains a superpixel network and scores it with the benchmark metrics.

    Args:
        net: a :class:`~pcnet.models.base.SuperpixelModel` (PCNet, SCN or SSN).
        loss: its loss: :class:`~pcnet.losses.PCNetLoss`, :class:`~pcnet.losses.SuperpixelLoss`
            or :class:`~pcnet.losses.SSNLoss`.
        optimizer: a partial optimizer (``optimizer(params=...)``), e.g. Adam or AdamW.
        scheduler: an optional partial LR scheduler (``scheduler(optimizer=...)``), stepped every
            ``scheduler_interval`` (``"step"`` or ``"epoch"``).
        val_n_segments: number of superpixels requested on validation/test images (``None``:
            the model's native grid, about H·W/256).
        seed: seeds L_D's patch sampling (together with the global step, so resuming replays it).
        val_refine: score validation/test superpixels after the full-resolution refinement
            (default ``False``: the metrics judge the network itself, not the post-processing).
        teacher: a model file (e.g. the shipped SCN) whose association on the full-resolution
            global crop is PCNet's distillation target (``loss.distill_weight``); frozen, in
            evaluation mode, and not part of this module's checkpoints.

    Validation and test run a :class:`~pcnet.methods.learned.Segmenter` on whole images and update
    :class:`~pcnet.metrics.SuperpixelMetrics` (synced across DDP ranks); their values are logged
    as ``val/br``, ``val/asa``, ..., the boundary F-score ``val/f``, the whole-image L_SP per
    pixel ``val/sp_loss`` (first annotator) and ``val/selection`` = BR + 10⁻³·ASA, the checkpoint
    selection score (BR at the recipe's K, ASA as tie-break: connectivity fixes K, so fragments
    cannot inflate BR). Both come from one forward pass: L_SP is that of the association the
    superpixels come from (the grid of ``val_n_segments``; ``None``: the native grid). ``validation_step``
    returns the superpixels for callbacks
    (e.g. :class:`~pcnet.training.callbacks.OverlayLogger`).
    """

    def __init__(
        self,
        net: SuperpixelModel,
        loss: nn.Module,
        optimizer: Factory,
        scheduler: Factory | None = None,
        scheduler_interval: str = "step",
        val_n_segments: int | None = None,
        seed: int = 0,
        val_refine: bool = False,
        teacher: str | None = None,
    ) -> None:
        super().__init__()
        name = getattr(net, "model_name", "")
        check(
            isinstance(net, SuperpixelModel) and name in list_models(),
            f"net must be one of {list_models()} (built by pcnet.models.build); got {type(net).__name__}",
        )
        check(
            isinstance(loss, net.loss_type),
            f"model {name!r} is trained with {net.loss_type.__name__}; got {type(loss).__name__} "
            f"(pick the matching loss config, e.g. model={name} loss={name})",
        )
        check(
            scheduler_interval in ("step", "epoch"),
            f"scheduler_interval must be 'step' or 'epoch'; got {scheduler_interval!r}",
        )
        # plain values only: checkpoints must load with torch.load(weights_only=True)
        self.save_hyperparameters(ignore=["net", "loss", "optimizer", "scheduler"], logger=False)
        self.net, self.loss = net, loss
        self.optimizer_factory, self.scheduler_factory = optimizer, scheduler
        self.val_metrics = SuperpixelMetrics()
        self.test_metrics = SuperpixelMetrics()
        self.val_sp_loss = MeanMetric()
        self.test_sp_loss = MeanMetric()
        # a plain dict, not a submodule: the teacher stays out of state_dict and the optimizer
        self._frozen: dict[str, SuperpixelModel] = {}
        if teacher:
            check(
                net.crop_mode == "paired",
                f"module.teacher distils into PCNet (a paired-crop model); this run trains {name!r}",
            )
            check(
                getattr(loss, "distill_weight", 0) > 0,
                "module.teacher is set but loss.distill_weight is 0: set a weight, or drop the teacher",
            )
            self._frozen["teacher"] = load_model(teacher).requires_grad_(False)
        else:
            check(
                getattr(loss, "distill_weight", 0) == 0,
                "loss.distill_weight > 0 needs module.teacher=<model file> (e.g. src/pcnet/models/weights/scn.pt)",
            )

    # ------------------------------------------------------------------ training

    def _paired_losses(self, batch: dict[str, torch.Tensor]) -> dict[str, Any]:
        use_sr = self.loss.use_sr and self.loss.sr_weight != 0
        use_local = self.loss.use_local and self.loss.alpha != 0
        glob = self.net(batch["global_input"], return_sr=use_sr)
        local = self.net(batch["local_input"], return_sr=use_sr) if use_local else None
        generator = torch.Generator(device=self.device).manual_seed(self.hparams.seed * 1_000_003 + self.global_step)
        target = {"labels": batch["global_labels"], "image": batch["global_image"]}
        if "teacher" in self._frozen:
            teacher = self._frozen["teacher"].to(self.device).eval()
            with torch.no_grad():
                target["teacher_assoc"] = teacher(batch["global_image"])["assoc"].float()
        return self.loss(
            glob,
            target,
            local,
            {"labels": batch["local_labels"], "image": batch["local_image"]} if use_local else None,
            generator=generator,
        )

    def losses(self, batch: dict[str, torch.Tensor]) -> dict[str, Any]:
        """Every loss component of a training batch (``"total"`` is what is minimised); the batch
        layout follows the model's ``crop_mode``."""
        if self.net.crop_mode == "paired":
            return self._paired_losses(batch)
        out = self.net(batch["input"])
        check(
            getattr(self.loss, "cell_size", self.net.cell_size) == self.net.cell_size,
            f"{type(self.loss).__name__} cell_size {getattr(self.loss, 'cell_size', None)} differs from the "
            f"{self.net.model_name} model's {self.net.cell_size}",
        )
        return self.loss(out["assoc"], batch["labels"])

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        """Log every loss component as ``train/<name>`` and return the total."""
        losses = self.losses(batch)
        batch_size = next(iter(batch.values())).shape[0]
        for key, value in losses.items():
            self.log(
                f"train/{key}",
                float(value) if key == "n_patches" else value,
                prog_bar=key == "total",
                batch_size=batch_size,
            )
        return losses["total"]

    # ------------------------------------------------------------------ evaluation

    def _score(self, batch: dict[str, list[Any]], stage: str) -> list[np.ndarray]:
        """One forward pass per image: its association gives both the superpixels (through the
        Segmenter's post-processing) and the whole-image L_SP per labelled pixel."""
        metrics, sp_loss = getattr(self, f"{stage}_metrics"), getattr(self, f"{stage}_sp_loss")
        out = []
        segmenter = Segmenter(self.net, tile=None, refine=self.hparams.val_refine, precision="fp32")
        for image, labels in zip(batch["image"], batch["labels"]):
            rgb = image.cpu().numpy()
            x, cell_size = self.net.prepare(rgb, self.hparams.val_n_segments)
            logits = self.net.association_logits(x, cell_size)
            superpixels = segmenter.labels_from_cells(
                rgb, self.net.cells_from_scores(logits, cell_size)[0].cpu().numpy(), cell_size, segmenter.refine
            )
            metrics.update([torch.from_numpy(superpixels)], [[lab.cpu() for lab in labels]])
            target = F.interpolate(labels[0][None, None].float(), size=logits.shape[-2:], mode="nearest")[0].long()
            assoc = torch.softmax(logits.float(), dim=1)
            sp_loss.update(
                superpixel_loss(assoc, target.to(assoc.device), cell_size, scale=1.0, reduction="mean")["total"]
            )
            out.append(superpixels)
        return out

    def validation_step(self, batch: dict[str, list[Any]], batch_idx: int) -> dict[str, list[np.ndarray]]:
        """Score whole validation images; returns their ``superpixels`` for callbacks."""
        return {"superpixels": self._score(batch, "val")}

    def test_step(self, batch: dict[str, list[Any]], batch_idx: int) -> dict[str, list[np.ndarray]]:
        """Score whole test images; returns their ``superpixels``."""
        return {"superpixels": self._score(batch, "test")}

    def _log_metrics(self, stage: str) -> None:
        metrics, sp_loss = getattr(self, f"{stage}_metrics"), getattr(self, f"{stage}_sp_loss")
        values = metrics.compute()  # synced over DDP ranks by torchmetrics
        values["f"] = 2 * values["br"] * values["bp"] / (values["br"] + values["bp"]).clamp_min(1e-12)
        values["sp_loss"] = sp_loss.compute()
        # the checkpoint selection score: BR at the recipe's K (fixed by connectivity), ASA deciding
        # only between near-equal BR (1e-3 · ASA moves it by < 1e-5 for ASA differences < 0.01)
        values["selection"] = values["br"] + 1e-3 * values["asa"]
        self.log_dict({f"{stage}/{k}": v.float() for k, v in values.items()}, sync_dist=False)
        metrics.reset()
        sp_loss.reset()

    def on_validation_epoch_end(self) -> None:
        """Log ``val/*`` (metrics, F-score, ``sp_loss``) and reset them."""
        self._log_metrics("val")

    def on_test_epoch_end(self) -> None:
        """Log ``test/*`` (metrics, F-score, ``sp_loss``) and reset them."""
        self._log_metrics("test")

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Record how to rebuild the network, so inference can load the checkpoint alone."""
        config = getattr(self.net, "build_config", None)
        if config is not None:
            checkpoint["pcnet_model"] = {"name": self.net.model_name, "config": dict(config)}

    # ------------------------------------------------------------------ optimisation

    def configure_optimizers(self) -> Any:
        """The optimizer over :meth:`trainable_parameters`, with the scheduler when one is configured."""
        optimizer = self.optimizer_factory(params=self.trainable_parameters())
        if self.scheduler_factory is None:
            return optimizer
        scheduler = self.scheduler_factory(optimizer=optimizer)
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": self.hparams.scheduler_interval},
        }

    def trainable_parameters(self) -> Iterable[nn.Parameter]:
        """The parameters that require gradients (what the optimizer updates)."""
        return (p for p in self.parameters() if p.requires_grad)
