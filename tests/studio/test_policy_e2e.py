"""The Policy tab in a real Chromium: move the threshold with the keyboard and see the keep count change;
save a policy, see what activating it would change, activate it."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from picobanana.store import Store, active_policy

KEEP = re.compile(r"keep ([\d,]+) \(")


def _keep(page) -> int:
    text = page.locator("#policy-summary").inner_text()
    found = KEEP.search(text)
    assert found, text
    return int(found.group(1).replace(",", ""))


def test_threshold_slider_updates_counts_then_save_and_activate(studio, page, studio_ctx):
    page.goto(studio)
    page.get_by_role("tab", name="Policy").click()
    summary = page.locator("#policy-summary")
    expect(summary).to_contain_text("Under this draft", timeout=30_000)
    expect(summary).to_contain_text("paper@1")
    before = _keep(page)
    assert before > 0

    threshold = page.locator("#policy-threshold input[type=range]")
    threshold.focus()
    page.keyboard.press("End")  # a keyboard move fires the slider's input event, like a drag
    expect(summary).not_to_contain_text(f"keep {before:,} (", timeout=15_000)
    assert _keep(page) < before
    expect(summary).to_contain_text(f"keep 0 ({-before:+,})")
    expect(page.locator("#policy-counts")).to_contain_text("All categories")
    # the slider moved by keyboard has a value of 1 and the draft holds it
    expect(page.locator("#policy-threshold input[type=number]")).to_have_value("1")

    page.locator("#policy-name textarea, #policy-name input").first.fill("e2e-strict")
    page.locator("#policy-save").click()
    expect(page.locator("#policy-save-message")).to_contain_text("Saved e2e-strict@1", timeout=15_000)
    # Saving selects the new policy, which shows what activating it would change before anything is done.
    preview = page.locator("#policy-preview")
    expect(preview).to_contain_text("Activating e2e-strict@1 instead of paper@1", timeout=15_000)
    expect(preview).to_contain_text(f"{before:,} keep → fail")
    with Store.open(studio_ctx.workspace) as store:
        assert active_policy(store).name == "paper"

    page.locator("#policy-activate").click()
    expect(page.locator("#policy-activate-message")).to_contain_text("e2e-strict@1 is now the active policy",
                                                                     timeout=15_000)
    expect(summary).to_contain_text("Against the active policy e2e-strict@1", timeout=15_000)
    expect(preview).to_contain_text("e2e-strict@1 is the active policy")
    with Store.open(studio_ctx.workspace) as store:
        active = active_policy(store)
        assert (active.name, active.version, active.threshold) == ("e2e-strict", 1, 1.0)
        assert store.scalar("SELECT activated_by FROM policy_activations ORDER BY id DESC LIMIT 1") == "alice"
