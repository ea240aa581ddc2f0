"""``hub.add`` refuses bad input with a ModelMissing naming the model and what to do, and leaves nothing behind.

Every failure below must leave the hub folder (``<models>/hub`` by default) without a model folder, a staging
folder or a download: a failed add is as if it never ran. A model whose files change after the add is refused
when loaded.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
import tiny

from sensorium.errors import ModelMissing
from sensorium.models import hub


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("built")


@pytest.fixture(scope="module")
def openclip_dir(built: Path) -> Path:
    return tiny.save_openclip_dir(built / "openclip")


@pytest.fixture(scope="module")
def hf_clip_dir(built: Path) -> Path:
    return tiny.save_hf_clip_dir(built / "hf-clip")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """The hub folder models are added to."""
    return tmp_path / "models" / "hub"


def left_behind(root: Path) -> list[str]:
    """Everything in the hub folder (hidden staging folders included)."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*")) if root.exists() else []


def refused(model_id: str, root: Path, *, source: Path | None = None, says: tuple[str, ...] = ()) -> str:
    """Add must fail with a one-line ModelMissing naming the model and saying ``says``; nothing is left."""
    with pytest.raises(ModelMissing) as caught:
        hub.add(model_id, root, source=source)
    message = str(caught.value)
    assert model_id.strip() in message, message
    assert "\n" not in message
    for words in says:
        assert words in message, message
    assert left_behind(root) == []
    assert hub.installed(root) == []
    return message


def copy_of(folder: Path, dest: Path) -> Path:
    shutil.copytree(folder, dest)
    return dest


# Ids.


@pytest.mark.parametrize("model_id", ["foo:bar", "openclip:", "openclip:  ", "ViT-B-32", "", ":x", "clip"])
def test_unknown_ids(model_id: str, root: Path) -> None:
    message = refused(model_id, root, says=("not a hub model id", "backend:identifier", "openclip"))
    assert "whisper" in message  # the backends are listed


def test_ids_parse() -> None:
    spec = hub.HubSpec.parse("openclip:ViT-B-32/laion2b_s34b_b79k")
    assert (spec.backend, spec.arch, spec.tag, spec.repo) == ("openclip", "ViT-B-32", "laion2b_s34b_b79k", "")
    assert spec.name == "openclip-vit-b-32-laion2b_s34b_b79k"
    spec = hub.HubSpec.parse("openclip:timm/ViT-B-16-SigLIP")  # not a built-in architecture: a hub repository
    assert (spec.arch, spec.repo) == ("", "timm/ViT-B-16-SigLIP")
    spec = hub.HubSpec.parse(" CLAP:laion/clap-htsat-unfused ")
    assert (spec.backend, spec.repo, spec.name) == ("clap", "laion/clap-htsat-unfused", "clap-laion-clap-htsat-unfused")


# Sources.


def test_source_that_does_not_exist(root: Path, tmp_path: Path) -> None:
    refused("openclip:ViT-B-32", root, source=tmp_path / "nowhere.bin", says=("does not exist", "nowhere.bin"))


def test_a_file_for_a_folder_backend(root: Path, openclip_dir: Path) -> None:
    refused(
        "clip:org/model",
        root,
        source=openclip_dir / "open_clip_model.safetensors",
        says=("is a file", "save_pretrained"),
    )


def test_truncated_checkpoint(root: Path, openclip_dir: Path, tmp_path: Path) -> None:
    folder = copy_of(openclip_dir, tmp_path / "truncated")
    weights = folder / "open_clip_model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    refused("openclip:org/truncated", root, source=folder, says=("do not load", "truncated"))


def test_checkpoint_of_other_widths(root: Path, openclip_dir: Path, tmp_path: Path) -> None:
    """The tiny weights with a config of wider towers: open_clip's strict load refuses them."""
    folder = copy_of(openclip_dir, tmp_path / "wider")
    config = json.loads((folder / "open_clip_config.json").read_text(encoding="utf-8"))
    config["model_cfg"]["vision_cfg"]["width"] = 96
    config["model_cfg"]["embed_dim"] = 48
    (folder / "open_clip_config.json").write_text(json.dumps(config), encoding="utf-8")
    refused("openclip:org/wider", root, source=folder, says=("do not load", "another architecture"))


def test_checkpoint_of_another_builtin_architecture(root: Path, openclip_dir: Path, tmp_path: Path) -> None:
    """``openclip:ViT-B-16 --from`` a state dict of another shape (the tiny ViT's, as a plain .bin)."""
    import torch
    from safetensors.torch import load_file

    state = load_file(openclip_dir / "open_clip_model.safetensors")
    torch.save(state, tmp_path / "not-b16.bin")
    refused("openclip:ViT-B-16", root, source=tmp_path / "not-b16.bin", says=("do not load", "architecture"))


def test_config_without_weights(root: Path, openclip_dir: Path, tmp_path: Path) -> None:
    """A folder with open_clip_config.json but no checkpoint must not install a randomly initialised model."""
    folder = tmp_path / "config-only"
    folder.mkdir()
    shutil.copy2(openclip_dir / "open_clip_config.json", folder)
    refused("openclip:org/config-only", root, source=folder)


def test_clap_id_given_a_clip_folder(root: Path, hf_clip_dir: Path) -> None:
    refused("clap:org/not-clap", root, source=hf_clip_dir, says=("not CLAP", "clip:"))


def test_clip_id_given_an_open_clip_folder(root: Path, openclip_dir: Path) -> None:
    refused("clip:org/open-clip-folder", root, source=openclip_dir, says=("do not load",))


def test_whisper_folder_without_model_bin(root: Path, hf_clip_dir: Path) -> None:
    refused("whisper:small", root, source=hf_clip_dir, says=("model.bin", "CTranslate2"))


@pytest.mark.parametrize(
    "model_id", ["clip:openai/clip-vit-base-patch32", "openclip:ViT-B-32/laion2b_s34b_b79k", "whisper:small"]
)
def test_hub_that_cannot_be_reached(model_id: str, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    refused(model_id, root, says=("HF_HUB_OFFLINE", f"sensorium models add {model_id} --from PATH"))


# What an add records, and what loading checks.


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_installed_lists_what_was_added(root: Path, openclip_dir: Path, hf_clip_dir: Path) -> None:
    a = hub.add("openclip:org/tiny", root, source=openclip_dir)
    b = hub.add("clip:org/tiny", root, source=hf_clip_dir, space="my-space")
    listed = {m.id: m for m in hub.installed(root)}
    assert set(listed) == {"openclip:org/tiny", "clip:org/tiny"}
    assert {p.name for p in root.iterdir()} == {a.name, b.name}  # no staging folder left

    for record, source in ((listed["openclip:org/tiny"], openclip_dir), (listed["clip:org/tiny"], hf_clip_dir)):
        assert record.dim == 32
        assert record.modalities == ["image"]
        sources = sorted(p for p in source.rglob("*") if p.is_file())
        assert record.files == {str(p.relative_to(source)): sha256(p) for p in sources}
        assert record.size == sum(p.stat().st_size for p in sources)
        assert Path(record.source) == source.resolve()
        for rel, digest in record.files.items():
            assert sha256(Path(record.folder) / rel) == digest
    assert listed["openclip:org/tiny"].space == "clip"
    assert listed["clip:org/tiny"].space == "my-space"
    assert listed["openclip:org/tiny"].backend == "openclip" and listed["clip:org/tiny"].backend == "clip"

    assert hub.find_installed(root, "clip").id == "openclip:org/tiny"  # the only model writing space "clip"
    assert hub.find_installed(root, a.name).id == a.id
    with pytest.raises(ModelMissing, match="not installed"):
        hub.find_installed(root, "clap:org/none")
    assert hub.remove(root, "clip:org/tiny").id == "clip:org/tiny"
    assert [m.id for m in hub.installed(root)] == ["openclip:org/tiny"]


def test_clap_is_recorded_in_the_clap_space(root: Path, tmp_path: Path) -> None:
    record = hub.add("clap:org/tiny", root, source=tiny.save_hf_clap_dir(tmp_path / "clap"))
    (listed,) = hub.installed(root)
    assert (listed.space, listed.dim, listed.modalities) == ("clap", 32, ["audio"])
    assert listed.files == record.files and "model.safetensors" in listed.files


def test_adding_again_replaces(root: Path, openclip_dir: Path, tmp_path: Path) -> None:
    first = hub.add("openclip:org/tiny", root, source=openclip_dir)
    other = tiny.save_openclip_dir(tmp_path / "other", model_cfg={**tiny.OPENCLIP_CFG, "embed_dim": 16})
    second = hub.add("openclip:org/tiny", root, source=other)
    assert second.dim == 16 and second.files != first.files
    assert [m.dim for m in hub.installed(root)] == [16]
    assert [p.name for p in root.iterdir()] == [second.name]


def test_a_failed_add_keeps_the_model_already_installed(root: Path, openclip_dir: Path, tmp_path: Path) -> None:
    good = hub.add("openclip:org/tiny", root, source=openclip_dir)
    folder = copy_of(openclip_dir, tmp_path / "truncated")
    weights = folder / "open_clip_model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    with pytest.raises(ModelMissing, match="openclip:org/tiny"):
        hub.add("openclip:org/tiny", root, source=folder)
    assert [m.files for m in hub.installed(root)] == [good.files]
    assert [p.name for p in root.iterdir()] == [good.name]
    hub.load(good)


def test_a_file_changed_after_add_is_refused(root: Path, openclip_dir: Path) -> None:
    record = hub.add("openclip:org/tiny", root, source=openclip_dir)
    hub.load(record)
    weights = Path(record.folder) / "open_clip_model.safetensors"
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0x01
    weights.write_bytes(bytes(data))
    with pytest.raises(ModelMissing) as caught:
        hub.load(record)
    message = str(caught.value)
    assert "openclip:org/tiny" in message and "changed" in message and "sensorium models add" in message
    (reloaded,) = hub.installed(root)  # the record read back from disk is refused too
    with pytest.raises(ModelMissing, match="changed"):
        hub.load(reloaded)


def test_unchanged_files_are_not_hashed_again(root: Path, openclip_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Loading trusts a file whose size and modification time are those recorded when it was hashed;
    touching it is enough to have it hashed again (and a file of the same bytes passes)."""
    import os

    record = hub.add("openclip:org/tiny", root, source=openclip_dir)
    (reloaded,) = hub.installed(root)
    assert set(reloaded.stats) == set(reloaded.files)
    hashed: list[str] = []
    real = hub.sha256_of
    monkeypatch.setattr(hub, "sha256_of", lambda p: hashed.append(Path(p).name) or real(p))
    hub.verify(reloaded)
    assert hashed == []
    weights = Path(record.folder) / "open_clip_model.safetensors"
    st = weights.stat()
    os.utime(weights, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    hub.verify(reloaded)
    assert hashed == ["open_clip_model.safetensors"]


def test_a_file_removed_after_add_is_refused(root: Path, hf_clip_dir: Path) -> None:
    record = hub.add("clip:org/tiny", root, source=hf_clip_dir)
    (Path(record.folder) / "tokenizer.json").unlink()
    with pytest.raises(ModelMissing, match=r"clip:org/tiny: .*tokenizer\.json is missing"):
        hub.load(record)


def test_whisper_named_by_its_id_is_checked_like_the_others(root: Path, tmp_path: Path) -> None:
    """``whisper_model = "whisper:..."`` finds the installed folder, and refuses it once a file changed."""
    from sensorium.config import Settings, load_settings
    from sensorium.models.whisper import WhisperTranscriber, locate_model

    bundled, _, _ = locate_model(load_settings())
    record = hub.add("whisper:tiny-copy", root, source=shutil.copytree(bundled, tmp_path / "tiny-copy"))
    settings = Settings(whisper_model="whisper:tiny-copy", hub_models=root, threads=1)
    folder, _, _ = locate_model(settings)
    assert folder == Path(record.folder)

    config = folder / "config.json"  # a change that still loads: only the checksums can tell
    config.write_text(config.read_text(encoding="utf-8") + " ", encoding="utf-8")
    with pytest.raises(ModelMissing, match="changed"):
        hub.verify(record)
    with pytest.raises(ModelMissing, match="changed"):
        WhisperTranscriber(settings)
