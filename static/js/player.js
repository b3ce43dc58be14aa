// A job's HLS outputs play in the page through hls.js (vendored): the playlist is the
// dashboard's own (its segments are the dashboard's links, each redirecting to a URL signed
// then). Browsers that play HLS themselves (Safari) are given the playlist directly.
(function () {
  "use strict";

  function attach(root) {
    if (!root || !root.querySelectorAll) return;
    for (const video of root.querySelectorAll("video[data-hls]")) {
      if (video.dataset.attached) continue;
      video.dataset.attached = "yes";
      const url = video.dataset.hls;
      if (window.Hls && window.Hls.isSupported()) {
        // No worker: the Content-Security-Policy allows no blob: scripts.
        const hls = new window.Hls({ enableWorker: false });
        hls.loadSource(url);
        hls.attachMedia(video);
      } else if (video.canPlayType("application/vnd.apple.mpegurl")) {
        video.src = url;
      }
    }
  }

  document.addEventListener("DOMContentLoaded", () => attach(document));
  document.addEventListener("htmx:load", (event) => attach(event.detail.elt));
})();
