"""Benchmark: the studio on a 1M-attempt workspace, in a real headless Chromium (targets from the studio issue).

    python bench/bench_studio.py [--attempts 1000000] [--pages 8] [--items 12] [--changes 40]

- **grid page** (target ≤ 1.5 s): from the click on "Next page ▶" or on "Search" after choosing filters, to all
  48 thumbnails of the new page shown in the browser (`img.complete && naturalWidth > 0` for every grid image);
- **open an item** (target ≤ 300 ms): the server function alone (`curation.items.load_item` + the cached
  difference heat-map, what the item view's callback calls), and in the browser from the click on a grid cell to
  the item view showing that attempt with its before/after images loaded;
- **policy live counts** (target ≤ 150 ms per slider change, server side): `curation.tuning.policy_counts` on
  the kept-open DuckDB mirror, the function the Policy tab's slider event calls, for random slider moves.

The data is bench/synth.py's cached workspace, copied once to bench/out/bench-studio-<N>/ (the studio migrates
and writes to its copy, never to the cache). Synthetic attempts have no image files, so the benchmark writes
real ones for exactly what it will show: a distinct 256 px WebP thumbnail (~10 KB, like the store's) for every
attempt on the pages it visits, and a 1024 px source JPEG and edited PNG for the items it opens.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import socket
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from synth import OUT, cached_workspace

from picobanana.analytics.mirror import MIRROR_DIR, MIRROR_FILE
from picobanana.curation.tuning import Draft
from picobanana.store.db import DB_FILE_NAME

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
TARGET_GRID_MS, TARGET_ITEM_MS, TARGET_POLICY_MS = 1500, 300, 150


# -- the workspace -------------------------------------------------------------------------------------------


def private_copy(source: Path, attempts: int) -> Path:
    """A copy of the cached workspace for the studio to open (it migrates and writes); reused while the cached
    database is unchanged."""
    work = OUT / f"bench-studio-{attempts}"
    db, marker = source / DB_FILE_NAME, work / "copied-from.txt"
    stamp = f"{db.stat().st_size} {db.stat().st_mtime_ns}"
    if (work / DB_FILE_NAME).is_file() and marker.is_file() and marker.read_text() == stamp:
        return work
    if work.exists():
        shutil.rmtree(work)
    (work / MIRROR_DIR).mkdir(parents=True)
    shutil.copyfile(db, work / DB_FILE_NAME)
    if (source / MIRROR_DIR / MIRROR_FILE).is_file():  # a refresh instead of a full mirror build
        shutil.copyfile(source / MIRROR_DIR / MIRROR_FILE, work / MIRROR_DIR / MIRROR_FILE)
    marker.write_text(stamp)
    return work


def _photos():
    """A few real photos (from the scikit-image wheel) to cut distinct thumbnails and images from."""
    from PIL import Image
    from skimage import data

    return [Image.fromarray(getattr(data, name)()).convert("RGB")
            for name in ("astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry")]


def _variant(photos, seed: int, size: tuple[int, int]):
    """A distinct image per seed: a random crop of a photo, colour-shifted, resized."""
    from PIL import ImageEnhance

    rng = random.Random(seed)
    photo = photos[seed % len(photos)]
    w, h = photo.size
    cw, ch = int(w * rng.uniform(0.5, 0.9)), int(h * rng.uniform(0.5, 0.9))
    x, y = rng.randrange(0, w - cw + 1), rng.randrange(0, h - ch + 1)
    image = photo.crop((x, y, x + cw, y + ch)).resize(size)
    return ImageEnhance.Color(image).enhance(rng.uniform(0.3, 1.7))


def write_thumbnails(store, shas: set[str], photos) -> int:
    made = 0
    for sha in sorted(shas):
        target = store.images.thumbnail_path(sha)
        if target.exists():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        _variant(photos, int(sha[:8], 16), (256, 256)).save(target, "WEBP", quality=80)
        made += 1
    return made


def write_item_images(store, attempt_ids: list[int], photos) -> None:
    """The source photo and the edited output of each attempt, as real files where the store expects them."""
    for attempt_id in attempt_ids:
        row = store.query("SELECT a.output_sha256 AS out, s.image_sha256 AS src FROM attempts a "
                          "JOIN edits e ON e.id = a.edit_id JOIN sources s ON s.id = e.source_id WHERE a.id = ?",
                          (attempt_id,))[0]
        for sha, size in ((row["src"], (1024, 768)), (row["out"], (1024, 1024))):
            fmt = store.scalar("SELECT format FROM images WHERE sha256 = ?", (sha,))
            target = store.images.path(sha, fmt)
            if target.exists():
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            _variant(photos, int(sha[:8], 16), size).save(target, "JPEG" if fmt in ("jpeg", "JPEG") else "PNG")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def ms(seconds: float) -> float:
    return seconds * 1000.0


def summary(values: list[float]) -> str:
    values = sorted(values)
    p95 = values[min(len(values) - 1, round(0.95 * (len(values) - 1)))]
    return f"median {statistics.median(values):.0f} ms, p95 {p95:.0f} ms, max {values[-1]:.0f} ms (n={len(values)})"


# -- browser measurements -------------------------------------------------------------------------------------

# Clicks a button and resolves when the grid shows a different first cell and every grid image has loaded.
GRID_AFTER_CLICK_JS = """async ([buttonSelector, before]) => {
  const grid = () => document.querySelector('#pb-grid');
  const t0 = performance.now();
  document.querySelector(buttonSelector).click();
  let htmlAt = null;
  return await new Promise((resolve, reject) => {
    const check = () => {
      const cells = grid() ? grid().querySelectorAll('.pb-cell[data-attempt]') : [];
      const imgs = grid() ? [...grid().querySelectorAll('img')] : [];
      const first = cells.length ? cells[0].dataset.attempt : null;
      if (first !== null && first !== before && htmlAt === null) htmlAt = performance.now() - t0;
      if (first !== null && first !== before && imgs.every(i => i.complete && i.naturalWidth > 0)) {
        resolve({ms: performance.now() - t0, html_ms: htmlAt, cells: cells.length, images: imgs.length});
      } else if (performance.now() - t0 > 60000) {
        reject(new Error('grid did not change within 60 s'));
      } else {
        requestAnimationFrame(check);
      }
    };
    check();
  });
}"""

# Clicks a grid cell and resolves when the item view shows that attempt with its before/after images loaded.
OPEN_ITEM_JS = """async (attemptId) => {
  const t0 = performance.now();
  document.querySelector(`#pb-grid .pb-cell[data-attempt="${attemptId}"]`).click();
  let textAt = null;
  return await new Promise((resolve, reject) => {
    const check = () => {
      const header = document.querySelector('#browse-item-header');
      const shown = header && header.innerText.includes(String(attemptId));
      if (shown && textAt === null) textAt = performance.now() - t0;
      const imgs = [...document.querySelectorAll('#browse-item-before img, #browse-item-after img')];
      if (shown && imgs.length >= 2 && imgs.every(i => i.complete && i.naturalWidth > 0)) {
        resolve({ms: performance.now() - t0, text_ms: textAt, images: imgs.length});
      } else if (performance.now() - t0 > 60000) {
        reject(new Error('item view did not open within 60 s'));
      } else {
        requestAnimationFrame(check);
      }
    };
    check();
  });
}"""

FIRST_CELL_JS = "() => { const c = document.querySelector('#pb-grid .pb-cell[data-attempt]'); " \
                "return c ? c.dataset.attempt : null; }"
BUTTON = "button#{id}, #{id} button"


def _choose(page, elem_id: str, label: str) -> None:
    """Pick an option of a Gradio dropdown the way a curator does: open it, type, choose."""
    box = page.locator(f"#{elem_id} input")
    box.click()
    box.fill(label)
    page.get_by_role("option", name=label, exact=True).first.click()


def browser_figures(url: str, pages: int, filters: list[tuple[str, str]], item_ids: list[int]) -> dict:
    from playwright.sync_api import sync_playwright

    out = {"next": [], "filter": [], "grid_html": [], "item": [], "item_text": [], "images": []}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        page.goto(url)
        page.wait_for_function("() => { const imgs = [...document.querySelectorAll('#pb-grid img')]; "
                               "return imgs.length > 0 && imgs.every(i => i.complete && i.naturalWidth > 0); }",
                               timeout=120_000)
        # Opening items first, from the first page (their image files were written for this).
        for attempt_id in item_ids:
            opened = page.evaluate(OPEN_ITEM_JS, attempt_id)
            out["item"].append(opened["ms"])
            out["item_text"].append(opened["text_ms"])
            page.locator(BUTTON.format(id="pb-item-close")).first.click()
            page.locator("#pb-grid").wait_for(state="visible")
        for _ in range(pages):
            result = page.evaluate(GRID_AFTER_CLICK_JS, [BUTTON.format(id="pb-page-next"), page.evaluate(FIRST_CELL_JS)])
            out["next"].append(result["ms"])
            out["grid_html"].append(result["html_ms"])
            out["images"].append(result["images"])
        for category, verdict in filters:
            _choose(page, "pb-filter-category", category)
            _choose(page, "pb-filter-verdict", verdict)
            result = page.evaluate(GRID_AFTER_CLICK_JS, [BUTTON.format(id="pb-browse-apply"), page.evaluate(FIRST_CELL_JS)])
            out["filter"].append(result["ms"])
            out["grid_html"].append(result["html_ms"])
            out["images"].append(result["images"])
        browser.close()
    return out


def noop_endpoint(url: str, calls: int = 20) -> list[float]:
    """The floor: a round trip of the studio's most trivial event (/whoami returns the curator's name)."""
    from gradio_client import Client

    client, out = Client(url, verbose=False), []
    for _ in range(calls):
        t0 = time.perf_counter()
        client.predict(api_name="/whoami")
        out.append(ms(time.perf_counter() - t0))
    return out


def item_endpoint(url: str, item_ids: list[int]) -> list[float]:
    """The Browse tab's /open_item endpoint for the same items (HTTP + queue + callback + postprocessing; the
    image files are not downloaded)."""
    from gradio_client import Client

    client, out = Client(url, verbose=False, download_files=False), []
    for attempt_id in item_ids:
        t0 = time.perf_counter()
        client.predict(str(attempt_id), "", api_name="/open_item")
        out.append(ms(time.perf_counter() - t0))
    return out


def policy_endpoint(url: str, start: Draft, moves, margin: float) -> list[float]:
    """The same slider moves through the tab's /policy_counts endpoint (queue, callback, formatting, HTTP)."""
    from gradio_client import Client

    client = Client(url, verbose=False)
    previous, out = start, []  # the page's draft before each move
    for scope, values, draft in moves:
        t0 = time.perf_counter()
        client.predict(*values, "global" if scope is None else str(scope), previous.model_dump(mode="json"), margin,
                       api_name="/policy_counts")
        out.append(ms(time.perf_counter() - t0))
        previous = draft
    return out


# -- main -----------------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attempts", type=int, default=1_000_000)
    parser.add_argument("--pages", type=int, default=8, help="'next page' clicks to time")
    parser.add_argument("--items", type=int, default=12, help="items to open")
    parser.add_argument("--changes", type=int, default=40, help="policy slider changes to time")
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()
    rng = random.Random(args.seed)

    from picobanana.config import load_settings
    from picobanana.curation.browse import browse_page
    from picobanana.curation.diff import ensure_heatmap, heatmap_path
    from picobanana.curation.items import load_item
    from picobanana.curation.urlstate import BrowseView
    from picobanana.store import Store
    from picobanana.store.paging import AttemptFilter
    from picobanana.studio import StudioContext, serve
    from picobanana.taxonomy import CATEGORIES

    started = time.perf_counter()
    work = private_copy(cached_workspace(args.attempts), args.attempts)
    store = Store.open(work)  # applies any new migrations to the copy (once)
    counts = {t: store.scalar(f"SELECT COUNT(*) FROM {t}") for t in ("attempts", "judgments", "reviews")}
    print(f"workspace {work}: {', '.join(f'{n:,} {t}' for t, n in counts.items())} "
          f"(ready in {time.perf_counter() - started:.1f} s)")

    # What the browser will be shown: the first pages of the default view, and the first page of each filter.
    filters = [(c, v) for c, v in ((CATEGORIES[0], "keep"), (CATEGORIES[3], "fail"), (CATEGORIES[5], "keep"),
                                   (CATEGORIES[1], "fail"), (CATEGORIES[2], "keep"))]
    views, server_page = [], []
    view = BrowseView()
    for _ in range(args.pages + 1):
        t0 = time.perf_counter()
        page = browse_page(store, view)
        server_page.append(ms(time.perf_counter() - t0))
        views.append(page)
        view = view.model_copy(update={"after": page.next_cursor})
    for category, verdict in filters:
        t0 = time.perf_counter()
        views.append(browse_page(store, BrowseView(filter=AttemptFilter(category_id=category.id, verdict=verdict))))
        server_page.append(ms(time.perf_counter() - t0))
    shas = {sha for page in views for (sha,) in store.query(
        f"SELECT output_sha256 FROM attempts WHERE id IN ({','.join(map(str, page.attempt_ids))}) "
        "AND output_sha256 IS NOT NULL")}
    photos = _photos()
    t0 = time.perf_counter()
    made = write_thumbnails(store, shas, photos)
    item_ids = rng.sample(views[0].attempt_ids, min(args.items, len(views[0].attempt_ids)))
    write_item_images(store, item_ids, photos)
    print(f"wrote {made} thumbnails (of {len(shas)} shown) and {len(item_ids)} items' images "
          f"in {time.perf_counter() - t0:.1f} s")

    # Server side: a grid page, and an item (cold heat-map = first open ever, warm = cached map).
    cold, warm = [], []
    for attempt_id in item_ids:
        detail = load_item(store, attempt_id)
        heatmap_path(store, detail.input_sha256, detail.output_sha256).unlink(missing_ok=True)  # cold = first open
        for sink in (cold, warm):
            t0 = time.perf_counter()
            detail = load_item(store, attempt_id)
            ensure_heatmap(store, detail.input_sha256, detail.output_sha256)
            sink.append(ms(time.perf_counter() - t0))
        # The browser opens each item for the first time too (heat-map made on the spot), as a curator would.
        heatmap_path(store, detail.input_sha256, detail.output_sha256).unlink(missing_ok=True)
    other = rng.sample(range(1, counts["attempts"] + 1), 200)
    load_only = []
    for attempt_id in other:
        t0 = time.perf_counter()
        load_item(store, attempt_id)
        load_only.append(ms(time.perf_counter() - t0))

    # Policy live counts: the Policy tab's slider event calls policy_counts on the process-wide LiveMirror.
    from picobanana.curation.tuning import DEFAULT_MARGIN, Draft, live_mirror, policy_counts
    from picobanana.store import active_policy

    t0 = time.perf_counter()
    active = active_policy(store)
    policy_counts(live_mirror(work), active, margin=DEFAULT_MARGIN)
    policy_open = time.perf_counter() - t0
    draft, policy_ms, moves = Draft.from_policy(active), [], []
    for _ in range(args.changes):
        scope = None if rng.random() < 0.6 else rng.choice(CATEGORIES).id
        values = list(draft.sliders(scope))
        which = rng.randrange(5)
        values[which] = round(rng.uniform(0.5, 0.9) if which == 4 else rng.uniform(0.05, 1.0), 2)
        draft = draft.with_sliders(scope, tuple(values))
        moves.append((scope, tuple(values), draft))
        t0 = time.perf_counter()
        policy_counts(live_mirror(work), draft.policy(), margin=DEFAULT_MARGIN)
        policy_ms.append(ms(time.perf_counter() - t0))
    store.close()

    # The browser, against a running studio on the same workspace.
    ctx = StudioContext.from_settings(load_settings(workspace=work, curator="bench"))
    app = serve(ctx, port=free_port(), block=False, quiet=True)
    try:
        url = app.local_url.rstrip("/")
        seen = browser_figures(url, args.pages, [(c.name, v) for c, v in filters], item_ids)
        endpoint_ms = policy_endpoint(url, Draft.from_policy(active), moves, DEFAULT_MARGIN)
        open_endpoint_ms = item_endpoint(url, item_ids)
        noop_ms = noop_endpoint(url)
    finally:
        app.close()

    n = f"{counts['attempts']:,} attempts"
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\n== studio on {n} (headless Chromium, {os.cpu_count()} cores, load average {load}) ==")
    print(f"floor: a no-op event's round trip through Gradio (/whoami, gradio_client): {summary(noop_ms)}")
    print(f"grid page, server (browse_page, 48 cells incl. thumbnail lookup): {summary(server_page)}")
    print(f"grid 'next page' click → 48 thumbnails shown: {summary(seen['next'])} "
          f"[target ≤ {TARGET_GRID_MS} ms]")
    print(f"grid 'search' with category + verdict filters → thumbnails shown: {summary(seen['filter'])} "
          f"[target ≤ {TARGET_GRID_MS} ms]")
    print(f"  images per measured page: min {min(seen['images'])}, max {max(seen['images'])}; the new grid's "
          f"HTML (before its images load) appeared after {summary(seen['grid_html'])}")
    print(f"open an item, server (load_item + heat-map): cold {summary(cold)}; warm {summary(warm)} "
          f"[target ≤ {TARGET_ITEM_MS} ms]")
    print(f"  load_item alone, 200 random attempts: {summary(load_only)}")
    print(f"  through the /open_item endpoint (heat-map cached; HTTP + queue + callback + postprocessing): "
          f"{summary(open_endpoint_ms)}")
    print(f"open an item (first time: heat-map made), browser click → item view with both images: "
          f"{summary(seen['item'])} "
          f"[target ≤ {TARGET_ITEM_MS} ms]")
    print(f"  click → the item's header shown (before its images finish loading): {summary(seen['item_text'])}")
    print(f"policy live counts per slider change, server (policy_counts): {summary(policy_ms)} "
          f"[target ≤ {TARGET_POLICY_MS} ms]; mirror opened + first counts in {policy_open:.1f} s")
    print(f"  through the /policy_counts endpoint (HTTP + queue + formatting): {summary(endpoint_ms)}")


if __name__ == "__main__":
    main()
