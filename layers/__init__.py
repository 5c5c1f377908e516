"""The layered model of the city: land, construction and traffic tables, and the
registry of layers that everything else reads."""
