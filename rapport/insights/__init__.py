"""Clinic insights: instrument health, trust & alliance, outcomes and equity, as aggregates.

``data`` pulls tidy DataFrames for one organisation with a few set-based queries;
``reports`` turns them into suppressed tables (plain dicts) with the statistics of
:mod:`rapport.psychometrics`; ``snapshots`` caches those per organisation; ``etr`` fits
and versions the expected-treatment-response model. See docs/insights.md.
"""
