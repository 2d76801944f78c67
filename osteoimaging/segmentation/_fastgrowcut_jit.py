"""The numba kernel of :mod:`osteoimaging.segmentation.fastgrowcut` (imported on first use,
so that importing the segmentation package does not load numba).

A transcription of the full-computation branch of ``vtkImageGrowCutSegment`` (3D Slicer,
``Modules/Loadable/Segmentations/Logic``, Slicer license) and ``itk::FastGrowCut``
(InsightSoftwareConsortium/ITKGrowCut, Apache-2.0, adapted from the Slicer class); see the
parent module for what is reproduced.

Provenance of the priority queue: it reproduces, operation for operation, John Boyer's
Fibonacci heap that both projects ship (``FibHeap.h``/``FibHeap.cxx``), whose notice reads:
"The Fibonacci heap implementation contained in FIBHEAP.H and FIBHEAP.CPP is Copyright (c)
1996 by John Boyer. Once this Fibonacci heap implementation (the software) has been published
by Dr. Dobb's Journal, permission to use and distribute the software is granted provided
that this copyright notice remains in the source and the author (John Boyer) is
acknowledged in works that use this program." Acknowledged here: the heap's design and
operation order are John Boyer's."""

from __future__ import annotations

import numpy as np

from osteoimaging.log import logger
from osteoimaging.segmentation.fastgrowcut import DIST_EPSILON, DIST_INF

try:  # numba is a core dependency; without it the same code runs as plain Python (slow).
    from numba import njit
except ImportError:  # pragma: no cover - depends on the installation
    logger.warning(
        "numba is not installed: GrowCut runs as plain Python (minutes per vertebra); "
        "pip install numba"
    )

    def njit(*args, **kwargs):
        """No-op stand-in for ``numba.njit``."""
        if len(args) == 1 and callable(args[0]) and not kwargs:
            return args[0]
        return lambda f: f


NULL = -1
_DEGREE_SLOTS = 1 + 8 * 8  # Consolidate's array size in FibHeap.cxx: 1 + 8 * sizeof(long)
# Heap node links: one 32-byte int32 row per voxel, so that a node's links share a cache
# line as in the C++ array of structs (1.5x faster than one array per field here); the
# float32 keys are a separate array.
LEFT, RIGHT, PARENT, CHILD, DEGREE, MARK = 0, 1, 2, 3, 4, 5


# --- Fibonacci heap (Boyer 1996, as in FibHeap.cxx), nodes are array indices -------------
# h[node] = left/right (circular sibling list), parent, child, degree, mark; key[node].
# ``minroot`` is passed in and returned (NULL when the heap is empty).


@njit(cache=True)
def _insert(n, minroot, h, key):
    if minroot == NULL:
        minroot = n
        h[n, LEFT] = n
        h[n, RIGHT] = n
    else:
        h[n, RIGHT] = h[minroot, RIGHT]
        h[n, LEFT] = minroot
        h[h[n, LEFT], RIGHT] = n
        h[h[n, RIGHT], LEFT] = n
        if key[n] < key[minroot]:
            minroot = n
    h[n, PARENT] = NULL
    return minroot


@njit(cache=True)
def _link(y, x, h):
    """Make root ``y`` a child of root ``x``."""
    if h[y, RIGHT] != NULL:
        h[h[y, RIGHT], LEFT] = h[y, LEFT]
    if h[y, LEFT] != NULL:
        h[h[y, LEFT], RIGHT] = h[y, RIGHT]
    h[y, LEFT] = y
    h[y, RIGHT] = y
    h[y, PARENT] = x
    if h[x, CHILD] == NULL:
        h[x, CHILD] = y
    else:
        h[y, LEFT] = h[x, CHILD]
        h[y, RIGHT] = h[h[x, CHILD], RIGHT]
        h[h[x, CHILD], RIGHT] = y
        h[h[y, RIGHT], LEFT] = y
    h[x, DEGREE] += 1
    h[y, MARK] = 0


@njit(cache=True)
def _consolidate(minroot, slots, h, key):
    slots[:] = NULL
    # Break the circular root list after its last node, then walk it from ``minroot``.
    h[h[minroot, LEFT], RIGHT] = NULL
    h[minroot, LEFT] = NULL
    w = minroot
    while True:
        x = w
        d = h[x, DEGREE]
        w = h[w, RIGHT]
        while slots[d] != NULL:
            y = slots[d]
            if key[y] < key[x]:
                x, y = y, x
            if w == y:
                w = h[y, RIGHT]
            _link(y, x, h)
            slots[d] = NULL
            d += 1
        slots[d] = x
        if w == NULL:
            break
    minroot = NULL
    for i in range(slots.size):
        if slots[i] != NULL:
            h[slots[i], MARK] = 0
            minroot = _insert(slots[i], minroot, h, key)
    return minroot


@njit(cache=True)
def _extract_min(minroot, slots, h, key):
    """Remove the minimum; returns (node, new minroot)."""
    result = minroot
    minroot = h[result, RIGHT]
    h[h[result, RIGHT], LEFT] = h[result, LEFT]
    h[h[result, LEFT], RIGHT] = h[result, RIGHT]
    h[result, LEFT] = NULL
    h[result, RIGHT] = NULL
    h[result, MARK] = 0
    h[result, DEGREE] = 0
    first_child = h[result, CHILD]
    child_heap = NULL
    if first_child == NULL:
        if minroot == result:
            minroot = NULL
    elif minroot == result:
        minroot = first_child
    else:
        child_heap = first_child
    if first_child != NULL:
        h[first_child, PARENT] = NULL
    h[result, CHILD] = NULL
    h[result, PARENT] = NULL
    if child_heap != NULL:  # Union: splice the child list in after ``minroot``
        min1, min2 = minroot, child_heap
        next1, next2 = h[min1, RIGHT], h[min2, RIGHT]
        h[min1, RIGHT] = next2
        h[next2, LEFT] = min1
        h[min2, RIGHT] = next1
        h[next1, LEFT] = min2
        if key[min2] < key[min1]:
            minroot = min2
    if minroot != NULL:
        minroot = _consolidate(minroot, slots, h, key)
    return result, minroot


@njit(cache=True)
def _cut(x, y, minroot, h, key):
    """Move ``x`` from ``y``'s child list to the root list."""
    if h[y, CHILD] == x:
        h[y, CHILD] = h[x, RIGHT]
    if h[y, CHILD] == x:
        h[y, CHILD] = NULL
    h[y, DEGREE] -= 1
    h[h[x, LEFT], RIGHT] = h[x, RIGHT]
    h[h[x, RIGHT], LEFT] = h[x, LEFT]
    h[x, MARK] = 0
    return _insert(x, minroot, h, key)


@njit(cache=True)
def _decrease_key(n, value, minroot, h, key):
    if key[n] < value:
        return minroot
    key[n] = value
    p = h[n, PARENT]
    if p != NULL and key[n] < key[p]:
        minroot = _cut(n, p, minroot, h, key)
        # Cascading cut.
        y = p
        z = h[y, PARENT]
        while z != NULL:
            if h[y, MARK] == 0:
                h[y, MARK] = 1
                z = NULL
            else:
                minroot = _cut(y, z, minroot, h, key)
                y = z
                z = h[y, PARENT]
    if key[n] < key[minroot]:
        minroot = n
    return minroot


# --- GrowCut ------------------------------------------------------------------------------


@njit(cache=True)
def fast_growcut_kernel(image, seeds, offsets, penalties, labels, distance, h, key):
    """Dijkstra from all seeds over flat arrays (x fastest); fills ``labels``, ``distance``."""
    nz, ny, nx = image.shape
    n = nx * ny * nz
    im = image.ravel()
    sd = seeds.ravel()
    lab = labels.ravel()
    dist = distance.ravel()
    slots = np.empty(_DEGREE_SLOTS, np.int32)
    # Voxels on the array's faces take labels but do not propagate (as in the C++ code).
    interior = np.zeros(n, np.uint8)
    for z in range(1, nz - 1):
        for y in range(1, ny - 1):
            start = (z * ny + y) * nx
            interior[start + 1 : start + nx - 1] = 1
    use_penalty = False
    for i in range(penalties.size):
        if penalties[i] != 0.0:
            use_penalty = True
    minroot = NULL
    for index in range(n):
        lab[index] = sd[index]
        value = DIST_INF if sd[index] == 0 else DIST_EPSILON
        key[index] = value
        dist[index] = value
        minroot = _insert(index, minroot, h, key)
    # "Insert 0 then extract it, which will balance heap."
    key[n] = np.float32(0.0)
    minroot = _insert(n, minroot, h, key)
    _, minroot = _extract_min(minroot, slots, h, key)
    while minroot != NULL:
        index, minroot = _extract_min(minroot, slots, h, key)
        if interior[index] == 0:
            continue
        current = key[index]
        label = lab[index]
        centre = im[index]
        for i in range(offsets.size):
            neighbour = index + offsets[i]
            new = np.float32(np.abs(centre - im[neighbour]) + current)
            if use_penalty:
                new = np.float32(np.float64(new) + penalties[i])
            if dist[neighbour] > new:
                dist[neighbour] = new
                lab[neighbour] = label
                minroot = _decrease_key(neighbour, new, minroot, h, key)
