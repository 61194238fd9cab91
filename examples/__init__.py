"""Runnable examples: the demo service and the recipes the docs embed."""
