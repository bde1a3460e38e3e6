"""What to do with a trained run: latent tools (`latent`), export (`export`), inversion
(`invert`) and a local demo server (`serve`). Built on the facade (`ganx.load`); each module
imports torch, so import them lazily from the CLI."""
