// Small behaviours on top of htmx. No framework, no build step.
"use strict";

(function () {
  const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });

  // The server renders times in UTC inside <time datetime="ISO">; show them in the reader's zone.
  function localiseTimes(root) {
    for (const el of root.querySelectorAll("time[datetime]")) {
      const when = new Date(el.getAttribute("datetime"));
      if (Number.isNaN(when.getTime())) continue;
      el.title = el.title || el.textContent.trim();
      el.textContent = dateTime.format(when);
    }
  }

  // An expired session turns the fragment's answer into the login page (a followed redirect):
  // reload the whole page instead of swapping a login form into the middle of it.
  function reloadOnLogin(event) {
    const loginUrl = document.body.dataset.loginUrl;
    const answeredBy = new URL(event.detail.xhr.responseURL || location.href, location.href);
    if (loginUrl && answeredBy.pathname === loginUrl) {
      event.detail.shouldSwap = false;
      location.reload();
    }
  }

  // While a live websocket is open, pushes keep the page current and polling slows right down
  // (the polled parts check window.egressLive); when it closes, polling takes over again.
  window.egressLive = false;
  function liveOpened() {
    window.egressLive = true;
    document.body.classList.add("live-connected");
  }
  function liveClosed() {
    window.egressLive = false;
    document.body.classList.remove("live-connected");
  }

  document.addEventListener("DOMContentLoaded", function () {
    localiseTimes(document);
    document.body.addEventListener("htmx:wsOpen", liveOpened);
    document.body.addEventListener("htmx:wsClose", liveClosed);
    document.body.addEventListener("htmx:beforeSwap", reloadOnLogin);
    // htmx.onLoad runs for every piece of content htmx swaps in.
    htmx.onLoad(localiseTimes);
  });
})();
