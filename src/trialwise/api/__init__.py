"""The in-script API used by training scripts (re-exported by :mod:`trialwise`)."""

from trialwise.api._run import ActiveRun, config, finish, init, log, seed_everything, summary

__all__ = ["ActiveRun", "config", "finish", "init", "log", "seed_everything", "summary"]
