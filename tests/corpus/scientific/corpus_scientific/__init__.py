"""numpy and pandas compute a small sum (both need libstdc++.so.6 from the base)."""

import numpy
import pandas


def main() -> None:
    frame = pandas.DataFrame({"x": numpy.arange(10)})
    print(f"scientific ok: sum {int(frame['x'].sum())} numpy {numpy.__version__} pandas {pandas.__version__}")
