"""Demo data at the scale of the Tianrui community.

``plan`` computes every row from a seed without touching the database,
``names`` makes up the Chinese names it uses, and ``actions`` writes the rows
that are missing. The ``demo_data`` management command calls ``actions``.
"""
