"""A data service: the benchmark's big app with numpy, pandas, scipy and pyarrow."""
