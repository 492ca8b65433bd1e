"""The core: customers, departments, cases, the seven-step lifecycle, the event log, access rules.

Imports flow one way: the other apps import this one, never the reverse. The core lets them react
through the signals listed in ``complaints.signals``.
"""
