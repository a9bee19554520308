"""Pipeline forecast (DESIGN §11): per rep, team and company for a month or quarter — won
so far, and open deals weighted by their stage's historical win rate (best case, weighted,
committed), against the revenue target. ``engine`` is the pure arithmetic, ``selectors``
the reads and scopes."""
