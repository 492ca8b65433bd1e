"""Time limits, deadlines, the sweep, tiers and the managers' queues (escalation work)."""
