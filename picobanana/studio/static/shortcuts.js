// Studio keyboard shortcuts (the convention every tab follows):
// K / F / S / ← / → click the visible button with class pb-key-k / pb-key-f / pb-key-s / pb-key-left /
// pb-key-right; Esc clicks pb-key-escape (or closes the help); ? shows or hides the help (#pb-help).
// Keys typed into a text field, a select or an editable element are left alone.
(() => {
  if (window.pbShortcutsInstalled) return;
  window.pbShortcutsInstalled = true;

  const KEYS = {
    k: "pb-key-k", f: "pb-key-f", s: "pb-key-s",
    ArrowLeft: "pb-key-left", ArrowRight: "pb-key-right", Escape: "pb-key-escape",
  };
  const HELP = [
    ["K", "keep the open item"], ["F", "fail the open item"], ["S", "skip: no decision, next item"],
    ["←", "previous item"], ["→", "next item"], ["Esc", "back / close this help"], ["?", "show or hide this help"],
  ];

  const isTyping = (el) => !!el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));
  const isVisible = (el) => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== "hidden";

  function buttonFor(cls) {
    for (const el of document.querySelectorAll("." + cls)) {
      const button = el.tagName === "BUTTON" ? el : el.querySelector("button");
      if (button && !button.disabled && isVisible(button)) return button;
    }
    return null;
  }

  function helpElement() {
    let help = document.getElementById("pb-help");
    if (help) return help;
    help = document.createElement("div");
    help.id = "pb-help";
    help.setAttribute("role", "dialog");
    help.setAttribute("aria-label", "Keyboard shortcuts");
    help.hidden = true;
    const rows = HELP.map(([key, what]) => `<tr><td><kbd>${key}</kbd></td><td>${what}</td></tr>`).join("");
    help.innerHTML = `<div class="pb-help-box"><h3>Keyboard shortcuts</h3><table>${rows}</table>` +
      `<p>Keys work when no text field has the focus. The buttons show their key, e.g. “Keep (K)”.</p></div>`;
    help.addEventListener("click", () => { help.hidden = true; });
    document.body.appendChild(help);
    return help;
  }

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || event.isComposing) return;
    if (isTyping(event.target) || isTyping(document.activeElement)) return;
    if (event.key === "?") {
      const help = helpElement();
      help.hidden = !help.hidden;
      event.preventDefault();
      return;
    }
    const help = document.getElementById("pb-help");
    if (event.key === "Escape" && help && !help.hidden) {
      help.hidden = true;
      event.preventDefault();
      return;
    }
    const key = event.key.length === 1 ? event.key.toLowerCase() : event.key;
    const cls = KEYS[key];
    if (!cls) return;
    const button = buttonFor(cls);
    if (!button) return;
    event.preventDefault();
    button.click();
  });

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", helpElement);
  else helpElement();
})();
