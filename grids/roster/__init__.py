"""Roster import: grids, places and members from CSV and XLSX files.

This package reads the files and plans the grids and places. The member part
and the transaction that writes everything live in ``members.roster``,
because ``grids`` must not import ``members``.
"""
