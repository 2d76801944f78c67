"""Two image types the reference study used that pyradiomics lacks, registered with pyradiomics.

pyradiomics finds image types by name: an image type ``X`` is the generator
``radiomics.imageoperations.getXImage(inputImage, inputMask, **settings)`` that yields
``(filtered image, feature-name prefix, settings)``, and the list ``radiomics.getImageTypes()``
(also used by its parameter-file validation) is filled once from those names. Registering adds
the generator to ``imageoperations`` and its name to that list, so the types can be enabled like
any built-in one (``extractor.enableImageTypeByName("BoxSigmaImage", customArgs=...)``).

* ``BoxSigmaImage`` → prefix ``boxsigmaimage``: local sample standard deviation (divisor n − 1)
  in a box of half-width ``boxSigmaRadius`` voxels (an int, or one per axis x, y, z; default 1,
  i.e. a 3×3×3 box) by SimpleITK's ``BoxSigma`` (ITK ``BoxSigmaImageFilter``; Lehmann G.,
  "Efficient implementation of the box filters", Insight Journal 2006).
* ``AdditiveGaussianNoise`` → prefix ``additivegaussiannoise``: the image plus Gaussian noise of
  mean ``noiseMean`` (default 0) and standard deviation ``noiseStandardDeviation`` (default 1, in
  image intensity units) by SimpleITK's ``AdditiveGaussianNoise`` with a fixed ``noiseSeed``
  (default 42): the same input and settings always give the same image (ITK seeds each region
  from the seed and the region's first index, so threading does not change the result).

The reference study does not publish the radius, σ or seed it used; these defaults are ours.
"""

from __future__ import annotations

from collections.abc import Iterator

import SimpleITK as sitk

BOX_SIGMA = "BoxSigmaImage"
ADDITIVE_NOISE = "AdditiveGaussianNoise"
DEFAULTS = {
    BOX_SIGMA: {"boxSigmaRadius": 1},
    ADDITIVE_NOISE: {"noiseStandardDeviation": 1.0, "noiseMean": 0.0, "noiseSeed": 42},
}
# Settings our image types read; pyradiomics' parameter schema does not know them.
CUSTOM_SETTINGS = frozenset(k for d in DEFAULTS.values() for k in d)


def _radius(value, dimension: int) -> list[int]:
    if isinstance(value, int | float):
        return [int(value)] * dimension
    values = [int(v) for v in value]
    if len(values) != dimension or min(values) < 0:
        raise ValueError(f"boxSigmaRadius must be one or {dimension} non-negative integers")
    return values


def getBoxSigmaImageImage(
    inputImage: sitk.Image,
    inputMask: sitk.Image,
    **kwargs,
) -> Iterator[tuple[sitk.Image, str, dict]]:
    """Yield the local-standard-deviation (box sigma) image, prefix ``boxsigmaimage``."""
    radius = _radius(kwargs.get("boxSigmaRadius", 1), inputImage.GetDimension())
    image = sitk.Cast(inputImage, sitk.sitkFloat64)
    yield sitk.BoxSigma(image, radius=radius), "boxsigmaimage", kwargs


def getAdditiveGaussianNoiseImage(
    inputImage: sitk.Image,
    inputMask: sitk.Image,
    **kwargs,
) -> Iterator[tuple[sitk.Image, str, dict]]:
    """Yield the image plus seeded Gaussian noise, prefix ``additivegaussiannoise``."""
    defaults = DEFAULTS[ADDITIVE_NOISE]
    image = sitk.Cast(inputImage, sitk.sitkFloat64)
    noisy = sitk.AdditiveGaussianNoise(
        image,
        standardDeviation=float(
            kwargs.get("noiseStandardDeviation", defaults["noiseStandardDeviation"])
        ),
        mean=float(kwargs.get("noiseMean", defaults["noiseMean"])),
        seed=int(kwargs.get("noiseSeed", defaults["noiseSeed"])),
    )
    yield noisy, "additivegaussiannoise", kwargs


_GENERATORS = {
    BOX_SIGMA: getBoxSigmaImageImage,
    ADDITIVE_NOISE: getAdditiveGaussianNoiseImage,
}


def register_image_types() -> list[str]:
    """Make our image types known to pyradiomics (idempotent); return all image type names."""
    import radiomics
    from radiomics import imageoperations

    types = radiomics.getImageTypes()  # the cached list object the validator also reads
    for name, generator in _GENERATORS.items():
        setattr(imageoperations, f"get{name}Image", generator)
        if name not in types:
            types.append(name)
    return list(types)
