"""brickwork: parallel chunked arrays with Dask's API on a Rust engine.

>>> import numpy as np
>>> import brickwork
>>> import brickwork.array as da
>>> x = da.from_array(np.random.random((10_000, 10_000)), chunks=(1000, 1000))
>>> brickwork.compute(x.mean(axis=0), x.std())
(array([...]), np.float64(0.288...))
"""

from brickwork._cpu import check_cpu

check_cpu()

from brickwork import config  # noqa: E402
from brickwork._core import MemoryBudgetError  # noqa: E402
from brickwork.array.core import Array  # noqa: E402
from brickwork.array.evaluation import compute, explain, persist  # noqa: E402
from brickwork.array.visualize import visualize  # noqa: E402
from brickwork.delayed import delayed  # noqa: E402

__version__ = "0.1.0"

__all__ = [
    "Array",
    "MemoryBudgetError",
    "__version__",
    "compute",
    "config",
    "delayed",
    "explain",
    "persist",
    "visualize",
]
