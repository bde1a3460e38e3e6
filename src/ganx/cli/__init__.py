"""The `ganx` command line (click). Commands import torch only inside their bodies."""
