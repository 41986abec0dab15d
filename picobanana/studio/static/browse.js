// Browse grid: a click on a cell (or Enter on a focused one) opens that attempt in the item view. The grid is plain HTML (gr.HTML), so
// the click is handed to Gradio through a hidden text box (#pb-open-target) and button (#pb-open-btn),
// whose event is the /open_item endpoint.
(() => {
  if (window.pbBrowseInstalled) return;
  window.pbBrowseInstalled = true;

  function open(event) {
    const cell = event.target.closest && event.target.closest(".pb-cell[data-attempt]");
    if (!cell) return;
    if (event.type === "keydown" && event.key !== "Enter") return;
    const box = document.querySelector("#pb-open-target textarea, #pb-open-target input");
    const button = document.querySelector("button#pb-open-btn, #pb-open-btn button");
    if (!box || !button) return;
    box.value = cell.dataset.attempt;
    box.dispatchEvent(new Event("input", { bubbles: true }));
    // Let Gradio take the new value before the click reads it.
    setTimeout(() => button.click(), 0);
  }

  document.addEventListener("click", open);
  document.addEventListener("keydown", open);  // a focused cell opens with Enter
})();
