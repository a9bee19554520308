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

  // ---- pickers that search the server -------------------------------------------------
  // <select data-lookup="URL" data-lookup-box="ID"> (pipeline.widgets.SearchSelect): the
  // page renders only the blank and the chosen option; as the person types in the search
  // box ID, the options become the answer of URL?q=… ({"results": [{"id", "name"}]}).
  // Without this script the box is submitted with the form and the server offers the
  // matches instead (a form that saves comes back with them rather than saving); with it
  // the box loses its name, so it is never sent. The URL may carry a query (?scope=…).
  function enhanceLookup(select) {
    var box = document.getElementById(select.getAttribute("data-lookup-box"));
    if (!box || select.hasAttribute("data-lookup-ready")) {
      return;
    }
    select.setAttribute("data-lookup-ready", "");
    box.removeAttribute("name");
    var url = select.getAttribute("data-lookup");
    url += url.indexOf("?") < 0 ? "?" : "&";
    var timer = null;
    var asked = 0;
    function show(results) {
      Array.prototype.slice.call(select.options).forEach(function (option) {
        if ((option.value && !option.selected) || option.hasAttribute("data-lookup-none")) {
          option.remove();
        }
      });
      var shown = {};
      Array.prototype.forEach.call(select.options, function (option) {
        shown[option.value] = true;
      });
      results.forEach(function (row) {
        var value = String(row.id);
        if (!shown[value]) {
          select.appendChild(new Option(row.name, value));
        }
      });
      if (!results.length && select.getAttribute("data-lookup-empty")) {
        var none = new Option(select.getAttribute("data-lookup-empty"), "");
        none.disabled = true;
        none.setAttribute("data-lookup-none", "");
        select.appendChild(none);
      }
    }
    function ask() {
      var number = ++asked;
      var text = box.value.trim();
      window.fetch(url + "q=" + encodeURIComponent(text), {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      }).then(function (response) {
        return response.ok ? response.json() : { results: [] };
      }).then(function (data) {
        if (number === asked) {
          show(data.results || []);
        }
      }).catch(function () {});
    }
    box.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(ask, 200);
    });
    box.addEventListener("keydown", function (event) {
      if (event.key !== "Enter") {
        return;
      }
      event.preventDefault();
      var first = Array.prototype.filter.call(select.options, function (option) {
        return option.value && !option.selected;
      })[0];
      if (first) {
        select.value = first.value;
        select.dispatchEvent(new Event("change", { bubbles: true }));
      }
    });
  }
  if (window.fetch) {
    Array.prototype.forEach.call(document.querySelectorAll("select[data-lookup]"), enhanceLookup);
  }

  // ---- the menu on small screens ----------------------------------------------------
  // Under the breakpoint the menu folds behind a button with aria-expanded (base.html);
  // without this script the button stays hidden and the menu stays open.
  var navToggle = document.querySelector("[data-nav-toggle]");
  var navMenu = navToggle && document.getElementById(navToggle.getAttribute("aria-controls"));
  if (navToggle && navMenu) {
    document.documentElement.classList.add("js-nav");
    navToggle.hidden = false;
    var setMenu = function (open) {
      navToggle.setAttribute("aria-expanded", String(open));
      navMenu.classList.toggle("is-open", open);
    };
    navToggle.addEventListener("click", function () {
      setMenu(navToggle.getAttribute("aria-expanded") !== "true");
    });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && navToggle.getAttribute("aria-expanded") === "true") {
        setMenu(false);
        navToggle.focus();
      }
    });
  }

  // ---- one-tap copy (WeChat ids) ----------------------------------------------------
  // <button data-copy="text" data-copied-label data-failed-label>: the Clipboard API where
  // the page is a secure context, else a hidden text area and execCommand; if both fail the
  // text is selected so the person can copy it by hand. The button shows the outcome.
  function copyFallback(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "copy-buffer";
    document.body.appendChild(area);
    area.select();
    var ok = false;
    try {
      ok = document.execCommand("copy");
    } catch (error) {
      ok = false;
    }
    area.remove();
    return ok;
  }
  function copyShow(button, ok) {
    var label = button.getAttribute(ok ? "data-copied-label" : "data-failed-label") || "";
    if (!button.hasAttribute("data-label")) {
      button.setAttribute("data-label", button.textContent);
    }
    button.textContent = label;
    button.classList.toggle("is-copied", ok);
    button.classList.toggle("is-failed", !ok);
    var status = button.parentElement && button.parentElement.querySelector(".copy-status");
    if (status) {
      status.textContent = label;
    }
    if (!ok) {
      var id = button.parentElement && button.parentElement.querySelector(".wechat-id");
      if (id && window.getSelection) {
        var range = document.createRange();
        range.selectNodeContents(id);
        window.getSelection().removeAllRanges();
        window.getSelection().addRange(range);
      }
    }
    window.clearTimeout(button._copyTimer);
    button._copyTimer = window.setTimeout(function () {
      button.textContent = button.getAttribute("data-label");
      button.classList.remove("is-copied", "is-failed");
      if (status) {
        status.textContent = "";
      }
    }, 2500);
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-copy]") : null;
    if (!button) {
      return;
    }
    event.preventDefault();
    var text = button.getAttribute("data-copy");
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(
        function () {
          copyShow(button, true);
        },
        function () {
          copyShow(button, copyFallback(text));
        }
      );
    } else {
      copyShow(button, copyFallback(text));
    }
  });
})();
