// Sensorium web page: plain JS, no build step, no dependencies. Follows docs/http-api.md.
"use strict";

(function () {
  const PAGE = 20;
  const MAX_LIMIT = 200; // the most hits one API search returns
  const TOKEN_KEY = "sensorium-token";
  const $ = (id) => document.getElementById(id);

  let token = null;

  // ---------- token ----------

  function tokenFromHash() {
    const m = /(?:^#|&)token=([^&]*)/.exec(location.hash);
    return m ? decodeURIComponent(m[1]) : null;
  }

  function readToken() {
    const fromHash = tokenFromHash();
    if (fromHash) {
      sessionStorage.setItem(TOKEN_KEY, fromHash);
      // Keep the token out of the address bar, the history and anything shared from it.
      history.replaceState(null, "", location.pathname + location.search);
    }
    return fromHash || sessionStorage.getItem(TOKEN_KEY);
  }

  function needToken(reason) {
    token = null;
    sessionStorage.removeItem(TOKEN_KEY);
    if (reason) $("token-reason").textContent = reason;
    $("main").hidden = true;
    $("token-needed").hidden = false;
    $("stats").textContent = "";
    $("token-input").focus();
  }

  function start(newToken) {
    token = newToken;
    $("token-needed").hidden = true;
    $("main").hidden = false;
    loadStats();
    loadSpaces();
  }

  $("token-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const value = $("token-input").value.trim();
    if (!value) return;
    sessionStorage.setItem(TOKEN_KEY, value);
    $("token-input").value = "";
    start(value);
    $("q").focus();
  });

  window.addEventListener("hashchange", () => {
    const t = tokenFromHash();
    if (t) start(readToken());
  });

  // ---------- API ----------

  class ApiError extends Error {
    constructor(message, status) {
      super(message);
      this.status = status;
    }
  }

  async function api(path, options = {}) {
    const headers = new Headers(options.headers || {});
    headers.set("Authorization", "Bearer " + token);
    let response;
    try {
      response = await fetch(path, { ...options, headers, cache: "no-store" });
    } catch (err) {
      throw new ApiError("cannot reach the Sensorium server: " + err.message + "; is `sensorium serve` still running?", 0);
    }
    const type = response.headers.get("content-type") || "";
    const body = type.includes("json") ? await response.json().catch(() => null) : await response.text();
    if (response.status === 401) {
      needToken("The server refused the token (" + ((body && body.error) || "401") +
        "). Open the address that `sensorium serve` printed, or paste the token here.");
      throw new ApiError("token refused", 401);
    }
    if (!response.ok) {
      const msg = body && typeof body === "object" && body.error ? body.error : response.status + " " + response.statusText;
      throw new ApiError(msg, response.status);
    }
    return body;
  }

  function withToken(url) {
    return url + (url.includes("?") ? "&" : "?") + "token=" + encodeURIComponent(token);
  }

  function postJSON(path, data) {
    return api(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(data) });
  }

  // ---------- helpers ----------

  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else if (k.startsWith("data-")) node.setAttribute(k, v);
      else if (k in node && typeof v !== "string") node[k] = v;
      else node.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children) if (c !== null && c !== undefined) node.append(c);
    return node;
  }

  function baseName(path) {
    return String(path).split(/[\\/]/).pop();
  }

  // 83.25 -> "1:23.3", 3723.0 -> "1:02:03.0"
  function clock(seconds) {
    const tenths = Math.round(Math.max(0, seconds) * 10);
    const h = Math.floor(tenths / 36000);
    const m = Math.floor((tenths % 36000) / 600);
    const s = (tenths % 600) / 10;
    const ss = s.toFixed(1).padStart(4, "0");
    return h ? h + ":" + String(m).padStart(2, "0") + ":" + ss : m + ":" + ss;
  }

  function span(start, end) {
    return clock(start) + "\u2013" + clock(end);
  }

  function setStatus(id, text, isError = false) {
    const node = $(id);
    node.textContent = text;
    node.classList.toggle("error", isError);
  }

  function showTab(name, focus = false) {
    for (const tab of document.querySelectorAll('[role="tab"]')) {
      const on = tab.id === "tab-" + name;
      tab.setAttribute("aria-selected", String(on));
      tab.tabIndex = on ? 0 : -1;
      $(tab.getAttribute("aria-controls")).hidden = !on;
      if (on && focus) tab.focus();
    }
    if (name === "index") loadErrors();
    if (name === "classify") loadNames();
  }

  // File drop onto a zone sets the zone's <input type=file>, so the form only reads the input.
  function dropZone(zone, input, accept) {
    zone.addEventListener("dragover", (e) => {
      e.preventDefault();
      zone.classList.add("dragging");
    });
    zone.addEventListener("dragleave", () => zone.classList.remove("dragging"));
    zone.addEventListener("drop", (e) => {
      e.preventDefault();
      zone.classList.remove("dragging");
      const files = [...e.dataTransfer.files].filter(accept);
      if (!files.length) return;
      const dt = new DataTransfer();
      for (const f of input.multiple ? files : files.slice(0, 1)) dt.items.add(f);
      input.files = dt.files;
      input.dispatchEvent(new Event("change", { bubbles: true }));
    });
  }

  // what search takes as an example: media, notes and documents (PDF, Word, OpenDocument, EPUB)
  const isMedia = (f) => /^(image|audio|video|text)\//.test(f.type) || f.type === "" ||
    /^application\/(pdf|epub\+zip|vnd\.oasis\.opendocument\.text|vnd\.openxmlformats-officedocument\.wordprocessingml\.document)$/.test(f.type);

  // ---------- stats ----------

  let readOnly = false;

  async function loadStats() {
    try {
      const s = await api("/api/stats");
      readOnly = !!s.read_only;
      const parts = [s.files + " files", s.records + " records"];
      if (s.failed) parts.push(s.failed + " failed");
      if (readOnly) parts.push("read-only");
      $("stats").textContent = parts.join(" · ");
      $("read-only-note").hidden = !readOnly;
      for (const c of $("index-form").elements) c.disabled = readOnly;
      for (const c of $("names-form").elements) c.disabled = readOnly;
    } catch (err) {
      if (err.status !== 401) $("stats").textContent = "Stats unavailable: " + err.message;
    }
  }

  // ---------- spaces ----------

  let manySpaces = false;

  // With hub models (`sensorium index --model`), a library has more than one space: offer them.
  async function loadSpaces() {
    try {
      const { spaces } = await api("/api/spaces");
      const select = $("space");
      select.replaceChildren(el("option", { value: "", text: "default" }));
      for (const sp of spaces) {
        if (sp.own) continue;
        const label = sp.space + " (" + sp.model + (sp.pending ? ", " + sp.pending + " pending" : "") + ")";
        select.append(el("option", { value: sp.space, text: label }));
      }
      manySpaces = spaces.length > 1;
      $("space-row").hidden = !manySpaces;
    } catch (err) {
      $("space-row").hidden = true;
    }
  }

  // ---------- search ----------

  const q = $("q");
  const exampleInput = $("example-file");
  const results = $("results");
  let searchSeq = 0;
  let lastQuery = null;
  let offset = 0;

  function exampleFile() {
    return exampleInput.files && exampleInput.files[0] ? exampleInput.files[0] : null;
  }

  function updateExampleUI() {
    const f = exampleFile();
    $("example-name").textContent = f ? "Example: " + f.name : "";
    $("example-clear").hidden = !f;
    $("weight-row").hidden = !(f && q.value.trim());
  }

  q.addEventListener("input", updateExampleUI);
  exampleInput.addEventListener("change", updateExampleUI);
  $("example-clear").addEventListener("click", () => {
    exampleInput.value = "";
    updateExampleUI();
    exampleInput.focus();
  });
  $("like-weight").addEventListener("input", (e) => {
    $("like-weight-out").textContent = Number(e.target.value).toFixed(2);
  });
  dropZone($("search-form"), exampleInput, isMedia);

  function readQuery() {
    const minScore = $("min-score").value.trim();
    return {
      text: q.value.trim() || null,
      negative: $("negative").value.trim() || null,
      modality: $("modality").value || null,
      path: $("path-glob").value.trim() || null,
      min_score: minScore === "" ? null : Number(minScore),
      space: $("space").value || null,
      taken: $("taken").value.trim() || null,
      file: exampleFile(),
      like_weight: Number($("like-weight").value),
    };
  }

  async function fetchHits(query, from, count) {
    if (!query.file) {
      const body = { text: query.text, negative: query.negative, limit: count, offset: from, modality: query.modality,
        path: query.path, min_score: query.min_score, space: query.space, taken: query.taken };
      return postJSON("/api/search", body);
    }
    const form = new FormData();
    form.append("file", query.file, query.file.name);
    if (query.text) {
      form.append("text", query.text);
      form.append("like_weight", String(query.like_weight));
    }
    for (const key of ["negative", "modality", "path", "min_score", "space", "taken"]) {
      if (query[key] !== null) form.append(key, String(query[key]));
    }
    form.append("limit", String(count));
    form.append("offset", String(from));
    return api("/api/search/example", { method: "POST", body: form });
  }

  async function search(more) {
    const query = more ? lastQuery : readQuery();
    if (!query) return;
    if (!more && !query.text && !query.file && !query.taken) {
      setStatus("search-status", "Type some words, choose an example file, or give the days (Taken) first.", true);
      q.focus();
      return;
    }
    if (query.min_score !== null && Number.isNaN(query.min_score)) {
      setStatus("search-status", "Min score must be a number such as 0.2.", true);
      $("min-score").focus();
      return;
    }
    const seq = ++searchSeq;
    // More results asks again for the whole longer list (up to the API's 200): hits are re-ranked
    // after they are found, so a second page cut from a wider search could skip or repeat hits.
    const whole = more && offset + PAGE <= MAX_LIMIT;
    const from = more && !whole ? offset : 0;
    const count = whole ? offset + PAGE : PAGE;
    $("more").hidden = true;
    results.setAttribute("aria-busy", "true");
    setStatus("search-status", more ? "Loading more…" : "Searching…");
    try {
      const data = await fetchHits(query, from, count);
      if (seq !== searchSeq) return; // a newer search started meanwhile
      lastQuery = query;
      const firstNew = whole ? offset : results.children.length;
      if (!more || whole) results.replaceChildren();
      data.hits.forEach((hit, i) => results.append(card(hit, from + i + 1)));
      offset = from + data.hits.length;
      const total = results.children.length;
      $("more").hidden = data.hits.length < count;
      const days = data.days ? " \u00b7 \u201c" + data.days.said + "\u201d read as Taken " + data.days.taken : "";
      setStatus("search-status", (total ? total + (total === 1 ? " result" : " results") : "No results. Try other words, or lower the min score.") + days);
      if (more && results.children[firstNew]) results.children[firstNew].focus();
    } catch (err) {
      if (seq !== searchSeq) return;
      if (err.status !== 401) setStatus("search-status", "Search failed: " + err.message, true);
    } finally {
      if (seq === searchSeq) results.removeAttribute("aria-busy");
    }
  }

  $("search-form").addEventListener("submit", (e) => {
    e.preventDefault();
    search(false);
  });
  $("more").addEventListener("click", () => search(true));

  const ICONS = {
    audio: "M9 18V5l12-2v13M9 18a3 3 0 1 1-6 0 3 3 0 0 1 6 0zm12-2a3 3 0 1 1-6 0 3 3 0 0 1 6 0z",
    text: "M6 2h9l5 5v15H6zM14 2v6h6M9 13h8M9 17h8",
  };

  function icon(kind) {
    const ns = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    const path = document.createElementNS(ns, "path");
    path.setAttribute("d", ICONS[kind] || ICONS.text);
    svg.append(path);
    return el("div", { class: "thumb icon " + kind }, svg);
  }

  // describe's timeline of a hit's file (format vtt, srt or json): <track> cannot send headers, so ?token=.
  function clipUrl(hit) {
    return withToken("/api/clip?path=" + encodeURIComponent(hit.path) + "&start=" + hit.start + "&end=" + hit.end);
  }

  function captionsUrl(hit, format) {
    return withToken("/api/describe?path=" + encodeURIComponent(hit.path) + "&format=" + format);
  }

  function card(hit, rank) {
    const timed = hit.start !== null && hit.start !== undefined && hit.end !== null && hit.end !== undefined;
    const name = baseName(hit.path);
    const headingId = "hit-" + rank;
    const mediaUrl = withToken(hit.media_url) + (hit.page ? "#page=" + hit.page : "");  // a PDF opens at its page
    const li = el("li", {
      class: "card " + hit.modality,
      tabindex: "0",
      "aria-labelledby": headingId,
      "data-path": hit.path,
      "data-modality": hit.modality,
      "data-start": timed ? String(hit.start) : null,
      "data-end": timed ? String(hit.end) : null,
      "data-score": String(hit.score),
    });

    let player = null;
    if (hit.modality === "audio" || hit.modality === "video") {
      const src = timed ? mediaUrl + "#t=" + hit.start + "," + hit.end : mediaUrl;
      player = el(hit.modality, {
        class: "player",
        controls: true,
        preload: hit.modality === "audio" ? "metadata" : "none",
        src,
        "aria-label": (hit.modality === "audio" ? "Sound: " : "Video: ") + name + (timed ? ", " + span(hit.start, hit.end) : ""),
      });
      if (hit.modality === "video" && hit.thumbnail_url) player.poster = withToken(hit.thumbnail_url);
      // Captions (shots, sounds in brackets, speech) load only when turned on in the player's menu.
      if (hit.modality === "video") {
        player.append(el("track", { kind: "captions", src: captionsUrl(hit, "vtt"), srclang: "en", label: "Sounds and speech" }));
      }
      player.dataset.name = name;
      watchErrors(player);
      if (timed) keepToMoment(player, hit.start, hit.end);
    }

    if (hit.modality === "video" && player) li.append(player);
    else if (hit.thumbnail_url) {
      li.append(el("a", { href: mediaUrl, class: "thumb-link", tabindex: "-1", target: "_blank", rel: "noopener" },
        el("img", { class: hit.page ? "thumb page" : "thumb", src: withToken(hit.thumbnail_url), alt: hit.alt_text || (hit.page ? "Page " + hit.page : ""), loading: "lazy", decoding: "async" })));
    } else li.append(icon(hit.modality));

    const title = el("h3", { id: headingId, class: "name" },
      el("a", { href: mediaUrl, target: "_blank", rel: "noopener", title: hit.path, text: name }));
    li.append(title);

    const meta = el("p", { class: "meta" },
      el("span", { class: "score", text: "score " + Number(hit.score).toFixed(3) }),
      el("span", { class: "kind", text: hit.modality }));
    if (timed) meta.append(el("span", { class: "span", text: span(hit.start, hit.end) }));
    if (hit.page) meta.append(el("span", { class: "span", text: "page " + hit.page }));
    if (hit.taken) meta.append(el("time", { class: "taken", datetime: hit.taken, text: hit.taken.replace("T", " ") }));
    if (player) {
      meta.append(el("a", { class: "captions", href: captionsUrl(hit, "vtt"), target: "_blank", rel: "noopener",
        title: "The whole file described: shots, sounds and speech, as WebVTT captions", text: "captions" }));
    }
    if (timed && (hit.modality === "audio" || hit.modality === "video")) {
      meta.append(el("a", { class: "save-moment", href: clipUrl(hit), download: "",
        title: "This moment as a file of its own (a stream copy where the format allows)", text: "save moment" }));
    }
    if (manySpaces && hit.space) meta.append(el("span", { class: "space", text: "space " + hit.space }));
    li.append(meta);

    if (hit.why) li.append(el("p", { class: "why" }, el("span", { class: "why-label", text: "Why this matched: " }), hit.why));

    if (player && hit.modality === "audio") li.append(player);
    if (player && timed) {
      li.append(el("button", {
        type: "button",
        class: "play-moment",
        text: "\u25B6 Play " + span(hit.start, hit.end),
        onclick: () => playMoment(player, hit.start, hit.end, name),
      }));
    }
    li.append(askBox(hit, rank));
    li.addEventListener("keydown", (e) => {
      if (e.target !== li || e.key !== "Enter") return;
      e.preventDefault();
      if (player && timed) playMoment(player, hit.start, hit.end, name);
      else if (player) player.paused ? player.play() : player.pause();
      else window.open(mediaUrl, "_blank", "noopener");
    });
    return li;
  }

  // A closed question about one hit's file (GET /api/ask): "is there a dog?", "how many people?".
  function askBox(hit, rank) {
    const answer = el("p", { class: "answer", role: "status", "aria-live": "polite" });
    const input = el("input", {
      type: "text", name: "q", maxlength: "500", required: true, placeholder: "is there a dog? how many people?",
      "aria-label": "Question about " + baseName(hit.path),
    });
    const form = el("form", { class: "ask-form" }, input, el("button", { type: "submit", text: "Ask" }));
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      answer.textContent = "…";
      answer.classList.remove("error");
      try {
        const a = await api("/api/ask?path=" + encodeURIComponent(hit.path) + "&q=" + encodeURIComponent(input.value));
        answer.textContent = a.error ? a.error : answerText(a);
        answer.classList.toggle("error", Boolean(a.error));
      } catch (err) {
        answer.textContent = err.message;
        answer.classList.add("error");
      }
    });
    return el("details", { class: "ask", "data-rank": String(rank) },
      el("summary", { text: "Ask about this file" }), form, answer);
  }

  function answerText(a) {
    if (a.kind === "yes/no") {
      return a.answer + " (" + Number(a.score).toFixed(2) + ")" + (a.when ? ", at " + span(a.when.start, a.when.end) : "");
    }
    if (a.kind === "count") return a.answer + " × " + a.about;
    return a.answer ? String(a.answer) : "(nothing)";
  }

  // The #t=start,end fragment already starts the element at the moment; this covers browsers that
  // ignore media fragments and stops a "play moment" at the moment's end.
  function keepToMoment(player, start, end) {
    player.addEventListener("loadedmetadata", () => {
      if (player.currentTime < start - 0.25) player.currentTime = start;
    }, { once: true });
    player.addEventListener("timeupdate", () => {
      if (player.dataset.stopAt && player.currentTime >= Number(player.dataset.stopAt)) {
        delete player.dataset.stopAt;
        player.pause();
      }
    });
  }

  // A format the browser cannot play (AVI, MPEG-PS, some codecs) fails without a word: say so.
  function watchErrors(player) {
    if (player.dataset.watched) return;
    player.dataset.watched = "1";
    player.addEventListener("error", () => {
      const name = player.dataset.name || "this file";
      setStatus("search-status", "This browser cannot play " + name + " (" + (player.error && player.error.code === 4
        ? "its format is not supported here" : "it could not be loaded") + "); the times above still mark the moment.", true);
    });
  }

  function playMoment(player, start, end, name) {
    for (const other of document.querySelectorAll(".player")) if (other !== player && !other.paused) other.pause();
    const go = () => {
      player.currentTime = start;
      player.dataset.stopAt = String(end);
      player.play().catch((err) => setStatus("search-status", "Cannot play " + name + ": " + err.message, true));
    };
    if (player.readyState >= 1) go();
    else {
      player.preload = "metadata";
      player.addEventListener("loadedmetadata", go, { once: true });
      player.load();
    }
  }

  // Arrow keys move between result cards (only when a card itself has focus, so players keep their keys).
  results.addEventListener("keydown", (e) => {
    const cardEl = e.target;
    if (!cardEl.classList || !cardEl.classList.contains("card")) return;
    const cards = [...results.children];
    const i = cards.indexOf(cardEl);
    const top = cards[0].offsetTop;
    let columns = cards.findIndex((c) => c.offsetTop !== top);
    if (columns < 1) columns = cards.length;
    let j = null;
    switch (e.key) {
      case "ArrowRight": j = i + 1; break;
      case "ArrowLeft": j = i - 1; break;
      case "ArrowDown": j = i + columns; break;
      case "ArrowUp": j = i - columns; break;
      case "Home": j = 0; break;
      case "End": j = cards.length - 1; break;
      default: return;
    }
    e.preventDefault();
    if (j >= cards.length && e.key === "ArrowDown") j = cards.length - 1;
    if (j >= 0 && j < cards.length) {
      cards[j].focus();
      cards[j].scrollIntoView({ block: "nearest" });
    } else if (j >= cards.length && !$("more").hidden) $("more").focus();
  });

  // ---------- classify ----------

  const classifyInput = $("classify-files");
  const previews = new Map();

  function classifyFiles() {
    return classifyInput.files ? [...classifyInput.files] : [];
  }

  classifyInput.addEventListener("change", () => {
    const files = classifyFiles();
    $("classify-names").textContent = files.length ? files.length + " chosen: " + files.map((f) => f.name).join(", ") : "";
  });
  dropZone($("classify-drop"), classifyInput, () => true);

  function bars(result) {
    const list = el("ul", { class: "bars" });
    result.labels.forEach((item, i) => {
      const pct = Math.max(0, Math.min(1, Number(item.score))) * 100;
      const fill = el("span", { class: "bar-fill" });
      fill.style.width = pct.toFixed(1) + "%";
      list.append(el("li", { class: i === 0 ? "bar-row top" : "bar-row", "data-label": item.label },
        el("span", { class: "bar-label", text: item.label }),
        el("span", { class: "bar", "aria-hidden": "true" }, fill),
        el("span", { class: "bar-value", text: pct.toFixed(1) + "%" })));
    });
    return list;
  }

  async function classify() {
    const files = classifyFiles();
    const labels = $("labels").value.trim();
    const examples = $("examples").value.trim();
    if (!files.length) {
      setStatus("classify-status", "Choose or drop at least one file.", true);
      classifyInput.focus();
      return;
    }
    if (!labels && !examples) {
      setStatus("classify-status", "Type at least two labels, e.g. a cat, a dog (or give an examples folder).", true);
      $("labels").focus();
      return;
    }
    const form = new FormData();
    for (const f of files) form.append("files", f, f.name);
    form.append("labels", labels);
    if (examples) form.append("examples", examples);
    if ($("multi-label").checked) form.append("multi_label", "true");
    setStatus("classify-status", "Classifying " + files.length + (files.length === 1 ? " file…" : " files…"));
    $("classify-button").disabled = true;
    try {
      const data = await api("/api/classify", { method: "POST", body: form });
      for (const url of previews.values()) URL.revokeObjectURL(url);
      previews.clear();
      const out = $("classify-results");
      out.replaceChildren();
      data.results.forEach((r, i) => {
        const file = files[i] && files[i].name === r.path ? files[i] : files.find((f) => f.name === r.path);
        const top = r.labels && r.labels.length ? r.labels[0].label : null;
        const section = el("section", { class: "classification", "data-file": r.path, "data-top": top, "aria-label": r.path });
        if (file && file.type.startsWith("image/")) {
          const url = URL.createObjectURL(file);
          previews.set(r.path, url);
          section.append(el("img", { class: "preview", src: url, alt: "" }));
        }
        const body = el("div", { class: "classification-body" }, el("h3", { text: r.path }));
        if (r.error) body.append(el("p", { class: "error", text: r.error }));
        else {
          if (top) body.append(el("p", { class: "top-label" }, "Best: ", el("strong", { text: top })));
          if (r.abstained) body.append(el("p", { class: "note", text: "Not sure: no label fits this file well (abstained)." }));
          body.append(bars(r));
        }
        section.append(body);
        out.append(section);
      });
      setStatus("classify-status", "Classified " + data.results.length + (data.results.length === 1 ? " file." : " files."));
    } catch (err) {
      $("classify-results").replaceChildren(); // the last results are not this request's
      if (err.status !== 401) setStatus("classify-status", "Classify failed: " + err.message, true);
    } finally {
      $("classify-button").disabled = false;
    }
  }

  // ---------- names taught by example ----------

  const KINDS = { image: "picture", audio: "sound", video: "video", text: "note" };

  function kindCount(n, modality) {
    const kind = KINDS[modality] || "file";
    return n + " " + kind + (n === 1 ? "" : "s");
  }

  async function loadNames(keepStatus = false) {
    if (!token) return;
    try {
      const data = await api("/api/names");
      $("names").replaceChildren(...data.names.map((n) => {
        const forget = el("button", { type: "button", class: "forget", text: "Forget", "aria-label": "Forget " + n.name });
        forget.disabled = readOnly;
        forget.addEventListener("click", () => forgetName(n.name));
        return el("li", { "data-name": n.name }, el("strong", { text: n.name }),
          " taught by " + kindCount(n.files.length, n.modality) + " ", forget);
      }));
      if (!data.names.length && !keepStatus) setStatus("names-status", "No names taught yet.");
    } catch (err) {
      if (err.status !== 401) setStatus("names-status", "Could not load names: " + err.message, true);
    }
  }

  async function teachName() {
    const name = $("name-word").value.trim();
    const files = $("name-files").files ? [...$("name-files").files] : [];
    if (!name || !files.length) {
      setStatus("names-status", "Type a name and choose a few example files of it.", true);
      (name ? $("name-files") : $("name-word")).focus();
      return;
    }
    const form = new FormData();
    form.append("name", name);
    for (const f of files) form.append("files", f, f.name);
    $("name-teach").disabled = true;
    setStatus("names-status", "Teaching \u201c" + name + "\u201d…");
    try {
      const t = await api("/api/names", { method: "POST", body: form });
      const failed = t.failed.length ? "; not read: " + t.failed.map((f) => f.path + " (" + f.error + ")").join(", ") : "";
      setStatus("names-status", "Taught \u201c" + t.name + "\u201d by " + kindCount(t.files.length, t.modality) +
        ": search it to find what is like them" + failed, t.failed.length > 0);
      $("names-form").reset();
      await loadNames(true);
    } catch (err) {
      if (err.status !== 401) setStatus("names-status", "Teaching failed: " + err.message, true);
    } finally {
      $("name-teach").disabled = readOnly;
    }
  }

  async function forgetName(name) {
    try {
      await api("/api/names/" + encodeURIComponent(name), { method: "DELETE" });
      setStatus("names-status", "Forgot \u201c" + name + "\u201d.");
      await loadNames(true);
    } catch (err) {
      if (err.status !== 401) setStatus("names-status", "Could not forget " + name + ": " + err.message, true);
    }
  }

  $("names-form").addEventListener("submit", (e) => {
    e.preventDefault();
    teachName();
  });

  $("classify-form").addEventListener("submit", (e) => {
    e.preventDefault();
    classify();
  });

  // ---------- index ----------

  let jobId = null;
  let pollTimer = null;

  function timeLeft(seconds) {
    if (seconds === null || seconds === undefined) return "";
    if (seconds < 60) return " (under a minute left)";
    if (seconds < 3600) return " (about " + Math.round(seconds / 60) + " min left)";
    return " (about " + (seconds / 3600).toFixed(1) + " h left)";
  }

  function showJob(job) {
    $("job").hidden = false;
    const progress = $("job-progress");
    if (job.total > 0) { // the share of estimated work: a film weighs more than a photo
      progress.max = 1;
      progress.value = job.share ?? (job.progress ?? job.done) / job.total;
    } else if (job.state === "running") progress.removeAttribute("value"); // indeterminate
    else {
      progress.max = 1;
      progress.value = 1;
    }
    let text;
    if (job.state === "running") {
      text = "Indexing " + job.done + " of " + (job.total || "?") + (job.current ? ": " + job.current : "") +
        timeLeft(job.seconds_left);
    } else if (job.state === "done") {
      const r = job.report || {};
      text = "Done: " + (r.indexed ?? 0) + " indexed, " + (r.skipped ?? 0) + " unchanged, " + (r.failed ?? 0) + " failed" +
        (r.not_media ? ", " + r.not_media + " not media" : "") +
        (r.pruned ? ", " + r.pruned + " pruned" : "") + (r.seconds !== undefined ? " in " + Number(r.seconds).toFixed(1) + " s." : ".");
    } else if (job.state === "cancelled") {
      text = "Cancelled after " + job.done + " of " + job.total + " files (those stay indexed).";
    } else {
      text = "Failed: " + (job.error || "unknown error");
    }
    $("job").dataset.state = job.state;
    setStatus("job-text", text, job.state === "failed");
    $("job-cancel").hidden = job.state !== "running";
    $("index-start").disabled = readOnly || job.state === "running";
  }

  async function poll() {
    if (jobId === null) return;
    try {
      const job = await api("/api/jobs/" + encodeURIComponent(jobId));
      showJob(job);
      if (job.state === "running") {
        pollTimer = setTimeout(poll, 500);
        return;
      }
      jobId = null;
      loadErrors();
      loadStats();
    } catch (err) {
      if (err.status !== 401) setStatus("job-text", "Lost the job: " + err.message, true);
      jobId = null;
      $("index-start").disabled = readOnly;
    }
  }

  async function startIndex() {
    const paths = $("index-paths").value.split(/\r?\n/).map((p) => p.trim()).filter(Boolean);
    if (!paths.length) {
      setStatus("job-text", "Type at least one folder or file.", true);
      $("job").hidden = false;
      $("job-cancel").hidden = true;
      $("index-paths").focus();
      return;
    }
    $("index-start").disabled = true;
    try {
      const data = await postJSON("/api/index", { paths, prune: $("prune").checked });
      jobId = data.job;
      showJob({ state: "running", done: 0, total: 0, current: "" });
      clearTimeout(pollTimer);
      poll();
    } catch (err) {
      $("index-start").disabled = readOnly;
      if (err.status !== 401) {
        $("job").hidden = false;
        $("job-cancel").hidden = true;
        setStatus("job-text", "Could not start: " + err.message, true);
      }
    }
  }

  $("index-form").addEventListener("submit", (e) => {
    e.preventDefault();
    startIndex();
  });

  $("job-cancel").addEventListener("click", async () => {
    if (jobId === null) return;
    try {
      showJob(await api("/api/jobs/" + encodeURIComponent(jobId), { method: "DELETE" }));
    } catch (err) {
      if (err.status !== 401) setStatus("job-text", "Cancel failed: " + err.message, true);
    }
  });

  async function loadErrors() {
    if (!token) return;
    try {
      const rows = await api("/api/errors");
      const list = $("errors");
      list.replaceChildren(...rows.map((r) => el("li", { "data-path": r.path },
        el("span", { class: "error-path", text: r.path }), el("span", { class: "error-reason", text: r.error }))));
      setStatus("errors-status", rows.length ? rows.length + (rows.length === 1 ? " file failed." : " files failed.") : "No failures recorded.");
    } catch (err) {
      if (err.status !== 401) setStatus("errors-status", "Could not load errors: " + err.message, true);
    }
  }

  $("errors-refresh").addEventListener("click", loadErrors);

  function sizeText(bytes) {
    const units = ["B", "KB", "MB", "GB"];
    let i = 0;
    let n = Number(bytes) || 0;
    while (n >= 1000 && i < units.length - 1) {
      n /= 1000;
      i += 1;
    }
    return i === 0 ? n + " B" : n.toFixed(1) + " " + units[i];
  }

  async function findDuplicates() {
    if (!token) return;
    setStatus("duplicates-status", "Comparing photos\u2026");
    try {
      const groups = await api("/api/duplicates");
      $("duplicates").replaceChildren(...groups.map((g, k) => el("li", { class: "duplicate-group" },
        el("ul", { "aria-label": "Group " + (k + 1) + ": " + g.files.length + " photos" }, ...g.files.map((f, i) => {
          const q = encodeURIComponent(f.path);
          return el("li", { class: "duplicate", "data-path": f.path },
            el("a", { href: withToken("/api/media?path=" + q), target: "_blank", rel: "noopener", title: f.path },
              el("img", { class: "thumb", src: withToken("/api/thumbnail?path=" + q), alt: "", loading: "lazy", decoding: "async" }),
              el("span", { class: "name", text: baseName(f.path) })),
            el("span", { class: "meta", text: sizeText(f.size) + (i === 0 ? ", largest" : ", similarity " + Number(f.similarity).toFixed(2)) }));
        })))));
      const extra = groups.reduce((n, g) => n + g.files.length - 1, 0);
      setStatus("duplicates-status", groups.length
        ? groups.length + (groups.length === 1 ? " group: " : " groups: ") + extra + (extra === 1 ? " photo" : " photos") + " beside the largest of each."
        : "No near-duplicate photos.");
    } catch (err) {
      if (err.status !== 401) setStatus("duplicates-status", "Could not compare photos: " + err.message, true);
    }
  }

  $("duplicates-find").addEventListener("click", findDuplicates);

  // ---------- keyboard ----------

  // Enter submits from the textareas too; Shift+Enter makes a new line there.
  for (const id of ["labels", "index-paths"]) {
    $(id).addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        e.target.form.requestSubmit();
      }
    });
  }

  // Tabs: arrows move between them (WAI-ARIA tabs pattern).
  const tabNames = ["search", "classify", "index"];
  for (const tab of document.querySelectorAll('[role="tab"]')) {
    tab.addEventListener("click", () => showTab(tab.id.slice(4)));
    tab.addEventListener("keydown", (e) => {
      const i = tabNames.indexOf(tab.id.slice(4));
      let j = null;
      if (e.key === "ArrowRight") j = (i + 1) % tabNames.length;
      else if (e.key === "ArrowLeft") j = (i + tabNames.length - 1) % tabNames.length;
      else if (e.key === "Home") j = 0;
      else if (e.key === "End") j = tabNames.length - 1;
      if (j === null) return;
      e.preventDefault();
      showTab(tabNames[j], true);
    });
  }

  // "/" focuses the search box from anywhere but a text field.
  document.addEventListener("keydown", (e) => {
    if (e.key !== "/" || e.ctrlKey || e.metaKey || e.altKey || !token) return;
    const t = e.target;
    const typing = t.tagName === "INPUT" && !["checkbox", "radio", "button", "submit", "reset", "range", "file"].includes(t.type);
    if (t.isContentEditable || typing || t.tagName === "TEXTAREA" || t.tagName === "SELECT") return;
    e.preventDefault();
    showTab("search");
    q.focus();
    q.select();
  });

  // ---------- start ----------

  const initial = readToken();
  if (initial) start(initial);
  else needToken(null);
})();
