"""Read-only figures for managers: the dashboard, the KPI tables behind it, exports, the
half-yearly summary and the early warning. Every number is computed by the database
(aggregates and grouping), never by looping over cases in Python. Imports the domain apps;
none of them imports it."""
