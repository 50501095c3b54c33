"""`ibms gen` stages of this app: (name, run(ctx), models written). demo/generator.py registers them in order."""

GEN_STAGES: list = []
