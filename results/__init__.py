"""Results: read stored run records, build leaderboards, plots and stability analyses. Never trains."""
