// The worksheet builder, enhanced: reorder the chosen questions in place with the up/down
// buttons, Alt+ArrowUp / Alt+ArrowDown on a focused question, or drag and drop. The order
// is the order of the hidden "q" inputs, so the next button the teacher presses (preview,
// create, add...) posts it. Without this script every button posts the form instead.
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  const list = document.querySelector("[data-testid=selected-questions]");
  if (!list) { return; }
  const live = document.getElementById("builder-live");

  function items() { return Array.from(list.querySelectorAll("li.selected-item")); }

  function refresh(moved) {
    const all = items();
    all.forEach(function (li, i) {
      const number = li.querySelector(".item-number");
      if (number) { number.textContent = (i + 1) + "."; }
      const up = li.querySelector("[data-move=up]");
      const down = li.querySelector("[data-move=down]");
      if (up) { up.disabled = i === 0; }
      if (down) { down.disabled = i === all.length - 1; }
    });
    const stale = document.querySelector("[data-testid=preview-stale]");
    if (stale) { stale.hidden = false; }
    if (moved && live && live.dataset.moved) {
      live.textContent = live.dataset.moved.replace("{number}", String(all.indexOf(moved) + 1));
    }
  }

  function move(li, direction) {
    if (direction === "up" && li.previousElementSibling) {
      list.insertBefore(li, li.previousElementSibling);
    } else if (direction === "down" && li.nextElementSibling) {
      list.insertBefore(li.nextElementSibling, li);
    } else {
      return false;
    }
    refresh(li);
    return true;
  }

  list.addEventListener("click", function (event) {
    const button = event.target.closest("button[data-move]");
    if (!button) { return; }
    event.preventDefault();
    const li = button.closest("li.selected-item");
    move(li, button.dataset.move);
    button.disabled ? li.focus() : button.focus();
  });

  list.addEventListener("keydown", function (event) {
    if (!event.altKey || (event.key !== "ArrowUp" && event.key !== "ArrowDown")) { return; }
    const li = event.target.closest("li.selected-item");
    if (!li) { return; }
    event.preventDefault();
    move(li, event.key === "ArrowUp" ? "up" : "down");
    li.focus();
  });

  let dragged = null;
  list.addEventListener("dragstart", function (event) {
    dragged = event.target.closest("li.selected-item");
    if (!dragged) { return; }
    dragged.classList.add("dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", dragged.dataset.questionId);
  });
  list.addEventListener("dragover", function (event) {
    const over = event.target.closest("li.selected-item");
    if (!dragged || !over || over === dragged) { return; }
    event.preventDefault();
    const box = over.getBoundingClientRect();
    const after = event.clientY > box.top + box.height / 2;
    list.insertBefore(dragged, after ? over.nextElementSibling : over);
  });
  list.addEventListener("drop", function (event) { if (dragged) { event.preventDefault(); } });
  list.addEventListener("dragend", function () {
    if (!dragged) { return; }
    dragged.classList.remove("dragging");
    refresh(dragged);
    dragged = null;
  });
})();
