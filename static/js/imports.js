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
  if (!panel || !window.LeadLoopJob) {
    return;
  }
  window.LeadLoopJob.follow(panel, {
    interval: 2000,
    percent: function (job) {
      if (job.status === "done") {
        return 100;
      }
      return job.total ? Math.min(100, Math.floor((job.processed * 100) / job.total)) : 0;
    },
    render: function (job, label, setText) {
      setText("[data-job-created]", String(job.created));
      setText("[data-job-duplicates]", String(job.duplicates));
      setText("[data-job-conflicts]", String(job.conflicts));
      setText("[data-job-failed]", String(job.failed));
      document.querySelectorAll("[data-job-status]").forEach(function (badge) {
        badge.textContent = label;
        badge.className = "badge import-status import-" + job.status;
      });
    },
    ended: function () {
      window.location.reload();
    },
  });
})();
