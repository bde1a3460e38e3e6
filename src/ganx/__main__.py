"""`python -m ganx` runs the command line (and is what `torchrun -m ganx` starts)."""

from ganx.cli.main import main

main()
