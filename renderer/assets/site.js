// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";
  // A lead form is sent once: the button is disabled while the browser posts.
  document.querySelectorAll("form[action='/_cms/leads']").forEach(function (form) {
    form.addEventListener("submit", function () {
      var button = form.querySelector("button[type=submit]");
      if (button) {
        button.disabled = true;
        button.setAttribute("aria-busy", "true");
      }
    });
  });
})();
