"""Column indices of MATPOWER's ``bus``, ``gen`` and ``branch`` arrays (0-based).

The MATPOWER case format (version 2) fixes the meaning of each column; these
constants name them so kernels never use bare numbers.
"""

# bus
BUS_I, BUS_TYPE, PD, QD, GS, BS, BUS_AREA, VM, VA, BASE_KV, ZONE, VMAX, VMIN = range(13)
# bus types
PQ, PV, REF, NONE = 1, 2, 3, 4

# gen
GEN_BUS, PG, QG, QMAX, QMIN, VG, MBASE, GEN_STATUS, PMAX, PMIN = range(10)

# branch
F_BUS, T_BUS, BR_R, BR_X, BR_B, RATE_A, RATE_B, RATE_C, TAP, SHIFT, BR_STATUS = range(11)
