"""Psychometric and clinical-change statistics for Rapport (pure Python, no Django).

DataFrame in, tidy DataFrame or a small result object out.  See ``docs/psychometrics.md``.
"""

from rapport.psychometrics._validation import check_dataframe as check_dataframe
