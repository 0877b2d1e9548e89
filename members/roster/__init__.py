"""Import a roster of grids, places and members from CSV or XLSX files.

``roster_import`` is the one entry point. It reads the files, checks every
row against the database and the rest of the files, and writes only when no
row is bad, all in one durable transaction. The grids and places part lives
in ``grids.roster``. This package adds the members sheet, because ``grids``
must not import ``members``. docs/roster-import.md lists the columns.
"""

from members.roster.run import SPECS, RosterReport, roster_import

__all__ = ["SPECS", "RosterReport", "roster_import"]
