"""Hot loops of wattbit: Numba and Cython kernels, each with a NumPy reference.

Kernels take and return plain NumPy arrays and import nothing from :mod:`engine`.
"""
