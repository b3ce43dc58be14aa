// Small behaviours on top of htmx. No framework, no build step.
"use strict";

(function () {
  // A time says its zone, as the reader's own zone's abbreviation ("17:53:04 CET"); with
  // seconds where the server wrote them.
  const withZone = {
    year: "numeric",
    month: "short",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    timeZoneName: "short",
  };
  const dateTime = new Intl.DateTimeFormat(undefined, withZone);
  const dateTimeSeconds = new Intl.DateTimeFormat(undefined, { ...withZone, second: "2-digit" });

  // The server renders times in its TIME_ZONE, labelled, inside <time datetime="ISO">; show
  // them in the reader's zone, labelled too, and keep the server's text as the title. A
  // schedule's times stay on its own zone's clock (data-keep-zone).
  function localiseTimes(root) {
    for (const el of root.querySelectorAll("time[datetime]:not([data-keep-zone])")) {
      const when = new Date(el.getAttribute("datetime"));
      if (Number.isNaN(when.getTime())) continue;
      el.title = el.title || el.textContent.trim();
      const format = /\d:\d\d:\d\d/.test(el.title) ? dateTimeSeconds : dateTime;
      el.textContent = format.format(when);
    }
  }

  // A running job's duration counts up and its time left counts down, every second, from the
  // value the server rendered (data-seconds) plus the time since this page saw it: the
  // browser's clock need not agree with the server's. Swapped-in parts start from their own.
  const seenAt = new WeakMap();
  function clock(total) {
    const seconds = Math.max(0, Math.round(total));
    const h = Math.floor(seconds / 3600);
    const m = String(Math.floor((seconds % 3600) / 60)).padStart(2, "0");
    const s = String(seconds % 60).padStart(2, "0");
    return h + ":" + m + ":" + s;
  }
  function tick() {
    const now = Date.now();
    for (const el of document.querySelectorAll("[data-ticks]")) {
      if (!seenAt.has(el)) seenAt.set(el, now);
      const since = (now - seenAt.get(el)) / 1000;
      const sign = el.dataset.ticks === "down" ? -1 : 1;
      el.textContent = clock(Number(el.dataset.seconds) + sign * since);
    }
  }

  // A job's page asks for its header again (Retry appears) when a push or a poll says the job
  // has ended, as its live part's data-final tells; the header says which state it shows.
  function followJobEnd(elt) {
    const live = elt.id === "job-live" ? elt : elt.querySelector && elt.querySelector("#job-live");
    const header = document.getElementById("job-header");
    if (!live || !header || !live.dataset.final) return;
    if (live.dataset.final === header.dataset.final) return;
    header.dataset.final = live.dataset.final; // asked once
    htmx.ajax("GET", header.dataset.url, { target: "#job-header", swap: "outerHTML" });
    // What it made: its recordings, looked up in storage once it has ended.
    const outputs = document.getElementById("job-recordings");
    if (outputs && live.dataset.final === "yes" && outputs.hidden) {
      // Shown once it came (showRecordings): a producer following another's show may no
      // longer see the job once it has ended.
      htmx.ajax("GET", outputs.dataset.url, { target: "#job-recordings-body", swap: "outerHTML" });
    }
  }

  function showRecordings() {
    const outputs = document.getElementById("job-recordings");
    if (outputs && outputs.hidden && document.querySelector("#job-recordings-body[data-loaded]")) {
      outputs.hidden = false;
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
  // (to each part's own `every 30s`); when it closes, polling takes over again.
  window.egressLive = false;
  function liveOpened() {
    window.egressLive = true;
    document.body.classList.add("live-connected");
  }
  function liveClosed() {
    window.egressLive = false;
    document.body.classList.remove("live-connected");
  }

  // A polled part says how often it polls without a websocket in data-poll (seconds), and htmx
  // fires its "poll" trigger. (An htmx filter, `every 5s [!window.egressLive]`, would need
  // eval, which the Content-Security-Policy forbids.) A part swapped in anew starts its count.
  const polledAt = new WeakMap();
  function pollUnlessLive() {
    if (window.egressLive) return;
    const now = Date.now();
    for (const part of document.querySelectorAll("[data-poll]")) {
      const since = polledAt.get(part);
      if (since === undefined) {
        polledAt.set(part, now);
      } else if (now - since >= Number(part.dataset.poll) * 1000) {
        polledAt.set(part, now);
        htmx.trigger(part, "poll");
      }
    }
  }

  // A pushed new row (prepended to the list) may be one the page already shows: a job another
  // producer started becomes visible when it starts running. Replace that row in place instead.
  function replaceKnownRows(event) {
    const incoming = event.detail.fragment;
    // Only rows added to the list: not the list swapped whole (a snapshot), nor one row updated.
    const adding = event.detail.target.id === "job-rows" && incoming && incoming.id !== "job-rows";
    if (!adding) return;
    for (const row of incoming.querySelectorAll("tr[id]")) {
      const shown = document.getElementById(row.id);
      if (!shown) continue;
      shown.replaceWith(row);
      htmx.process(row);
      localiseTimes(row);
    }
    if (!incoming.querySelector("tr")) event.detail.shouldSwap = false;
  }

  // The Live page's rooms are swapped in anew on every refresh: keep each Listen form's
  // recording choice (a select the producer may have just changed) across the swap.
  // A choice is also kept as it is made: one made between a swap and its settle (when the
  // restore runs) would otherwise be put back to what the swap replaced.
  const listenChoices = new Map();
  const listenChoice = (select) => `${select.form.elements.room.value} ${select.name}`;
  function keepListenChoices(event) {
    for (const select of event.detail.target.querySelectorAll("form.listen select")) {
      listenChoices.set(listenChoice(select), select.value);
    }
  }
  function keepListenChoice(event) {
    if (event.target.matches("form.listen select")) {
      listenChoices.set(listenChoice(event.target), event.target.value);
    }
  }
  function restoreListenChoices(root) {
    for (const select of root.querySelectorAll("form.listen select")) {
      const chosen = listenChoices.get(listenChoice(select));
      if (chosen !== undefined && select.querySelector(`option[value="${CSS.escape(chosen)}"]`)) {
        select.value = chosen;
      }
    }
  }

  // A room card's Record and Go live open their confirmation in the Live page's dialog (a
  // modal: focus moves into it, Escape closes it); a started egress or Cancel closes it.
  function openLiveDialog(event) {
    // A started egress answers with nothing for the dialog (and the event that closes it).
    if (event.detail.target.id !== "live-dialog-body" || !event.detail.target.children.length) return;
    const dialog = document.getElementById("live-dialog");
    if (!dialog.open) dialog.showModal();
    const first = dialog.querySelector("input:not([type=hidden]), button");
    if (first) first.focus();
  }
  function closeLiveDialog() {
    const dialog = document.getElementById("live-dialog");
    if (dialog && dialog.open) dialog.close();
  }
  function closeDialogOnCancel(event) {
    if (event.target.closest("[data-close-dialog]")) closeLiveDialog();
  }

  // The header's menu is rendered open (it works without script); on a phone it starts folded
  // behind its Menu button, and it opens again when the screen grows past a phone's.
  function foldMenuOnPhones() {
    const menu = document.querySelector(".site-menu");
    if (!menu) return;
    const phone = window.matchMedia("(max-width: 48rem)");
    menu.open = !phone.matches;
    phone.addEventListener("change", function (event) {
      menu.open = !event.matches;
    });
  }

  // A Copy button copies the text of the element its data-copy names; without script it stays
  // hidden and the text is there to select.
  function enableCopyButtons() {
    for (const button of document.querySelectorAll("[data-copy]")) {
      const source = document.getElementById(button.dataset.copy);
      if (!source || !navigator.clipboard) continue;
      const label = button.textContent;
      button.hidden = false;
      button.addEventListener("click", function () {
        navigator.clipboard.writeText(source.textContent).then(function () {
          button.textContent = "Copied";
          setTimeout(function () {
            button.textContent = label;
          }, 2000);
        });
      });
    }
  }

  // A new schedule starts on the reader's own time zone (the server's, without JavaScript).
  function chooseBrowserZone() {
    const select = document.querySelector("[data-browser-zone] select");
    const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (select && zone && select.querySelector(`option[value="${CSS.escape(zone)}"]`)) {
      select.value = zone;
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    foldMenuOnPhones();
    chooseBrowserZone();
    enableCopyButtons();
    localiseTimes(document);
    document.body.addEventListener("htmx:oobBeforeSwap", replaceKnownRows);
    document.body.addEventListener("htmx:wsOpen", liveOpened);
    document.body.addEventListener("htmx:wsClose", liveClosed);
    document.body.addEventListener("htmx:beforeSwap", reloadOnLogin);
    document.body.addEventListener("htmx:beforeSwap", keepListenChoices);
    document.body.addEventListener("change", keepListenChoice);
    document.body.addEventListener("htmx:afterSwap", openLiveDialog);
    document.body.addEventListener("live-dialog-close", closeLiveDialog);
    document.body.addEventListener("click", closeDialogOnCancel);
    // htmx.onLoad runs for every piece of content htmx swaps in.
    htmx.onLoad(localiseTimes);
    htmx.onLoad(restoreListenChoices);
    htmx.onLoad(followJobEnd);
    htmx.onLoad(showRecordings);
    setInterval(pollUnlessLive, 250);
    tick();
    setInterval(tick, 1000);
  });
})();
