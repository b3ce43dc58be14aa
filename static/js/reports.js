// The Reports page's charts, drawn with the vendored Chart.js from the numbers the page already
// shows in its tables (`json_script` #report-data). Without JS the tables stand alone.
"use strict";

(function () {
  const source = document.getElementById("report-data");
  if (!source || typeof window.Chart === "undefined") return;
  const data = JSON.parse(source.textContent);
  const Chart = window.Chart;
  const style = getComputedStyle(document.documentElement);
  const css = (name, fallback) => style.getPropertyValue(name).trim() || fallback;

  const statusColours = {
    EGRESS_STARTING: css("--notice-border", "#d4a72c"),
    EGRESS_ACTIVE: css("--accent", "#0a5bd3"),
    EGRESS_ENDING: "#54aeff",
    EGRESS_COMPLETE: css("--ok", "#1a7f37"),
    EGRESS_FAILED: css("--danger", "#b42318"),
    EGRESS_ABORTED: css("--focus", "#e36209"),
    EGRESS_LIMIT_REACHED: "#8250df",
    launching: "#8c959f",
    refused: "#6e2c00",
    unknown: css("--muted", "#57606a"),
    launched: "#d0d7de",
  };

  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.color = css("--muted", "#57606a");
  Chart.defaults.maintainAspectRatio = false;
  if (window.matchMedia("(prefers-reduced-motion: reduce)").matches) {
    Chart.defaults.animation = false;
  }

  function draw(id, config) {
    const figure = document.getElementById(id);
    if (!figure) return;
    figure.hidden = false;
    new Chart(figure.querySelector("canvas"), config);
  }

  const counted = { beginAtZero: true, ticks: { precision: 0 } };

  draw("chart-jobs", {
    type: "bar",
    data: {
      labels: data.days,
      datasets: data.statuses.map((status) => ({
        label: status.label,
        data: status.counts,
        backgroundColor: statusColours[status.key] || "#8c959f",
      })),
    },
    options: {
      scales: { x: { stacked: true }, y: { ...counted, stacked: true } },
      plugins: { tooltip: { mode: "index" } },
    },
  });

  draw("chart-minutes", {
    type: "bar",
    data: {
      labels: data.kinds,
      datasets: [
        { label: "Minutes recorded", data: data.recorded, backgroundColor: css("--ok", "#1a7f37") },
        { label: "Minutes streamed", data: data.streamed, backgroundColor: css("--accent", "#0a5bd3") },
      ],
    },
    options: { indexAxis: "y", scales: { x: { beginAtZero: true } } },
  });

  draw("chart-failures", {
    type: "line",
    data: {
      labels: data.days,
      datasets: [
        {
          label: "Failure rate (%)",
          data: data.failureRate,
          borderColor: css("--danger", "#b42318"),
          backgroundColor: css("--danger", "#b42318"),
          spanGaps: false, // a day with no finished job has no rate, not 0 %
        },
      ],
    },
    options: {
      scales: { y: { min: 0, max: 100, ticks: { callback: (value) => `${value} %` } } },
      plugins: { legend: { display: false } },
    },
  });
})();
