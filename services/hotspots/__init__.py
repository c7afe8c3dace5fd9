"""Hot spots (未訴先辦): clusters of one category in a compound or community, and
problems recurring in a compound, detected as the signals arrive.

Pure domain code, no I/O: ``signals`` (the input), ``detector`` (the state machine),
``changes`` (its output), ``recipients`` and ``messages`` (who is told, and the public
events), ``policy`` (the thresholds, part of the routing policy file)."""
