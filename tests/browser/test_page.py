"""The web page end to end: search by words and by example, play a moment, classify, index, keyboard, token."""

from __future__ import annotations

import base64
import re
import shutil
import urllib.error
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

SPAN = re.compile(r"^\d+:\d\d\.\d\u2013\d+:\d\d\.\d$")  # e.g. 0:23.0–0:31.0


def names(page) -> list[str]:
    paths = page.locator("#results > li.card").evaluate_all("els => els.map(e => e.dataset.path)")
    return [Path(p).name for p in paths]


def run_search(page, text: str) -> None:
    page.fill("#q", text)
    page.press("#q", "Enter")
    wait_results(page)


def wait_results(page) -> None:
    page.wait_for_function(
        "() => !document.querySelector('#results').hasAttribute('aria-busy')"
        " && (/result/.test(document.querySelector('#search-status').textContent)"
        " || document.querySelector('#search-status.error') !== null)"
    )
    assert page.locator("#search-status.error").count() == 0, page.text_content("#search-status")


def test_token_moves_from_the_address_bar_to_session_storage(page, served) -> None:
    assert "token" not in page.url
    assert page.evaluate("sessionStorage.getItem('sensorium-token')") == served.token
    page.reload()  # the token survives a reload of the tab
    page.wait_for_selector("#main:not([hidden])")
    assert page.locator("#token-needed").is_hidden()


def test_words_find_the_cat_photo(page) -> None:
    run_search(page, "a cat")
    first = page.locator("#results > li.card").first
    assert Path(first.get_attribute("data-path")).name == "cat-chelsea.png", names(page)
    assert "cat-chelsea.png" in first.locator(".name").inner_text()
    thumb = first.locator("img.thumb")
    thumb.wait_for()
    assert "token=" in thumb.get_attribute("src")
    assert thumb.get_attribute("alt") == "A picture of an Egyptian cat (a cat)."  # what a screen reader says
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=thumb.element_handle())
    assert first.locator(".score").inner_text().startswith("score ")
    assert first.locator(".why").inner_text().strip() != ""


def test_space_choice_is_offered_only_where_a_library_has_hub_spaces(page, browser, served_spaces) -> None:
    assert page.locator("#space-row").is_hidden()  # the sample library has only its own space
    context = browser.new_context()
    context.set_default_timeout(30_000)
    try:
        pg = context.new_page()
        pg.goto(f"{served_spaces.url}/#token={served_spaces.token}")
        pg.wait_for_selector("#space-row:not([hidden])")
        options = pg.locator("#space option").evaluate_all("els => els.map(e => [e.value, e.textContent])")
        assert options == [["", "default"], ["clip", "clip (openclip:tiny-a)"]]
        pg.select_option("#space", "clip")
        pg.fill("#min-score", "0")  # a tiny random model's scores say nothing; every photo is listed
        run_search(pg, "a photo")
        spaces = pg.locator("#results > li.card .space").all_inner_texts()
        assert len(spaces) == 3 and set(spaces) == {"space clip"}
        pg.select_option("#space", "")
        run_search(pg, "a photo")
        assert "space clip" not in pg.locator("#results > li.card .space").all_inner_texts()
    finally:
        context.close()


def test_taken_keeps_to_the_days_a_file_says_it_was_made(page) -> None:
    """Of the sample photos two say when: the cat's XMP (its camera's, 2009-02-09) and the Hubble JPEG's (2012)."""
    page.fill("#min-score", "0")
    page.fill("#taken", "2009")
    run_search(page, "a photo")
    assert names(page) == ["cat-chelsea.png"]
    when = page.locator("#results > li.card").first.locator("time.taken")
    assert when.get_attribute("datetime").startswith("2009-02-09T") and when.inner_text().startswith("2009-02-09 ")
    page.fill("#taken", "2010..")  # since then: the Hubble Deep Field's JPEG, its file made in 2012
    run_search(page, "a photo")
    assert names(page) == ["hubble-deep-field.jpg"]
    page.fill("#q", "")  # days alone: the files made then, in the order they were
    page.fill("#taken", "2009..2012")
    page.press("#q", "Enter")
    wait_results(page)
    assert names(page) == ["cat-chelsea.png", "hubble-deep-field.jpg"]
    page.fill("#taken", "someday")  # not a span: the reason is said, not an empty list
    page.press("#q", "Enter")
    page.wait_for_selector("#search-status.error")
    assert "taken" in page.text_content("#search-status").lower()


def test_days_said_in_the_words_are_read_and_said(page) -> None:
    page.fill("#min-score", "0")
    page.fill("#taken", "")
    run_search(page, "a photo from 2009")
    assert names(page) == ["cat-chelsea.png"]
    assert "\u201cfrom 2009\u201d read as Taken 2009" in page.text_content("#search-status")


def test_audio_hit_plays_from_its_moment(page, served) -> None:
    page.fill("#q", "a dog barking")
    page.select_option("#modality", "audio")
    page.fill("#path-glob", "*farm-walk.wav")
    page.fill("#min-score", "0")
    page.press("#q", "Enter")
    wait_results(page)
    first = page.locator("#results > li.card").first
    assert Path(first.get_attribute("data-path")).name == "farm-walk.wav", names(page)
    start, end = float(first.get_attribute("data-start")), float(first.get_attribute("data-end"))
    dog = served.places["dog"]
    assert start > 1.0 and abs(start - dog[0]) <= 2.0 and abs(end - dog[1]) <= 2.0, (start, end, dog)
    assert SPAN.match(first.locator(".span").inner_text()), first.locator(".span").inner_text()

    audio = first.locator("audio")
    src = audio.get_attribute("src")
    assert "token=" in src and re.search(r"#t=[\d.]+,[\d.]+$", src), src
    handle = audio.element_handle()
    page.wait_for_function("a => a.readyState >= 1", arg=handle)  # metadata loaded
    at = page.evaluate("a => a.currentTime", handle)
    assert abs(at - start) <= 0.5, (at, start)

    first.locator("button.play-moment").click()
    page.wait_for_function("a => !a.paused || a.ended", arg=handle)
    at = page.evaluate("a => a.currentTime", handle)
    assert start - 0.5 <= at <= end + 0.5, (at, start, end)


def test_video_hit_shows_its_shot_and_plays_the_moment(page) -> None:
    page.select_option("#modality", "video")
    page.fill("#min-score", "0")
    run_search(page, "a bicycle")
    first = page.locator("#results > li.card").first
    assert Path(first.get_attribute("data-path")).name == "street-bikes.mp4", names(page)
    start, end = float(first.get_attribute("data-start")), float(first.get_attribute("data-end"))
    video = first.locator("video")
    poster = video.get_attribute("poster")
    assert "/api/thumbnail" in poster and "token=" in poster, poster
    kind = page.evaluate("url => fetch(url).then(r => r.ok && r.headers.get('content-type'))", poster)
    assert kind == "image/jpeg", kind
    first.locator("button.play-moment").click()
    handle = video.element_handle()
    page.wait_for_function("v => v.readyState >= 2 && (!v.paused || v.ended)", arg=handle)
    at = page.evaluate("v => v.currentTime", handle)
    assert start - 0.5 <= at <= end + 0.5, (at, start, end)
    assert page.evaluate("v => v.videoWidth", handle) > 0  # the browser decodes it
    # describe on the page: the player's captions track (loaded when turned on) and a link to them
    track = video.locator("track")
    assert track.get_attribute("kind") == "captions" and "format=vtt" in track.get_attribute("src")
    page.evaluate("v => { v.textTracks[0].mode = 'showing'; }", handle)
    page.wait_for_function("v => v.textTracks[0].cues && v.textTracks[0].cues.length > 0", arg=handle)
    text = page.evaluate("v => Array.from(v.textTracks[0].cues).map(c => c.text).join('|')", handle)
    assert "(" in text, text  # the shots' descriptions
    link = first.locator("a.captions").get_attribute("href")
    assert page.evaluate("url => fetch(url).then(r => r.text())", link).startswith("WEBVTT")
    # the moment saved as a file of its own: a download named for the times it holds
    with page.expect_download() as info:
        first.locator("a.save-moment").click()
    download = info.value
    name = download.suggested_filename
    assert name.startswith("street-bikes-") and name.endswith(".mp4"), name
    held = [float(x) for x in name.removesuffix(".mp4").split("-")[-2:]]
    assert held[0] <= start + 0.01 and abs(held[1] - end) < 0.1, (held, start, end)
    assert Path(download.path()).stat().st_size > 1000


def test_a_closed_question_about_a_hit(page) -> None:
    run_search(page, "a cat")
    first = page.locator("#results > li.card").first
    assert Path(first.get_attribute("data-path")).name == "cat-chelsea.png", names(page)
    box = first.locator("details.ask")
    box.locator("summary").click()
    box.locator("input[name=q]").fill("Is there a cat?")
    box.locator("button[type=submit]").click()
    answer = box.locator(".answer")
    page.wait_for_function("a => /^(yes|no|not sure)/.test(a.textContent)", arg=answer.element_handle())
    assert answer.text_content().startswith("yes ("), answer.text_content()
    box.locator("input[name=q]").fill("why is it here?")
    box.locator("button[type=submit]").click()
    page.wait_for_function("a => a.classList.contains('error')", arg=answer.element_handle())
    assert "cannot answer that" in answer.text_content()


def test_example_photo_finds_itself(page, served) -> None:
    page.set_input_files("#example-file", str(served.media / "cat-chelsea.png"))
    assert "cat-chelsea.png" in page.text_content("#example-name")
    assert page.locator("#weight-row").is_hidden()  # no words: nothing to weigh
    page.fill("#q", "an animal")
    assert page.locator("#weight-row").is_visible()  # words and an example: the slider shows
    page.fill("#q", "")
    page.click("#search-button")
    wait_results(page)
    assert names(page)[0] == "cat-chelsea.png", names(page)


def test_dropped_example_photo_finds_itself(page, served) -> None:
    data = base64.b64encode((served.media / "rocket-launch.jpg").read_bytes()).decode()
    dropped = page.evaluate_handle(
        """b64 => {
            const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
            const dt = new DataTransfer();
            dt.items.add(new File([bytes], "rocket-launch.jpg", {type: "image/jpeg"}));
            return dt;
        }""",
        data,
    )
    page.dispatch_event("#example-drop", "drop", {"dataTransfer": dropped})
    assert "rocket-launch.jpg" in page.text_content("#example-name")
    page.press("#q", "Enter")
    wait_results(page)
    assert names(page)[0] == "rocket-launch.jpg", names(page)


def test_classify_two_photos(page, served) -> None:
    page.click("#tab-classify")
    photos = [served.media / "cat-chelsea.png", served.media / "rocket-launch.jpg"]
    page.set_input_files("#classify-files", [str(p) for p in photos])
    page.fill("#labels", "a cat, a rocket")
    page.press("#labels", "Enter")  # Enter submits from the labels box too
    page.wait_for_selector(".classification >> nth=1")
    tops = dict(page.locator(".classification").evaluate_all("els => els.map(e => [e.dataset.file, e.dataset.top])"))
    assert tops == {"cat-chelsea.png": "a cat", "rocket-launch.jpg": "a rocket"}, tops
    rows = page.locator(".classification").first.locator(".bar-row")
    assert rows.count() == 2 and rows.first.locator(".bar-label").inner_text() == "a cat"
    assert page.locator(".classification").first.locator(".bar-row.top .bar-value").inner_text().endswith("%")


def test_classify_with_examples_on_the_server(page, served, tmp_path: Path) -> None:
    """Labels in code names, no words: a folder of examples on the server teaches them."""
    examples = tmp_path / "examples"
    for label, name in [("kx7", "cat-chelsea.png"), ("qr2", "rocket-launch.jpg")]:
        (examples / label).mkdir(parents=True)
        shutil.copyfile(served.media / name, examples / label / name)
    page.click("#tab-classify")
    page.set_input_files("#classify-files", [str(served.media / "rocket-launch.jpg")])
    page.fill("#labels", "")
    page.fill("#examples", str(examples))
    page.click("#classify-button")
    page.wait_for_selector(".classification")
    assert page.locator(".classification").first.get_attribute("data-top") == "qr2"


def test_a_failed_classify_clears_the_last_results(page, served, tmp_path: Path) -> None:
    """The error showed above the previous files' results, as if they were this request's."""
    page.click("#tab-classify")
    page.set_input_files("#classify-files", [str(served.media / "cat-chelsea.png")])
    page.fill("#labels", "a cat, a rocket")
    page.click("#classify-button")
    page.wait_for_selector(".classification")
    junk = tmp_path / "random.bin"
    junk.write_bytes(bytes(range(256)) * 8)
    page.set_input_files("#classify-files", [str(junk)])  # nothing classifiable: the request fails
    page.click("#classify-button")
    page.wait_for_function("() => document.getElementById('classify-status').classList.contains('error')")
    assert "random.bin" in page.text_content("#classify-status")
    assert page.locator(".classification").count() == 0
    # a bad file among good ones is its own error; the others are classified
    page.set_input_files("#classify-files", [str(served.media / "cat-chelsea.png"), str(junk)])
    page.click("#classify-button")
    page.wait_for_selector(".classification[data-file='random.bin'] .error")
    assert page.locator(".classification[data-file='cat-chelsea.png']").get_attribute("data-top") == "a cat"


def test_keyboard_slash_enter_and_arrows(page) -> None:
    page.fill("#min-score", "0")  # keep the weak hits too, so there are cards to move between
    page.locator("h1").click()  # focus leaves the text fields
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "q"
    assert page.input_value("#q") == ""  # the slash is not typed
    page.keyboard.type("a cat")
    page.keyboard.press("Enter")
    wait_results(page)
    cards = page.locator("#results > li.card")
    assert cards.count() >= 2
    cards.first.focus()
    page.keyboard.press("ArrowRight")
    assert page.evaluate("document.activeElement === document.querySelectorAll('#results > li.card')[1]")
    page.keyboard.press("ArrowLeft")
    assert page.evaluate("document.activeElement === document.querySelector('#results > li.card')")
    # the tabs answer to the arrow keys too
    page.focus("#tab-search")
    page.keyboard.press("ArrowRight")
    assert page.evaluate("document.activeElement.id") == "tab-classify"
    assert page.locator("#panel-classify").is_visible() and page.locator("#panel-search").is_hidden()


def test_more_button_shows_one_ranked_list(page) -> None:
    """More results is the top 40 of one search: a page cut from a wider search could skip hits
    that outscore the first page's last ones, and show them out of score order."""
    page.fill("#min-score", "0")  # keep everything so there is more than one page
    run_search(page, "something")
    first_page = names(page)
    if len(first_page) < 20:
        pytest.skip(f"only {len(first_page)} results: not enough for a second page")
    page.click("#more")
    page.wait_for_function("() => document.querySelectorAll('#results > li.card').length > 20")
    cards = page.locator("#results > li.card")
    keys = cards.evaluate_all("els => els.map(e => e.dataset.path + '@' + (e.dataset.start || ''))")
    assert len(keys) == len(set(keys)), "the second page repeats hits of the first"
    scores = cards.evaluate_all("els => els.map(e => Number(e.dataset.score))")
    assert scores == sorted(scores, reverse=True), scores
    assert page.evaluate("document.activeElement === document.querySelectorAll('#results > li.card')[20]")


def test_index_tab_runs_a_job_and_lists_errors(page, served, tmp_path: Path) -> None:
    broken = tmp_path / "broken-photo.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n" + b"not really a picture" * 10)
    page.click("#tab-index")
    page.fill("#index-paths", str(broken))
    page.click("#index-start")
    page.wait_for_selector("#job[data-state='done'], #job[data-state='failed']")
    assert page.get_attribute("#job", "data-state") == "done", page.text_content("#job-text")
    assert "1 failed" in page.text_content("#job-text")
    page.wait_for_selector(f"#errors li[data-path='{broken}']")
    assert page.locator(f"#errors li[data-path='{broken}'] .error-reason").inner_text().strip() != ""


def test_page_without_token_says_token_needed(bare_page, served) -> None:
    bare_page.goto(served.url + "/")
    note = bare_page.locator("#token-needed")
    note.wait_for()
    assert "Token needed" in note.inner_text()
    assert bare_page.locator("#main").is_hidden()
    # pasting the token opens the page
    bare_page.fill("#token-input", served.token)
    bare_page.press("#token-input", "Enter")
    bare_page.wait_for_selector("#main:not([hidden])")
    # a wrong token brings the message back
    bare_page.evaluate("sessionStorage.setItem('sensorium-token', 'wrong')")
    bare_page.reload()
    bare_page.wait_for_selector("#token-needed:not([hidden])")
    assert "refused" in bare_page.text_content("#token-reason")


def test_api_refuses_requests_without_the_token(served) -> None:
    with pytest.raises(urllib.error.HTTPError) as exc:
        urllib.request.urlopen(served.url + "/api/stats", timeout=10)
    assert exc.value.code == 401


def test_index_tab_finds_a_resized_copy_of_a_photo(page, served, tmp_path: Path) -> None:
    from PIL import Image

    cat = Image.open(served.media / "cat-chelsea.png")
    small = tmp_path / "cat-small.jpg"
    cat.resize((cat.width // 2, cat.height // 2)).save(small, quality=80)
    page.click("#tab-index")
    page.fill("#index-paths", str(small))
    page.click("#index-start")
    page.wait_for_selector("#job[data-state='done'], #job[data-state='failed']")
    assert page.get_attribute("#job", "data-state") == "done", page.text_content("#job-text")
    page.click("#duplicates-find")
    page.wait_for_function("() => /group|No near/.test(document.querySelector('#duplicates-status').textContent)")
    groups = page.locator("#duplicates > li")
    assert groups.count() == 1, page.text_content("#duplicates-status")
    paths = groups.locator("li.duplicate").evaluate_all("els => els.map(e => e.dataset.path)")
    assert [Path(p).name for p in paths] == ["cat-chelsea.png", "cat-small.jpg"]  # the larger file first
    assert "similarity 0.9" in groups.locator("li.duplicate").nth(1).inner_text()
    page.wait_for_function("() => [...document.querySelectorAll('#duplicates img')].every(i => i.complete)")
    widths = groups.locator("img").evaluate_all("els => els.map(e => e.naturalWidth)")
    assert all(w > 0 for w in widths), widths  # the thumbnails load with the token


def test_a_name_taught_on_the_page_is_searched_and_forgotten(page, served, tmp_path: Path) -> None:
    from PIL import Image, ImageOps

    mine = tmp_path / "my-cat.jpg"
    with Image.open(served.media / "cat-chelsea.png") as im:
        ImageOps.mirror(im.convert("RGB")).save(mine)
    page.click("#tab-classify")
    page.wait_for_function("() => /No names/.test(document.getElementById('names-status').textContent)")
    page.fill("#name-word", "Tibbles")
    page.set_input_files("#name-files", [str(mine)])
    page.click("#name-teach")
    page.wait_for_selector('#names li[data-name="Tibbles"]')
    assert "Taught \u201cTibbles\u201d by 1 picture" in page.text_content("#names-status")
    page.click("#tab-search")
    page.fill("#min-score", "0")
    page.fill("#taken", "")
    run_search(page, "Tibbles")
    assert names(page)[0] == "cat-chelsea.png"
    page.click("#tab-classify")
    page.click('#names li[data-name="Tibbles"] button.forget')
    page.wait_for_function("() => !document.querySelector('#names li[data-name=\"Tibbles\"]')")
    assert "Forgot \u201cTibbles\u201d" in page.text_content("#names-status")
