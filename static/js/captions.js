// Live captions on an audio session's page: pushed lines (htmx oob, appended to the list)
// replace the partial line they end, and the list follows the newest line unless the reader
// scrolled up to read.
"use strict";

(function () {
  const NEAR_BOTTOM = 24; // px: closer than this to the end counts as following

  function settle(list, item) {
    const replaces = item.dataset.replaces;
    if (replaces) {
      for (const old of list.querySelectorAll(`[data-line="${CSS.escape(replaces)}"]`)) old.remove();
    }
    const line = item.dataset.line;
    if (!line) {
      item.remove(); // nothing was said after all: only the partial goes
      return;
    }
    for (const old of list.querySelectorAll(`[data-line="${CSS.escape(line)}"]`)) {
      if (old !== item) old.remove();
    }
  }

  function follow(list) {
    let following = true;
    list.addEventListener("scroll", function () {
      following = list.scrollHeight - list.scrollTop - list.clientHeight < NEAR_BOTTOM;
    });
    new MutationObserver(function (changes) {
      for (const change of changes) {
        for (const node of change.addedNodes) {
          if (node.nodeType === Node.ELEMENT_NODE && node.matches("li.caption")) settle(list, node);
        }
      }
      const empty = document.querySelector(".captions-empty");
      if (empty && list.children.length) empty.remove();
      if (following) list.scrollTop = list.scrollHeight;
    }).observe(list, { childList: true });
    list.scrollTop = list.scrollHeight;
  }

  document.addEventListener("DOMContentLoaded", function () {
    const list = document.getElementById("captions-list");
    if (list) follow(list);
  });
})();
