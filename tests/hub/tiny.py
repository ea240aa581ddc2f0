"""Tiny, randomly initialised models of the hub tier's real architectures, saved in their real on-disk formats.

Each ``save_*`` function builds a seeded model small enough to make in about a second, and writes it as the
library that owns it writes (or reads) a model from the hub:

- :func:`save_openclip_dir`: an open_clip ``CLIP`` written as ``open_clip_config.json`` +
  ``open_clip_model.safetensors`` (what ``local-dir:`` and ``hf-hub:`` read); its tokenizer is open_clip's
  own SimpleTokenizer (the bundled BPE).
- :func:`save_openclip_checkpoint`: a full-size built-in architecture (``ViT-B-32``) as a plain state-dict file.
- :func:`save_hf_clip_dir`: transformers ``CLIPModel`` via ``save_pretrained``, with the real CLIP tokenizer
  (its vocabulary rebuilt from the BPE merges that OpenAI's CLIP and open_clip ship) and a ``CLIPImageProcessor``.
- :func:`save_hf_siglip_dir`: transformers ``SiglipModel``, a ``SiglipTokenizer`` over a SentencePiece model
  trained here on a small corpus, and a ``SiglipImageProcessor``.
- :func:`save_hf_clap_dir`: transformers ``ClapModel`` (RoBERTa text tower, HTSAT audio tower), a RoBERTa
  byte-level BPE tokenizer trained here, and a ``ClapFeatureExtractor`` (48 kHz, LAION's settings).

Nothing is downloaded. The weights are random, so the embeddings mean nothing; what they are for is checking
that a model loaded through Sensorium computes exactly what the library's own forward pass computes.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path

SEED = 0

# open_clip: a ViT-B-32 shrunk (the same class and code paths, fewer and narrower layers, 32-pixel pictures).
OPENCLIP_CFG = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "layers": 2, "width": 64, "head_width": 32, "patch_size": 8},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 2},
}
# The size of every tiny transformers tower (CLIP and SigLIP text and vision, CLAP text).
HF_TINY_LAYERS = {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 2}
# Not open_clip's defaults (OpenAI's mean/std, bicubic), so a loader that ignored the file's settings would differ.
OPENCLIP_PREPROCESS = {
    "mean": [0.5, 0.5, 0.5],
    "std": [0.5, 0.5, 0.5],
    "interpolation": "bilinear",
    "resize_mode": "shortest",
}


def _seed() -> None:
    import numpy as np
    import torch

    torch.manual_seed(SEED)
    np.random.seed(SEED)


def save_openclip_dir(dest: Path, *, model_cfg: dict | None = None) -> Path:
    """A tiny open_clip CLIP in the hub layout: ``open_clip_config.json`` + ``open_clip_model.safetensors``."""
    import open_clip
    from safetensors.torch import save_file

    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    cfg = json.loads(json.dumps(model_cfg or OPENCLIP_CFG))
    _seed()
    model = open_clip.CLIP(**json.loads(json.dumps(cfg))).eval()
    _perturb(model)
    config = {"model_cfg": cfg, "preprocess_cfg": OPENCLIP_PREPROCESS}
    (dest / "open_clip_config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(dest / "open_clip_model.safetensors"))
    return dest


def save_openclip_checkpoint(dest: Path, arch: str = "ViT-B-32") -> Path:
    """A randomly initialised built-in open_clip architecture as a plain state-dict file (``torch.save``).

    ``dest`` is the file to write (``.bin``), or a folder to write ``<arch>.bin`` into. Full size: ViT-B-32
    is about 600 MB of float32.
    """
    import open_clip
    import torch

    dest = Path(dest)
    if dest.suffix not in (".bin", ".pt", ".pth"):
        dest.mkdir(parents=True, exist_ok=True)
        dest = dest / f"{arch}.bin"
    _seed()
    model = open_clip.create_model(arch, pretrained=None)
    torch.save(model.state_dict(), dest)
    return dest


def _perturb(model) -> None:
    """Random layer-norm and bias values: freshly initialised ones are 1 and 0, which hides parameter mix-ups."""
    import torch

    generator = torch.Generator().manual_seed(SEED + 1)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("bias") or "ln" in name or "norm" in name:
                p.add_(0.05 * torch.randn(p.shape, generator=generator))


# CLIP's tokenizer, as OpenAI's CLIP (clip/simple_tokenizer.py) and open_clip build it from the bundled merges.


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible byte -> printable character table (the base of CLIP's vocabulary)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(2**8):
        if b not in bs:
            bs.append(b)
            cs.append(2**8 + n)
            n += 1
    return dict(zip(bs, (chr(c) for c in cs), strict=True))


def clip_vocab_and_merges() -> tuple[dict[str, int], list[tuple[str, str]]]:
    """CLIP's 49408-token vocabulary and its 48894 merges, from open_clip's ``bpe_simple_vocab_16e6.txt.gz``."""
    import open_clip.tokenizer

    bpe = Path(open_clip.tokenizer.default_bpe())
    with gzip.open(bpe) as f:
        lines = f.read().decode("utf-8").split("\n")
    merges = [tuple(line.split()) for line in lines[1 : 49152 - 256 - 2 + 1]]
    vocab = list(bytes_to_unicode().values())
    vocab = vocab + [v + "</w>" for v in vocab]
    vocab.extend("".join(m) for m in merges)
    vocab.extend(["<|startoftext|>", "<|endoftext|>"])
    assert len(vocab) == 49408, len(vocab)
    return {tok: i for i, tok in enumerate(vocab)}, merges  # type: ignore[return-value]


def save_clip_tokenizer(dest: Path) -> None:
    """The real CLIP tokenizer (what ``openai/clip-vit-base-patch32`` ships): vocab.json, merges.txt, tokenizer.json."""
    from transformers import CLIPTokenizer

    vocab, merges = clip_vocab_and_merges()
    (dest / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    (dest / "merges.txt").write_text(
        "#version: 0.2\n" + "\n".join(" ".join(m) for m in merges) + "\n", encoding="utf-8"
    )
    tokenizer = CLIPTokenizer(vocab=vocab, merges=merges, model_max_length=77)
    tokenizer.save_pretrained(dest)


def save_hf_clip_dir(dest: Path) -> Path:
    """A tiny transformers CLIPModel with the real CLIP tokenizer and a CLIPImageProcessor (32-pixel crops)."""
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel

    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    config = CLIPConfig(
        text_config=dict(HF_TINY_LAYERS, vocab_size=49408, max_position_embeddings=77),
        vision_config=dict(HF_TINY_LAYERS, image_size=32, patch_size=8),
        projection_dim=32,
    )
    _seed()
    model = CLIPModel(config).eval()
    _perturb(model)
    model.save_pretrained(dest)
    save_clip_tokenizer(dest)
    CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}).save_pretrained(dest)
    return dest


# A small English corpus for training tokenizers: ImageNet's class names in CLIP's prompt templates, and sounds.

SOUNDS = (
    "a dog barking",
    "a cat meowing",
    "rain on a window",
    "a car door slamming",
    "an explosion",
    "people talking in a meeting",
    "house music with a steady beat",
    "a punch",
    "wind whooshing",
    "birds singing in the morning",
    "a rooster crowing",
    "a cow mooing on a farm",
    "footsteps on gravel",
    "a telephone ringing",
    "applause from a crowd",
    "the sound of a piano",
)


def corpus() -> Iterator[str]:
    """Some thousands of short English sentences."""
    from open_clip.zero_shot_metadata import IMAGENET_CLASSNAMES, OPENAI_IMAGENET_TEMPLATES

    for i, name in enumerate(IMAGENET_CLASSNAMES):
        for template in OPENAI_IMAGENET_TEMPLATES[i % 7 :: 7]:
            yield template(name)
    for sound in SOUNDS:
        yield f"the sound of {sound}."
        yield f"This is a recording of {sound}!"


def save_siglip_tokenizer(dest: Path, *, vocab_size: int = 1000) -> None:
    """A SiglipTokenizer over a SentencePiece unigram model trained on :func:`corpus` (SigLIP's special ids)."""
    import io

    import sentencepiece as spm
    from transformers import SiglipTokenizer

    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(list(corpus())),
        model_writer=model,
        vocab_size=vocab_size,
        model_type="unigram",
        pad_id=0,
        eos_id=1,
        unk_id=2,
        bos_id=-1,
        pad_piece="<pad>",
        eos_piece="</s>",
        unk_piece="<unk>",
        num_threads=1,
        minloglevel=2,
    )
    path = dest / "spiece.model"
    path.write_bytes(model.getvalue())
    SiglipTokenizer(vocab_file=str(path), model_max_length=16).save_pretrained(dest)


def save_hf_siglip_dir(dest: Path) -> Path:
    """A tiny transformers SiglipModel with a trained SentencePiece SiglipTokenizer and a SiglipImageProcessor."""
    from transformers import SiglipConfig, SiglipImageProcessor, SiglipModel

    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    save_siglip_tokenizer(dest)
    config = SiglipConfig(
        text_config={
            **HF_TINY_LAYERS,
            "vocab_size": 1000,
            "max_position_embeddings": 16,
            "pad_token_id": 0,
            "bos_token_id": None,
            "eos_token_id": 1,
        },
        vision_config=dict(HF_TINY_LAYERS, image_size=32, patch_size=8),
    )
    _seed()
    model = SiglipModel(config).eval()
    _perturb(model)
    model.save_pretrained(dest)
    SiglipImageProcessor(size={"height": 32, "width": 32}).save_pretrained(dest)
    return dest


def save_roberta_tokenizer(dest: Path, *, vocab_size: int = 2000) -> None:
    """A RoBERTa tokenizer (byte-level BPE, RoBERTa's special tokens and ids) trained on :func:`corpus`."""
    from tokenizers import ByteLevelBPETokenizer
    from transformers import RobertaTokenizer

    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(
        list(corpus()),
        vocab_size=vocab_size,
        min_frequency=2,
        special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"],
        show_progress=False,
    )
    vocab = bpe.get_vocab()
    assert [vocab[t] for t in ("<s>", "<pad>", "</s>", "<unk>", "<mask>")] == [0, 1, 2, 3, 4]
    bpe.save_model(str(dest))  # vocab.json + merges.txt, as RoBERTa ships them
    merges = [
        tuple(line.split(" "))
        for line in (dest / "merges.txt").read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#version")
    ]
    RobertaTokenizer(vocab=vocab, merges=merges, model_max_length=64).save_pretrained(dest)


def save_hf_clap_dir(dest: Path, *, fusion: bool = False) -> Path:
    """A tiny transformers ClapModel (RoBERTa + HTSAT), a trained RoBERTa tokenizer and LAION's feature extractor.

    ``fusion``: the "fused" variant (``laion/clap-htsat-fused``), whose audio tower also reads the long-clip
    fusion of a recording over 10 s.
    """
    from transformers import ClapConfig, ClapFeatureExtractor, ClapModel, ClapProcessor, RobertaTokenizer

    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    save_roberta_tokenizer(dest)
    config = ClapConfig(
        text_config={
            **HF_TINY_LAYERS,
            "vocab_size": 2000,
            "max_position_embeddings": 66,
            "projection_dim": 32,
        },
        audio_config={
            "patch_embeds_hidden_size": 16,
            "hidden_size": 128,
            "depths": [1, 1, 1, 1],
            "num_attention_heads": [2, 2, 4, 4],
            "projection_dim": 32,
            "enable_fusion": fusion,
            "fusion_type": "aff_2d" if fusion else None,
        },
        projection_dim=32,
    )
    _seed()
    model = ClapModel(config).eval()
    _perturb(model)
    model.save_pretrained(dest)
    # LAION's preprocessor settings: 48 kHz, 10 s clips, 64 mel bands; a clip over 10 s is cut at random
    # ("rand_trunc", unfused models) or read as a whole plus three random 10 s parts ("fusion", fused models).
    extractor = ClapFeatureExtractor(
        feature_size=64,
        sampling_rate=48000,
        hop_length=480,
        max_length_s=10,
        fft_window_size=1024,
        padding="repeatpad",
        truncation="fusion" if fusion else "rand_trunc",
        frequency_min=50,
        frequency_max=14000,
    )
    ClapProcessor(feature_extractor=extractor, tokenizer=RobertaTokenizer.from_pretrained(dest)).save_pretrained(dest)
    return dest


# open_clip's SigLIP and MobileCLIP configurations (CustomTextCLIP: timm image tower, open_clip text tower), shrunk.

# ViT-B-16-SigLIP.json / ViT-B-16-SigLIP2.json with their keys kept and their sizes cut. The image tower is timm's
# ``test_vit3``, the smallest ViT timm registers with SigLIP's head: no class token, attention-pool ("map") head,
# used as the embedding itself (``timm_proj: none``, so ``embed_dim`` is the tower's width, 96); it adds one
# register token, which SigLIP lacks. A name timm ships, so the folder loads in any process.
OPENCLIP_SIGLIP_CFG = {
    "embed_dim": 96,
    "init_logit_bias": -10,
    "custom_text": True,
    "vision_cfg": {
        "image_size": 160,
        "timm_model_name": "test_vit3",
        "timm_model_pretrained": False,
        "timm_pool": "map",
        "timm_proj": "none",
    },
    "text_cfg": {
        "context_length": 16,
        "vocab_size": 1000,
        "hf_tokenizer_name": "timm/ViT-B-16-SigLIP",  # a local-dir: model reads its tokenizer from the folder
        "tokenizer_kwargs": {"clean": "canonicalize"},
        "width": 64,
        "heads": 2,
        "layers": 2,
        "no_causal_mask": True,
        "proj_bias": True,
        "pool_type": "last",
        "norm_kwargs": {"eps": 1e-6},
        "act_kwargs": {"approximate": "tanh"},  # SigLIP2's
    },
}
# open_clip's SigLIP settings (pretrained.py _slpcfg): Inception mean/std, bicubic, squashed (no crop).
OPENCLIP_SIGLIP_PREPROCESS = {
    "mean": [0.5, 0.5, 0.5],
    "std": [0.5, 0.5, 0.5],
    "interpolation": "bicubic",
    "resize_mode": "squash",
}

# MobileCLIP2-S0.json (MobileCLIP-S1.json is the same with fastvit_mci1): timm's FastViT MCi0 image tower at its
# real size (11M parameters; timm's own head is the projection, ``timm_proj: null``), pictures of 128 pixels
# instead of 256 (the tower is convolutional up to global average pooling), and a 2-layer text tower without
# the causal mask.
OPENCLIP_MOBILECLIP_CFG = {
    "embed_dim": 32,
    "vision_cfg": {
        "timm_model_name": "fastvit_mci0",
        "timm_model_pretrained": False,
        "timm_pool": "avg",
        "timm_proj": None,
        "timm_drop": 0.0,
        "timm_drop_path": 0.0,
        "image_size": 128,
    },
    "text_cfg": {
        "context_length": 77,
        "vocab_size": 49408,
        "width": 64,
        "heads": 2,
        "layers": 2,
        "no_causal_mask": True,
    },
    "custom_text": True,
}
# open_clip's MobileCLIP settings (pretrained.py _mccfg): no normalisation at all, bilinear, shortest side.
OPENCLIP_MOBILECLIP_PREPROCESS = {
    "mean": [0.0, 0.0, 0.0],
    "std": [1.0, 1.0, 1.0],
    "interpolation": "bilinear",
    "resize_mode": "shortest",
}


def save_openclip_custom_dir(dest: Path, model_cfg: dict, preprocess_cfg: dict, *, siglip_tokenizer: bool) -> Path:
    """A tiny open_clip model of ``model_cfg`` in the hub layout, as open_clip's ``local-dir:`` reads it.

    ``open_clip_config.json`` (``model_cfg`` + ``preprocess_cfg``) and ``open_clip_model.safetensors``; with
    ``siglip_tokenizer``, a trained SentencePiece SigLIP tokenizer beside them (open_clip reads the tokenizer of a
    ``local-dir:`` model whose text_cfg names ``hf_tokenizer_name`` from the folder itself).
    """
    import open_clip
    from safetensors.torch import save_file

    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    cfg = json.loads(json.dumps(model_cfg))
    kwargs = {k: v for k, v in json.loads(json.dumps(cfg)).items() if k != "custom_text"}
    _seed()
    model = (open_clip.CustomTextCLIP if cfg.get("custom_text") else open_clip.CLIP)(**kwargs).eval()
    _perturb(model)
    _perturb_scales_and_statistics(model, cfg["vision_cfg"]["image_size"])
    if siglip_tokenizer:
        save_siglip_tokenizer(dest, vocab_size=cfg["text_cfg"]["vocab_size"])
    config = {"model_cfg": cfg, "preprocess_cfg": preprocess_cfg}
    (dest / "open_clip_config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(dest / "open_clip_model.safetensors"))
    return dest


def save_openclip_siglip_dir(dest: Path) -> Path:
    """:data:`OPENCLIP_SIGLIP_CFG` with its SentencePiece tokenizer, in the hub layout."""
    return save_openclip_custom_dir(dest, OPENCLIP_SIGLIP_CFG, OPENCLIP_SIGLIP_PREPROCESS, siglip_tokenizer=True)


def save_openclip_mobileclip_dir(dest: Path) -> Path:
    """:data:`OPENCLIP_MOBILECLIP_CFG` (open_clip's own BPE tokenizer), in the hub layout."""
    return save_openclip_custom_dir(
        dest, OPENCLIP_MOBILECLIP_CFG, OPENCLIP_MOBILECLIP_PREPROCESS, siglip_tokenizer=False
    )


def _perturb_scales_and_statistics(model, image_size: int) -> None:
    """Layer scales of a few tenths, and batch-norm statistics measured on pictures of noise.

    timm starts layer scales at 1e-5 (FastViT, ``test_vit3``), which leaves every block's output out of the
    embedding to within the tests' tolerance. Fresh batch-norm statistics (mean 0, variance 1) normalise
    nothing, so the picture's part of the signal fades stage by stage until every picture gets the same
    vector; statistics measured as training measures them keep it, and make an eval-mode batch norm more than
    a plain affine map.
    """
    import torch

    generator = torch.Generator().manual_seed(SEED + 2)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("gamma"):
                p.copy_(0.2 + 0.2 * torch.rand(p.shape, generator=generator))
        norms = [m for m in model.visual.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
        if norms:
            for m in norms:
                m.reset_running_stats()
                m.momentum = None  # a plain average over the batches seen
            model.visual.train()
            pictures = torch.rand((8, 3, image_size, image_size), generator=generator)
            model.visual(pictures)
            for m in norms:
                m.momentum = 0.1
    model.eval()
