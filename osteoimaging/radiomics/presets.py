"""Feature presets: the study's ``reference-9``, ``full``, or any pyradiomics parameter file.

Two YAML shapes are understood:

* a **feature list** (``features: {T1: [...], T2: [...]}``, as ``reference-9.yaml``): exactly the
  named features are computed. Each name ``<image type prefix>_<class>_<feature>`` is mapped to
  the pyradiomics image type that produces it (``original`` → Original, ``wavelet-LLH`` →
  Wavelet, ``log-sigma-4-0-mm-3D`` → LoG with σ = 4.0 mm, ``boxsigmaimage`` → BoxSigmaImage, …)
  and one pyradiomics run is made per image type with only the needed classes and features;
* a **pyradiomics parameter file** (``setting``/``imageType``/``featureClass``, as ``full.yaml``
  or any file written for pyradiomics): every enabled feature, for each sequence given.

Our image types' settings (``boxSigmaRadius``, ``noise…``) are not in pyradiomics' schema; they
are taken out before pyradiomics validates the file and passed to those image types directly.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import yaml

from osteoimaging.errors import InputError
from osteoimaging.radiomics.filters import CUSTOM_SETTINGS, DEFAULTS, register_image_types

BUILTIN = ("reference-9", "full")

# Feature-name prefix (pyradiomics' image type name as it appears in feature names) → type.
_PREFIX_TYPES = {
    "original": "Original",
    "boxsigmaimage": "BoxSigmaImage",
    "additivegaussiannoise": "AdditiveGaussianNoise",
    "square": "Square",
    "squareroot": "SquareRoot",
    "logarithm": "Logarithm",
    "exponential": "Exponential",
    "gradient": "Gradient",
    "lbp-2D": "LBP2D",
}
_LOG_PREFIX = re.compile(r"^log-sigma-(\d+)-(\d+)-mm-3D$")


@dataclass
class Preset:
    """What to extract. ``features`` set → feature-list preset; otherwise ``params`` is a
    pyradiomics parameter dictionary applied to every sequence."""

    name: str
    settings: dict = field(default_factory=dict)
    features: dict[str, list[str]] | None = None
    image_type_settings: dict[str, dict] = field(default_factory=dict)
    params: dict | None = None
    source: str = ""

    @property
    def sequences(self) -> list[str] | None:
        """Sequences the preset names (feature-list presets), else None (any)."""
        return None if self.features is None else list(self.features)


def load_preset(name_or_path: str | Path) -> Preset:
    """A built-in preset by name (``reference-9``, ``full``) or a YAML/JSON file."""
    text_name = str(name_or_path)
    if text_name in BUILTIN:
        resource = resources.files("osteoimaging.radiomics") / "presets" / f"{text_name}.yaml"
        data, source = yaml.safe_load(resource.read_text(encoding="utf-8")), text_name
    else:
        path = Path(name_or_path)
        if not path.is_file():
            raise InputError(f"no such preset file (built-in presets: {', '.join(BUILTIN)})", path)
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))  # JSON is YAML too
        except yaml.YAMLError as exc:
            raise InputError(f"not a valid YAML/JSON parameter file: {exc}", path) from exc
        source = str(path)
    if not isinstance(data, dict):
        raise InputError("parameter file must hold a mapping", source)
    return preset_from_dict(data, source=source)


def preset_from_dict(data: dict, source: str = "") -> Preset:
    """Build a :class:`Preset` from a parsed YAML mapping (see the module docstring)."""
    data = copy.deepcopy(data)
    name = str(data.get("name") or Path(source).stem or "custom")
    settings = dict(data.get("setting") or {})
    if "features" in data:
        features = data["features"]
        if not isinstance(features, dict) or not all(
            isinstance(v, list) and v for v in features.values()
        ):
            raise InputError("'features' must map each sequence to a list of names", source)
        preset = Preset(
            name=name,
            settings=settings,
            features={str(k): [str(f) for f in v] for k, v in features.items()},
            image_type_settings=dict(data.get("imageTypeSettings") or {}),
            source=source,
        )
        for sequence, names in preset.features.items():
            for feature in names:
                _parse_feature_name(feature, source or sequence)
        return preset
    params = {
        k: data[k] for k in ("setting", "imageType", "featureClass", "voxelSetting") if k in data
    }
    if not params.get("imageType"):
        params["imageType"] = {"Original": {}}
    return Preset(name=name, settings=settings, params=params, source=source)


def _parse_feature_name(feature: str, source: str) -> tuple[str, dict, str, str]:
    """``(image type, its extra settings, feature class, feature)`` of a pyradiomics name."""
    parts = feature.split("_")
    if len(parts) != 3:
        raise InputError(
            f"'{feature}' is not a pyradiomics name <imagetype>_<class>_<feature>", source
        )
    prefix, feature_class, name = parts
    match = _LOG_PREFIX.match(prefix)
    if match:
        return "LoG", {"sigma": [float(f"{match[1]}.{match[2]}")]}, feature_class, name
    if prefix.startswith("wavelet-"):
        return "Wavelet", {}, feature_class, name
    if prefix in _PREFIX_TYPES:
        if feature_class.startswith("shape") and prefix != "original":
            raise InputError(f"'{feature}': shape features exist only as original_shape_*", source)
        return _PREFIX_TYPES[prefix], {}, feature_class, name
    raise InputError(f"'{feature}': unknown image type prefix '{prefix}'", source)


def _split_custom(args: dict) -> tuple[dict, dict]:
    """(pyradiomics-valid settings, our image types' settings)."""
    plain = {k: v for k, v in args.items() if k not in CUSTOM_SETTINGS}
    custom = {k: v for k, v in args.items() if k in CUSTOM_SETTINGS}
    return plain, custom


_EXTRACTORS: dict[str, object] = {}


def _make_extractor(params: dict, source: str):
    """A pyradiomics extractor from a parameter dict (validated by pyradiomics' own schema).

    Validation parses pyradiomics' schema with pykwalify (~0.1 s); validated extractors are
    cached by their parameters and handed out as deep copies (callers may change settings).
    """
    key = json.dumps(params, sort_keys=True, default=str)
    if key not in _EXTRACTORS:
        _EXTRACTORS[key] = _new_extractor(params, source)
    return copy.deepcopy(_EXTRACTORS[key])


def _new_extractor(params: dict, source: str):
    register_image_types()
    from radiomics.featureextractor import RadiomicsFeatureExtractor

    params = copy.deepcopy(params)
    settings, global_custom = _split_custom(params.get("setting") or {})
    params["setting"] = settings
    image_types = params.get("imageType") or {}
    custom_types = {}
    for image_type in list(image_types):
        if image_type in DEFAULTS:
            args = {**DEFAULTS[image_type], **global_custom, **(image_types[image_type] or {})}
            custom_types[image_type] = args
            image_types[image_type] = {}
        else:
            plain, custom = _split_custom(image_types[image_type] or {})
            if custom:
                raise InputError(f"settings {sorted(custom)} do not apply to {image_type}", source)
            image_types[image_type] = plain
    params["imageType"] = image_types
    try:
        extractor = RadiomicsFeatureExtractor(params)
    except Exception as exc:  # pykwalify's SchemaError and friends
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"invalid pyradiomics parameters: {message}", source) from exc
    for image_type, args in custom_types.items():
        extractor.enableImageTypeByName(image_type, customArgs=args)
    return extractor


def _split_log(params: dict) -> list[dict]:
    """LoG in a run of its own (without shape features) when other image types are enabled too.

    LoG needs a wider pre-crop margin than the other filters (see
    :func:`osteoimaging.radiomics.extract._set_padding`); a separate run keeps the other image
    types on the small margin. The features are the same as one combined run.
    """
    image_types = params.get("imageType") or {}
    if "LoG" not in image_types or len(image_types) == 1:
        return [params]
    log = copy.deepcopy(params)
    log["imageType"] = {"LoG": image_types["LoG"]}
    classes = log.get("featureClass")
    if classes is None:  # pyradiomics' default: all classes but shape2D
        from radiomics import getFeatureClasses

        classes = {c: None for c in getFeatureClasses() if c != "shape2D"}
    log["featureClass"] = {c: v for c, v in classes.items() if not c.startswith("shape")}
    rest = copy.deepcopy(params)
    rest["imageType"] = {k: v for k, v in image_types.items() if k != "LoG"}
    return [rest, log] if log["featureClass"] else [rest]


def build_extractors(preset: Preset, sequence: str) -> list[tuple[object, list[str] | None]]:
    """pyradiomics extractors for one sequence, each with the feature names to keep (None: all).

    Feature-list presets give one extractor per image type needed; shape features go with the
    Original image type (pyradiomics computes shape once per run, independent of image type).
    """
    if preset.features is None:
        return [(_make_extractor(p, preset.source), None) for p in _split_log(preset.params or {})]
    if sequence not in preset.features:
        raise InputError(f"preset '{preset.name}' has no features for sequence {sequence}")
    groups: dict[str, dict] = {}
    for feature in preset.features[sequence]:
        image_type, extra, feature_class, name = _parse_feature_name(feature, preset.source)
        group = groups.setdefault(image_type, {"args": {}, "classes": {}, "names": []})
        if "sigma" in extra:
            sigmas = group["args"].setdefault("sigma", [])
            sigmas.extend(s for s in extra["sigma"] if s not in sigmas)
        group["classes"].setdefault(feature_class, [])
        if name not in group["classes"][feature_class]:
            group["classes"][feature_class].append(name)
        group["names"].append(feature)
    out = []
    for image_type, group in groups.items():
        args = {**preset.image_type_settings.get(image_type, {}), **group["args"]}
        params = {
            "setting": dict(preset.settings),
            "imageType": {image_type: args},
            "featureClass": group["classes"],
        }
        out.append((_make_extractor(params, preset.source or preset.name), group["names"]))
    return out
