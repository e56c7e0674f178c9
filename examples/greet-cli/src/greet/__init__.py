"""greet: prints a greeting read from a data file that ships with the package."""
