"""The time left in an index run: files weighed by kind and size, each kind's rate as measured."""

from __future__ import annotations

from pathlib import Path

import pytest

from sensorium.eta import Eta, prior_cost


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def files(folder: Path, names_sizes: list[tuple[str, int]]) -> list[Path]:
    out = []
    for name, size in names_sizes:
        p = folder / name
        with p.open("wb") as f:
            f.truncate(size)  # sparse: only the size matters
        out.append(p)
    return out


def test_a_film_weighs_more_than_a_photo_and_an_hour_of_sound_more_than_a_minute() -> None:
    photo = prior_cost("a.jpg", 3_000_000)[1]
    film = prior_cost("b.mp4", 300_000_000)[1]  # ten minutes at 4 Mb/s
    minute, hour = prior_cost("c.mp3", 1_200_000)[1], prior_cost("d.mp3", 72_000_000)[1]
    assert film > 1000 * photo and 50 * minute < hour
    assert prior_cost("e.heic", 3_000_000)[1] > 10 * photo  # HEVC has no reduced-size decoding
    assert prior_cost("notes.md", 2000)[0] == "text" and prior_cost("x.bin", 10**9)[1] < photo


def test_photos_then_a_film_promise_the_films_time_not_a_photos(tmp_path: Path) -> None:
    """Counting files, the last one of 21 looks like a twentieth of the run; here it is most of it."""
    paths = files(tmp_path, [(f"p{i:02}.jpg", 2_000_000) for i in range(20)] + [("film.mp4", 100_000_000)])
    clock = Clock()
    eta = Eta(paths, clock=clock)
    for i in range(20):  # photos at 0.1 s each, 6x their prior
        clock.now += 0.1
        est = eta.advance(i + 1)
    assert est.share < 0.1  # 20 of 21 files, a small share of the work
    by_count = 2.0 / 20 * 1  # what a files-per-second estimate says is left: one more file
    assert est.seconds_left is not None and est.seconds_left > 50 * by_count
    # the film then reads at a steady 40 s for the whole of it: the estimate comes to its own rate
    for k in range(1, 40):
        clock.now += 1.0
        est = eta.advance(20 + k / 40)
    assert est.seconds_left == pytest.approx(1.0, rel=0.25)
    clock.now += 1.0
    est = eta.advance(21)
    assert est.share == pytest.approx(1.0) and est.seconds_left == pytest.approx(0.0)


def test_a_slow_first_file_loading_the_models_is_soon_forgotten(tmp_path: Path) -> None:
    paths = files(tmp_path, [(f"p{i:04}.jpg", 1_000_000) for i in range(5000)])
    clock = Clock()
    eta = Eta(paths, clock=clock)
    clock.now += 10.0  # the encoders load while the first photo waits
    eta.advance(1)
    for i in range(2, 3001):  # then 50 photos a second
        clock.now += 0.02
        est = eta.advance(i)
    assert est.seconds_left == pytest.approx(2000 * 0.02, rel=0.1)


def test_unchanged_files_cost_almost_nothing_and_nothing_is_promised_before_a_second(tmp_path: Path) -> None:
    paths = files(tmp_path, [(f"old{i}.mp4", 50_000_000) for i in range(10)] + [("new.mp4", 50_000_000)])
    clock = Clock()
    eta = Eta(paths, unchanged=lambda path, size, mtime: "old" in Path(path).name, clock=clock)
    assert eta.kinds.count("unchanged") == 10 and eta.kinds[-1] == "video"
    clock.now += 0.05
    est = eta.advance(10)  # ten unchanged films skipped in a blink
    assert est.seconds_left is None and est.share < 0.01
    for k in range(1, 20):
        clock.now += 0.5
        est = eta.advance(10 + k / 20)
    assert est.seconds_left == pytest.approx(0.5, rel=0.25)


def test_a_file_gone_before_it_is_weighed_counts_for_little(tmp_path: Path) -> None:
    eta = Eta([tmp_path / "missing.mp4", *files(tmp_path, [("a.jpg", 1000)])])
    assert eta.kinds == ["other", "photo"] and eta.priors[0] < eta.priors[1]
