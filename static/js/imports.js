// LeadLoop imports: refuse a too-large file before uploading it, and follow a running job.
// Progressive enhancement only: both pages work without this file.
(function () {
  "use strict";

  // Upload page: <input type="file" data-max-bytes="…" data-too-large="message">.
  var uploadForm = document.querySelector("[data-upload-form]");
  if (uploadForm) {
    var input = uploadForm.querySelector("input[type=file][data-max-bytes]");
    var box = uploadForm.querySelector("[data-size-error]");
    var tooLarge = function () {
      var limit = parseInt(input.getAttribute("data-max-bytes"), 10);
      var file = input.files && input.files[0];
      return Boolean(file && limit && file.size > limit);
    };
    var show = function () {
      if (!box) {
        return;
      }
      box.textContent = input.getAttribute("data-too-large") || "";
      box.hidden = !tooLarge();
    };
    if (input) {
      input.addEventListener("change", show);
      uploadForm.addEventListener("submit", function (event) {
        if (tooLarge()) {
          event.preventDefault();
          show();
        }
      });
    }
  }

  // Job page: poll the API every 2 s until the job is done or failed, then reload once so
  // the server renders the final counters and the error table.
  var panel = document.querySelector("[data-import-job]");
  if (!panel || panel.getAttribute("data-finished") === "1" || !window.fetch) {
    return;
  }
  var url = panel.getAttribute("data-poll-url");
  var INTERVAL = 2000;
  var failures = 0;

  function setText(selector, value) {
    var node = panel.querySelector(selector);
    if (node) {
      node.textContent = value;
    }
  }

  function render(job) {
    var percent = 0;
    if (job.status === "done") {
      percent = 100;
    } else if (job.total) {
      percent = Math.min(100, Math.floor((job.processed * 100) / job.total));
    }
    var bar = panel.querySelector("[data-job-bar]");
    if (bar) {
      bar.style.width = percent + "%";
      bar.className = "import-fill import-" + job.status + (job.status === "running" || job.status === "pending" ? " running" : "");
      bar.parentElement.setAttribute("aria-valuenow", String(percent));
    }
    setText("[data-job-percent]", String(percent));
    setText("[data-job-processed]", String(job.processed));
    setText("[data-job-total]", job.total === null ? "…" : String(job.total));
    setText("[data-job-created]", String(job.created));
    setText("[data-job-duplicates]", String(job.duplicates));
    setText("[data-job-failed]", String(job.failed));
    var label = panel.getAttribute("data-label-" + job.status) || job.status;
    setText("[data-job-status-text]", label);
    document.querySelectorAll("[data-job-status]").forEach(function (badge) {
      badge.textContent = label;
      badge.className = "badge import-status import-" + job.status;
    });
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
          window.location.reload();
          return;
        }
        window.setTimeout(poll, INTERVAL);
      })
      .catch(function () {
        failures += 1;
        if (failures >= 5) {
          var note = panel.querySelector("[data-job-running-note]");
          if (note) {
            note.textContent = panel.getAttribute("data-poll-error");
          }
          return;
        }
        window.setTimeout(poll, INTERVAL * failures);
      });
  }

  window.setTimeout(poll, INTERVAL);
})();
