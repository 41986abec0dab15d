"""The studio starts on a seeded workspace and shows every tab."""

from picobanana.studio.app import TABS


def test_studio_serves_every_tab(studio, page):
    page.goto(studio)
    for _, label, elem_id in TABS:
        page.get_by_role("tab", name=label).wait_for()
    assert page.title() == "picobanana studio"
