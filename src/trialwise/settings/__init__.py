"""Configuration: the typed ``trialwise.toml`` and its loader."""

from trialwise.settings._load import CONFIG_FILE, config_text_at, load_config, parse_config
from trialwise.settings._model import (
    DEFAULT_SEEDS,
    DEFAULT_STORE_URL,
    ArgsEnv,
    BaselineConfig,
    Config,
    MetricConfig,
    ParamsConfig,
    WorktreeConfig,
)

__all__ = [
    "CONFIG_FILE", "config_text_at", "DEFAULT_SEEDS", "DEFAULT_STORE_URL", "ArgsEnv", "BaselineConfig", "Config",
    "MetricConfig", "ParamsConfig", "WorktreeConfig", "load_config", "parse_config",
]
