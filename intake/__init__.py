"""The ways a complaint comes in: for now, the agent's New complaint screen."""
