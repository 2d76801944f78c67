"""The CNN: MONAI DenseNet (DenseNet121 or a small configuration), training and saving.

Huang G, Liu Z, van der Maaten L, Weinberger KQ. Densely connected convolutional networks.
CVPR 2017 (DenseNet-121: growth 32, 64 initial features, blocks 6-12-24-16); MONAI's
``DenseNet121`` / ``DenseNet`` (Cardoso MJ et al., MONAI, arXiv:2211.02701), random
initialisation only (``pretrained=False``: nothing is downloaded). The small configuration
(16 features, growth 16, blocks 2-2-2-2, ≈ 98 k parameters) is the CI-sized model of
../shared/notes/performance-2026-12.md.

Training: Adam, class-weighted cross-entropy (weights n / (2·n_class)), augmentation
(left–right flip, rotation ±10°, scale ±5 %, shift ±4 px, HU offset ±10 HU, noise), early
stopping on the validation AUC (patience epochs without improvement; the best epoch's
weights are kept), fixed seeds. torch is imported here only, so the core install never
needs it.
"""

from __future__ import annotations

import copy
import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from osteoimaging.atomic import atomic_path, write_json, write_text
from osteoimaging.errors import InputError
from osteoimaging.log import logger
from osteoimaging.progress import ProgressCallback, report
from osteoimaging.screening.prep import PrepParams
from osteoimaging.stats.roc import auc_delong

PRESETS = {
    "densenet121": {"init_features": 64, "growth_rate": 32, "block_config": (6, 12, 24, 16)},
    "small": {"init_features": 16, "growth_rate": 16, "block_config": (2, 2, 2, 2)},
}
MODEL_FILE, CONFIG_FILE, CARD_FILE = "model.pt", "model.json", "MODEL_CARD.md"


@dataclass
class ModelConfig:
    """Architecture and training settings (saved with the model)."""

    architecture: str = "densenet121"
    epochs: int = 12
    batch_size: int = 16
    learning_rate: float = 1e-3
    weight_decay: float = 1e-4
    patience: int = 4
    min_epochs: int = 1
    augment: bool = True
    seed: int = 0
    threads: int = 2
    cam_layer: str = "features.transition3.relu"
    #: Grad-CAM class: "predicted" (each case's), "0" (evidence for normal bone) or "1".
    cam_class: str = "predicted"
    dropout: float = 0.0
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.cam_class = str(self.cam_class)
        if self.cam_class not in ("predicted", "0", "1"):
            raise InputError(f"cam_class must be predicted, 0 or 1, got '{self.cam_class}'")
        if self.architecture not in PRESETS:
            raise InputError(
                f"unknown architecture '{self.architecture}' (known: {', '.join(PRESETS)})"
            )

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> ModelConfig:
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})


def cam_class_index(config: ModelConfig) -> int | None:
    """The ``class_idx`` for :func:`osteoimaging.screening.gradcam.grad_cam`."""
    return None if config.cam_class == "predicted" else int(config.cam_class)


def require_torch():
    """Import torch and MONAI or raise an InputError naming the extra to install."""
    # OpenMP threads that spin while waiting cost a loaded 2-core machine dearly
    # (../shared/notes/performance-2026-12.md); passive waiting costs nothing when idle.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        import monai  # noqa: F401
        import torch
    except ImportError as exc:
        raise InputError(
            "this needs the 'screen' extra (torch and MONAI): pip install torch==2.13.0 "
            "(or a CPU/GPU build of your choice) then pip install 'osteoimaging[screen]'"
        ) from exc
    return torch


def device():
    torch = require_torch()
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def build_model(config: ModelConfig, in_channels: int):
    """A fresh, randomly initialised 2D DenseNet with two outputs (normal, osteoporosis)."""
    require_torch()
    from monai.networks.nets import DenseNet, DenseNet121

    if config.architecture == "densenet121":
        return DenseNet121(
            spatial_dims=2,
            in_channels=in_channels,
            out_channels=2,
            pretrained=False,
            dropout_prob=config.dropout,
        )
    p = PRESETS[config.architecture]
    return DenseNet(
        spatial_dims=2,
        in_channels=in_channels,
        out_channels=2,
        init_features=p["init_features"],
        growth_rate=p["growth_rate"],
        block_config=p["block_config"],
        dropout_prob=config.dropout,
    )


def _augment(torch, x, windows, gen):
    """Random flip, small affine, HU offset and noise on a batch (N, C, H, W) in [0, 1]."""
    import torch.nn.functional as F

    n = x.shape[0]
    flip = torch.rand(n, generator=gen) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(-1), x)
    angle = (torch.rand(n, generator=gen) * 2 - 1) * np.deg2rad(10.0)
    scale = 1 + (torch.rand(n, generator=gen) * 2 - 1) * 0.05
    shift = (torch.rand(n, 2, generator=gen) * 2 - 1) * (8.0 / x.shape[-1])
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack(
        [torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1
    )
    grid = F.affine_grid(theta.float(), list(x.shape), align_corners=False)
    x = F.grid_sample(x, grid, padding_mode="border", align_corners=False)
    offset = (torch.rand(n, generator=gen) * 2 - 1) * 10.0  # HU
    widths = torch.tensor([hi - lo for lo, hi in windows], dtype=x.dtype)
    x = x + offset[:, None, None, None] / widths[None, :, None, None]
    x = x + 0.01 * torch.randn(x.shape, generator=gen)
    return x.clamp(0.0, 1.0)


def predict(model, images: np.ndarray, batch_size: int = 32) -> np.ndarray:
    """Probability of class 1 (osteoporosis) for each image (N, C, H, W)."""
    torch = require_torch()
    model.eval()
    dev = next(model.parameters()).device
    out = []
    with torch.no_grad():
        for start in range(0, len(images), batch_size):
            xb = torch.from_numpy(np.array(images[start : start + batch_size], np.float32))
            out.append(torch.softmax(model(xb.to(dev)), dim=1)[:, 1].cpu().numpy())
    return np.concatenate(out) if out else np.zeros(0)


def train_model(
    images: np.ndarray,
    y: np.ndarray,
    train_idx: np.ndarray,
    val_idx: np.ndarray,
    config: ModelConfig,
    windows,
    progress: ProgressCallback | None = None,
):
    """Train a fresh model; returns (model with the best validation-AUC weights, history)."""
    torch = require_torch()
    torch.set_num_threads(max(1, int(config.threads)))
    torch.manual_seed(config.seed)
    gen = torch.Generator().manual_seed(config.seed)
    y = np.asarray(y, dtype=int)
    if len(set(y[train_idx].tolist())) < 2 or len(set(y[val_idx].tolist())) < 2:
        raise InputError("training and validation sets both need cases of each class")
    dev = device()
    model = build_model(config, images.shape[1]).to(dev)
    counts = np.bincount(y[train_idx], minlength=2).astype(float)
    weights = torch.tensor(len(train_idx) / (2.0 * counts), dtype=torch.float32, device=dev)
    loss_fn = torch.nn.CrossEntropyLoss(weight=weights)
    opt = torch.optim.Adam(
        model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
    )
    x_all = torch.from_numpy(np.array(images, np.float32))
    y_all = torch.from_numpy(np.array(y, dtype=np.int64))
    history: list[dict] = []
    best_auc, best_state, best_epoch, stale = -1.0, None, 0, 0
    t0 = time.perf_counter()
    for epoch in range(1, config.epochs + 1):
        model.train()
        order = torch.as_tensor(train_idx)[torch.randperm(len(train_idx), generator=gen)]
        total = 0.0
        for start in range(0, len(order), config.batch_size):
            batch = order[start : start + config.batch_size]
            if len(batch) < 2:
                continue  # batch norm needs two samples
            xb = x_all[batch]
            if config.augment:
                xb = _augment(torch, xb, windows, gen)
            opt.zero_grad()
            loss = loss_fn(model(xb.to(dev)), y_all[batch].to(dev))
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(batch)
        val_prob = predict(model, images[val_idx])
        val_auc = auc_delong(y[val_idx], val_prob)["auc"]
        history.append(
            {
                "epoch": epoch,
                "train_loss": total / len(train_idx),
                "val_auc": val_auc,
                "elapsed_s": time.perf_counter() - t0,
            }
        )
        logger.info(
            "epoch %d: loss %.4f, validation AUC %.3f", epoch, history[-1]["train_loss"], val_auc
        )
        report(progress, epoch / config.epochs, f"epoch {epoch}: validation AUC {val_auc:.3f}")
        if val_auc > best_auc + 1e-6:
            best_auc, best_epoch, stale = val_auc, epoch, 0
            best_state = copy.deepcopy(model.state_dict())
        else:
            stale += 1
            if stale >= config.patience and epoch >= config.min_epochs:
                break
    model.load_state_dict(best_state)
    model.eval()
    return model, {
        "epochs": history,
        "best_epoch": best_epoch,
        "best_val_auc": best_auc,
        "train_seconds": time.perf_counter() - t0,
    }


def save_model(out_dir, model, config: ModelConfig, prep: PrepParams, info: dict) -> Path:
    """``model.pt`` (state dict), ``model.json`` (config, preparation, training record) and a
    model card ``MODEL_CARD.md`` (and ``model_card.json``), each written atomically."""
    torch = require_torch()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with atomic_path(out / MODEL_FILE) as tmp:
        torch.save(model.state_dict(), tmp)
    meta = {"config": config.to_dict(), "prep": prep.to_dict(), **info}
    write_json(out / CONFIG_FILE, meta)
    card = model_card(meta)
    write_json(out / "model_card.json", card)
    write_text(out / CARD_FILE, card_markdown(card))
    return out


def read_model_info(model_dir) -> dict:
    """What a saved model says about itself, read without torch (``model.json``): its level
    (preparation parameters), architecture and operating point — the recorded
    ``cutoff.probability`` (Youden's J on the validation cases, written by ``osteo screen
    train``) or else 0.5, the two-class softmax's decision."""
    folder = Path(model_dir)
    path = folder / CONFIG_FILE
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
        prep = PrepParams.from_dict(meta["prep"])
        architecture = str(meta["config"]["architecture"])
    except FileNotFoundError as exc:
        raise InputError(f"no {CONFIG_FILE} in the model folder", folder) from exc
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError(f"not a saved screening model ({exc})", path) from exc
    recorded = meta.get("cutoff")
    if isinstance(recorded, dict) and isinstance(recorded.get("probability"), int | float):
        cutoff = float(recorded["probability"])
        source = str(recorded.get("method") or "recorded with the model")
    else:
        cutoff, source = 0.5, "the model records no cut-off"
    return {
        "level": prep.level,
        "architecture": architecture,
        "cutoff": cutoff,
        "cutoff_source": source,
        "meta": meta,
    }


def load_model(model_dir):
    """(model in eval mode, ModelConfig, PrepParams, metadata) from a saved model folder."""
    torch = require_torch()
    folder = Path(model_dir)
    try:
        meta = json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8"))
        config = ModelConfig.from_dict(meta["config"])
        prep = PrepParams.from_dict(meta["prep"])
    except (OSError, ValueError, KeyError) as exc:
        raise InputError(f"not a saved screening model ({exc})", folder) from exc
    torch.set_num_threads(max(1, int(config.threads)))
    model = build_model(config, prep.channels)
    try:
        state = torch.load(folder / MODEL_FILE, map_location="cpu", weights_only=True)
        model.load_state_dict(state)
    except (OSError, RuntimeError) as exc:
        raise InputError(f"model weights do not load ({exc})", folder / MODEL_FILE) from exc
    model.to(device()).eval()
    return model, config, prep, meta


def model_card(meta: dict) -> dict:
    """The model card's fields (Mitchell M et al., Model Cards for Model Reporting, FAT* 2019)."""
    from osteoimaging._version import __version__

    data = meta.get("data", {})
    return {
        "model": f"MONAI {meta['config']['architecture']} (2D, 2 classes), random init",
        "software": f"osteoimaging {__version__}",
        "intended_use": "research on opportunistic osteoporosis screening from unenhanced "
        "chest CT at one vertebral level; not a medical device; no clinical decision",
        "training_data": data.get("description", ""),
        "cases": data.get("counts", {}),
        "outcome": data.get("outcome", ""),
        "input": meta["prep"],
        "training": {
            k: meta["config"][k]
            for k in ("epochs", "batch_size", "learning_rate", "patience", "augment", "seed")
        },
        "best_epoch": meta.get("training", {}).get("best_epoch"),
        "validation_auc": meta.get("training", {}).get("best_val_auc"),
        "test_metrics": meta.get("test", {}),
        "limitations": data.get(
            "limitations",
            "Trained on the data above only; external "
            "validation on the target population is required.",
        ),
    }


def card_markdown(card: dict) -> str:
    lines = ["# Model card: OsteoImaging opportunistic-screening CNN", ""]
    for key, value in card.items():
        title = key.replace("_", " ").capitalize()
        if isinstance(value, dict):
            lines.append(f"## {title}")
            lines += [f"- {k}: {v}" for k, v in value.items()] or ["- (none)"]
        else:
            lines += [f"## {title}", str(value)]
        lines.append("")
    return "\n".join(lines)
