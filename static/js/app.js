// LeadLoop: small progressive enhancements. Every page works without this file.
(function () {
  "use strict";

  // <select data-autosubmit> submits its form on change (page size, quick filters).
  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.matches && target.matches("[data-autosubmit]") && target.form) {
      target.form.submit();
    }
  });

  // Dismiss a message.
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-dismiss]") : null;
    if (button && button.parentElement) {
      button.parentElement.remove();
    }
  });

  // Buttons with data-confirm ask before submitting (closing steps).
  document.addEventListener("submit", function (event) {
    var submitter = event.submitter;
    var text = submitter && submitter.getAttribute("data-confirm");
    if (text && !window.confirm(text)) {
      event.preventDefault();
    }
  });

  // Open the action panel named in the URL hash (e.g. after an error on that form).
  if (window.location.hash) {
    var panel = document.getElementById(window.location.hash.slice(1));
    if (panel && panel.tagName === "DETAILS") {
      panel.open = true;
    }
  }
})();
