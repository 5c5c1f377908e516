"""Planning analyses across layers (issue 14): rule checks and their violations layer,
compliance verdicts, road-widening impact and ward/district reports. They read several
layers of the registry; the web views and the command line call them."""
