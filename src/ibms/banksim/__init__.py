"""The agent-bank simulator: its own process, database and keys (`ibms bank-sim`)."""
