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

  // ---- filters that apply as you change them ----------------------------------------
  // <form data-auto-apply>: a choice, tick box or date submits the form at once; a text
  // box when you press Enter or leave it. The Apply button stays for pages without JS.
  document.addEventListener("change", function (event) {
    var target = event.target;
    var form = target.form;
    if (!form || !form.hasAttribute || !form.hasAttribute("data-auto-apply")) {
      return;
    }
    if (target.hasAttribute("data-select-filter")) {
      return; // the text box of a searchable picker only narrows its options
    }
    if (form.requestSubmit) {
      form.requestSubmit();
    } else {
      form.submit();
    }
  });
  Array.prototype.forEach.call(document.querySelectorAll("form[data-auto-apply]"), function (form) {
    form.classList.add("auto-apply");
  });

  // ---- searchable pickers -----------------------------------------------------------
  // <select data-searchable>: a text box before it hides the options that do not contain
  // what is typed (case-insensitive); the chosen option and the blank one always stay.
  function enhanceSelect(select) {
    if (select.hasAttribute("data-searchable-ready") || select.multiple) {
      return;
    }
    select.setAttribute("data-searchable-ready", "");
    var box = document.createElement("input");
    box.type = "search";
    box.className = "select-filter input-sm";
    box.setAttribute("data-select-filter", "");
    box.setAttribute("autocomplete", "off");
    var text = document.body.getAttribute("data-filter-text") || "";
    box.setAttribute("aria-label", text);
    box.placeholder = text;
    box.addEventListener("input", function () {
      var text = box.value.trim().toLowerCase();
      Array.prototype.forEach.call(select.options, function (option) {
        var keep = !text || !option.value || option.selected ||
          option.text.toLowerCase().indexOf(text) !== -1;
        option.hidden = !keep;
        option.disabled = !keep && !option.selected;
      });
    });
    box.addEventListener("keydown", function (event) {
      if (event.key === "Enter") {
        event.preventDefault();
        var first = Array.prototype.filter.call(select.options, function (option) {
          return option.value && !option.hidden;
        })[0];
        if (first) {
          select.value = first.value;
          select.dispatchEvent(new Event("change", { bubbles: true }));
        }
      }
    });
    select.parentNode.insertBefore(box, select);
  }
  Array.prototype.forEach.call(document.querySelectorAll("select[data-searchable]"), enhanceSelect);
})();
