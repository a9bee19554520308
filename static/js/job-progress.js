// LeadLoop: follow a background job (an import, a report computation) on its page.
// The panel carries data-poll-url, data-finished, data-poll-error and data-label-<status>;
// the page's own script says how to read the job and what to do when it ends.
// Progressive enhancement: every job page works without JavaScript.
(function () {
  "use strict";

  function follow(panel, options) {
    if (!panel || panel.getAttribute("data-finished") === "1" || !window.fetch) {
      return;
    }
    var url = panel.getAttribute("data-poll-url");
    var interval = options.interval || 2000;
    var failures = 0;

    function setText(selector, value) {
      var node = panel.querySelector(selector);
      if (node) {
        node.textContent = value;
      }
    }

    function render(job) {
      var percent = options.percent(job);
      var bar = panel.querySelector("[data-job-bar]");
      if (bar) {
        var moving = job.status === "running" || job.status === "pending";
        bar.style.width = percent + "%";
        bar.className = "import-fill import-" + job.status + (moving ? " running" : "");
        bar.parentElement.setAttribute("aria-valuenow", String(percent));
      }
      setText("[data-job-percent]", String(percent));
      setText("[data-job-processed]", String(job.processed));
      setText("[data-job-total]", job.total === null ? "…" : String(job.total));
      var label = panel.getAttribute("data-label-" + job.status) || job.status;
      setText("[data-job-status-text]", label);
      if (options.render) {
        options.render(job, label, setText);
      }
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
            options.ended(job);
            return;
          }
          window.setTimeout(poll, interval);
        })
        .catch(function () {
          failures += 1;
          if (failures >= 5) {
            setText("[data-job-running-note]", panel.getAttribute("data-poll-error"));
            return;
          }
          window.setTimeout(poll, interval * failures);
        });
    }

    window.setTimeout(poll, interval);
  }

  window.LeadLoopJob = { follow: follow };
})();
