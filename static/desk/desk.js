/* Privacy Desk: small progressive enhancements. Everything works without this file. */
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  // Response templates: picking one fills the reply box (texts rendered server-side).
  var data = document.getElementById("template-bodies");
  var select = document.getElementById("template-select");
  var box = document.querySelector("#reply-form textarea");
  if (data && select && box) {
    var bodies = {};
    JSON.parse(data.textContent).forEach(function (c) { bodies[c.key] = c.body; });
    select.addEventListener("change", function () {
      if (!select.value) { return; }
      if (box.value.trim() && !window.confirm(select.dataset.confirm || "Replace the text you typed?")) {
        select.value = ""; return;
      }
      box.value = bodies[select.value] || "";
      box.focus();
    });
  }

  // A conflict or error message is announced and focused so keyboard users land on it.
  var alertBox = document.getElementById("conflict");
  if (alertBox) { alertBox.setAttribute("tabindex", "-1"); alertBox.focus(); }

  // Do not submit a form twice by double-clicking.
  document.querySelectorAll("form[method=post]").forEach(function (form) {
    form.addEventListener("submit", function () {
      setTimeout(function () {
        form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = true; });
      }, 0);
    });
  });
})();
