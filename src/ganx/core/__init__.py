"""The adversarial-training engine.

core knows nothing of plugins or the CLI. Importing this package is cheap: modules that need torch
import it themselves, so torch-free parts (config, errors, the Domain base class) stay light.
"""
