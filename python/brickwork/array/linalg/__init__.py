"""Linear algebra, as ``dask.array.linalg``: products, decompositions, norms and solvers.

- ``_products``: ``matmul`` / ``@`` (the engine's GEMM for floats), ``outer``, ``vdot``;
  ``_contractions``: ``tensordot`` and ``einsum`` (``brickwork.array``'s, as NumPy's,
  not in this namespace); ``_dot``: ``dot``.
- ``_qr``: ``tsqr``, ``sfqr`` and ``qr`` (TSQR on arrays cut along rows);
  ``_svd``: ``svd`` and the randomized ``svd_compressed``; ``_norm``: ``norm``.
- ``_solve``: ``solve``, ``inv``, ``cholesky``, ``lu``, ``solve_triangular`` (the matrix
  gathered into one chunk) and ``lstsq`` (through TSQR).

Every function is lazy: it builds an expression and computes nothing.
"""

from brickwork.array.linalg._products import BATCH_GEMM_LIMIT as BATCH_GEMM_LIMIT
from brickwork.array.linalg._products import matmul, outer, vdot
from brickwork.array.linalg._dot import dot
from brickwork.array.linalg._qr import qr, sfqr, tsqr
from brickwork.array.linalg._svd import compression_level, compression_matrix, svd, svd_compressed
from brickwork.array.linalg._norm import norm
from brickwork.array.linalg._solve import cholesky, inv, lstsq, lu, solve, solve_triangular

__all__ = [
    "cholesky",
    "compression_level",
    "compression_matrix",
    "dot",
    "inv",
    "lstsq",
    "lu",
    "matmul",
    "norm",
    "outer",
    "qr",
    "sfqr",
    "solve",
    "solve_triangular",
    "svd",
    "svd_compressed",
    "tsqr",
    "vdot",
]
