// LeadLoop reports: follow a report job (snapshots being computed) and show the report
// when it is done. Progressive enhancement: without this file the page offers a link.
(function () {
  "use strict";

  var panel = document.querySelector("[data-report-job]");
  if (!panel || panel.getAttribute("data-finished") === "1" || !window.fetch) {
    return;
  }
  var url = panel.getAttribute("data-poll-url");
  var doneUrl = panel.getAttribute("data-done-url") || window.location.href;
  var INTERVAL = 1500;
  var failures = 0;

  function setText(selector, value) {
    var node = panel.querySelector(selector);
    if (node) {
      node.textContent = value;
    }
  }

  function render(job) {
    var percent = job.percent || 0;
    var bar = panel.querySelector("[data-job-bar]");
    if (bar) {
      bar.style.width = percent + "%";
      bar.className = "import-fill import-" + job.status + (job.status === "running" || job.status === "pending" ? " running" : "");
      bar.parentElement.setAttribute("aria-valuenow", String(percent));
    }
    setText("[data-job-percent]", String(percent));
    setText("[data-job-processed]", String(job.processed));
    setText("[data-job-total]", String(job.total));
    setText("[data-job-status-text]", panel.getAttribute("data-label-" + job.status) || job.status);
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) {
          throw new Error(String(response.status));
        }
        return response.json();
      })
      .then(function (job) {
        failures = 0;
        render(job);
        if (job.status === "done" || job.status === "failed") {
          // The page follows this job: it shows the result, or the failure (rather than
          // queueing the same job again).
          window.location.replace(doneUrl);
          return;
        }
        window.setTimeout(poll, INTERVAL);
      })
      .catch(function () {
        failures += 1;
        if (failures >= 5) {
          setText("[data-job-running-note]", panel.getAttribute("data-poll-error"));
          return;
        }
        window.setTimeout(poll, INTERVAL * failures);
      });
  }

  window.setTimeout(poll, INTERVAL);
})();
