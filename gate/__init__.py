"""After `pulumi up`: the smoke test, the load test and the SLO gate before promotion (README: Deploy gate)."""
