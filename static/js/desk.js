// LeadLoop: the desk, scoring and assignment pages. Progressive enhancement only —
// every form and link works without this file.
(function () {
  "use strict";

  // ---- expandable rows (consult / handle / claim forms under a table row) -------------
  // Without JS the link's #hash opens the row through CSS :target.
  document.addEventListener("click", function (event) {
    var toggle = event.target.closest ? event.target.closest("[data-row-toggle]") : null;
    if (!toggle) {
      return;
    }
    var row = document.getElementById(toggle.getAttribute("data-row-toggle"));
    if (!row) {
      return;
    }
    event.preventDefault();
    var isOpen =
      (row.classList.contains("open") || row.matches(":target")) &&
      !row.classList.contains("closed");
    row.classList.toggle("open", !isOpen);
    row.classList.toggle("closed", isOpen);
    toggle.setAttribute("aria-expanded", String(!isOpen));
    if (!isOpen) {
      var first = row.querySelector("input:not([type=hidden]), select, textarea");
      if (first) {
        first.focus({ preventScroll: true });
      }
    }
  });

  // ---- bulk selection --------------------------------------------------------------
  function boxes(name) {
    return Array.prototype.slice.call(
      document.querySelectorAll('input[type="checkbox"][name="' + name + '"]')
    );
  }

  function updateCount() {
    var counter = document.querySelector("[data-selected-count]");
    if (!counter) {
      return;
    }
    var checked = boxes("lead").filter(function (box) {
      return box.checked;
    }).length;
    if (!counter.hasAttribute("data-empty")) {
      counter.setAttribute("data-empty", counter.textContent);
    }
    counter.textContent = checked
      ? counter.getAttribute("data-template").replace("__n__", String(checked))
      : counter.getAttribute("data-empty");
    counter.classList.toggle("muted", !checked);
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (!target.matches) {
      return;
    }
    if (target.matches("[data-check-all]")) {
      boxes(target.getAttribute("data-check-all")).forEach(function (box) {
        box.checked = target.checked;
      });
      updateCount();
    } else if (target.matches('input[type="checkbox"][name="lead"]')) {
      updateCount();
    }
  });

  // ---- rescore job progress (scoring page) -------------------------------------------
  var job = document.querySelector("[data-rescore-job]");
  if (job && window.fetch) {
    var url = job.getAttribute("data-url");
    var poll = function () {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) {
          return response.ok ? response.json() : null;
        })
        .then(function (data) {
          if (!data) {
            return;
          }
          var total = data.total || 0;
          var processed = data.processed || 0;
          var percent = total ? Math.min(100, Math.round((processed * 100) / total)) : 0;
          if (data.status === "done") {
            percent = 100;
          }
          job.querySelector("[data-job=processed]").textContent = processed;
          job.querySelector("[data-job=total]").textContent = total;
          job.querySelector("[data-job=changed]").textContent = data.changed || 0;
          job.querySelector("[data-job=bar]").style.width = percent + "%";
          var status = job.querySelector("[data-job=status]");
          status.textContent = job.getAttribute("data-label-" + data.status) || data.status;
          status.className = "badge job-status job-" + data.status;
          if (data.status === "pending" || data.status === "running") {
            window.setTimeout(poll, 2000);
          }
        })
        .catch(function () {
          window.setTimeout(poll, 5000);
        });
    };
    var initial = job.getAttribute("data-status");
    if (initial === "pending" || initial === "running") {
      window.setTimeout(poll, 1500);
    }
  }
})();
