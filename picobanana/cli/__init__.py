"""The `picobanana` command line: thin shells over the library (parse options, call one function, print)."""
