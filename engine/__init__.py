"""The kpl engine: checks, the plan graph, evaluation over a snapshot, reports."""
