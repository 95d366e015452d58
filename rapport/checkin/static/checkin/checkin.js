// Check-in pages: autosave answers to the server-side draft as the client goes, keep the
// "Send" button from being pressed twice, and return a kiosk to its locked screen (after
// sending, or when left idle).
// Everything also works without JavaScript: each "Next" saves the screen.
(function () {
  "use strict";

  function autosave(form) {
    var url = form.getAttribute("data-autosave");
    var status = form.querySelector(".ck-saved");
    var timer = null;
    var pending = false;
    var leaving = false;  // the form itself is being sent: no autosave after that

    function show(ok) {
      if (!status) { return; }
      status.textContent = status.getAttribute(ok ? "data-saved-text" : "data-offline-text");
      status.classList.toggle("ck-offline", !ok);
    }

    function save() {
      timer = null;
      var data = new FormData(form);
      data.delete("action");
      pending = true;
      return fetch(url, {
        method: "POST",
        body: data,
        credentials: "same-origin",
        headers: { "X-Requested-With": "fetch" },
        keepalive: true
      }).then(function (response) {
        pending = false;
        show(response.ok);
      }).catch(function () {
        pending = false;
        show(false);
      });
    }

    function later(delay) {
      if (timer) { clearTimeout(timer); }
      timer = setTimeout(save, delay);
    }

    form.addEventListener("submit", function () {
      leaving = true;
      if (timer) { clearTimeout(timer); }
    });
    form.addEventListener("change", function () { later(150); });
    form.addEventListener("input", function (event) {
      if (event.target.tagName === "TEXTAREA" || event.target.type === "text") { later(800); }
    });
    // Closing the tab or switching apps: save what is there now.
    document.addEventListener("visibilitychange", function () {
      if (!leaving && document.visibilityState === "hidden" && (timer || !pending)) {
        if (timer) { clearTimeout(timer); }
        save();
      }
    });
  }

  function sendOnce(button) {
    var form = button.form;
    form.addEventListener("submit", function (event) {
      if (event.submitter !== button) { return; }
      if (form.getAttribute("data-sent") === "1") { event.preventDefault(); return; }
      form.setAttribute("data-sent", "1");
      button.setAttribute("aria-disabled", "true");
    });
  }

  function kioskReturn(link) {
    var seconds = parseInt(link.getAttribute("data-kiosk-return"), 10);
    if (seconds > 0) {
      setTimeout(function () { window.location.assign(link.href); }, seconds * 1000);
    }
  }

  // A kiosk check-in nobody touches for a while goes to the locked screen, which ends it
  // on the server (draft discarded, link closed): the next person finds nothing.
  function kioskIdle(body) {
    var seconds = parseInt(body.getAttribute("data-kiosk-idle"), 10);
    var target = body.getAttribute("data-kiosk-locked");
    if (!(seconds > 0) || !target) { return; }
    var timer = null;
    function restart() {
      if (timer) { clearTimeout(timer); }
      timer = setTimeout(function () { window.location.assign(target); }, seconds * 1000);
    }
    ["change", "input", "keydown", "pointerdown"].forEach(function (name) {
      document.addEventListener(name, restart, true);
    });
    restart();
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (document.body.hasAttribute("data-kiosk-idle")) { kioskIdle(document.body); }
    Array.prototype.forEach.call(document.querySelectorAll("form[data-autosave]"), autosave);
    Array.prototype.forEach.call(document.querySelectorAll("button[data-once]"), sendOnce);
    Array.prototype.forEach.call(document.querySelectorAll("a[data-kiosk-return]"), kioskReturn);
    var errors = document.getElementById("ck-errors");
    if (errors) { errors.focus(); }
  });
})();
