// LeadLoop reports: follow a report job (snapshots being computed) and show the report
// when it is done. Progressive enhancement: without this file the page offers a link.
(function () {
  "use strict";

  var panel = document.querySelector("[data-report-job]");
  if (!panel || !window.LeadLoopJob) {
    return;
  }
  window.LeadLoopJob.follow(panel, {
    interval: 1500,
    percent: function (job) {
      return job.percent || 0;
    },
    ended: function () {
      // The page follows this job: it shows the result, or the failure (rather than
      // queueing the same job again).
      window.location.replace(panel.getAttribute("data-done-url") || window.location.href);
    },
  });
})();
