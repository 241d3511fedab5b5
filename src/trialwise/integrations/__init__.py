"""One-line integrations with the training frameworks people already use.

- :mod:`trialwise.integrations.lightning` (and :mod:`~trialwise.integrations.pytorch_lightning` for
  the ``pytorch_lightning`` package): ``TrialwiseLogger``, a Lightning ``Logger``, and
  ``TrialwiseCallback`` (probes, predictions);
- :mod:`trialwise.integrations.transformers`: ``TrialwiseCallback`` for the Hugging Face ``Trainer``;
- :mod:`trialwise.integrations.keras`: ``TrialwiseCallback`` for Keras 3 ``model.fit``.

Each submodule imports its framework when it is imported; neither ``import trialwise`` nor
``import trialwise.integrations`` imports any of them.  Under ``trialwise run``, importing an
integration seeds the process with ``TRIALWISE_SEED`` through the framework's own helper
(``lightning.seed_everything``, ``transformers.set_seed``, ``keras.utils.set_random_seed``), so a
model built after the import differs per seed and is repeatable.
"""
