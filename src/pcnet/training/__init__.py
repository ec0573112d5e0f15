"""Training: the LightningModule, its callbacks and loggers (Hydra configs in :mod:`pcnet.conf`)."""
