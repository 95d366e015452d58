"""Numbers in Spanish as Rapport writes them: a decimal point and comma thousands ("5.5",
"2,706"), as in the United States and Mexico, not Spain's "5,5" and "2.706".

Rapport's Spanish addresses clinics in the Americas (the shipped crisis lines are the
United States' 988, with its Spanish option), and most of its numbers are written before
the reader's language is known (scores through ``rapport.alerts.wording.number_as_read``,
the insight figures by the worker), so Django's own rendering of a number must agree
with them: a page never shows "6.3" beside "1,5" (docs/workspace.md).
"""

DECIMAL_SEPARATOR = "."
THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
