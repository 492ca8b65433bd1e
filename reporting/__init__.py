"""Read-only figures and exports for managers (built by the reporting work)."""
