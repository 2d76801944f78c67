"""Trabecular microarchitecture on binary high-resolution volumes.

BV/TV, Tb.Th and Tb.Sp by local thickness (largest inscribed sphere, Hildebrand &
Rüegsegger, J Microsc 1997;185:67–75), Tb.N, and binarisation of greyscale scans.
"""

from studies.microarchitecture.binarize import binarize
from studies.microarchitecture.local_thickness import local_thickness
from studies.microarchitecture.morphometry import Morphometry, morphometry

__all__ = ["Morphometry", "binarize", "local_thickness", "morphometry"]
