// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";
  // A form is sent once: the button is disabled while the browser posts.
  document.querySelectorAll("form[action='/_cms/leads'], form[data-booking]").forEach(function (form) {
    form.addEventListener("submit", function () {
      var button = form.querySelector("button[type=submit]");
      if (button) {
        button.disabled = true;
        button.setAttribute("aria-busy", "true");
      }
    });
  });

  // Booking widget: offer only doctors who provide the chosen service, and
  // the free times of the chosen doctor, service and day.
  document.querySelectorAll("form[data-booking]").forEach(function (form) {
    var service = form.querySelector("select[name=service]");
    var doctor = form.querySelector("select[name=doctor]");
    var date = form.querySelector("input[name=date]");
    var slots = form.querySelector("[data-slots]");
    var today = new Date();
    date.min = today.toISOString().slice(0, 10);
    if (!date.value) {
      var tomorrow = new Date(today.getTime() + 86400000);
      date.value = tomorrow.toISOString().slice(0, 10);
    }

    function message(text) {
      slots.querySelectorAll("p, label").forEach(function (node) { node.remove(); });
      var p = document.createElement("p");
      p.className = "booking__hint";
      p.textContent = text;
      slots.appendChild(p);
    }

    function filterDoctors() {
      var id = service.options[service.selectedIndex].getAttribute("data-id");
      var firstAllowed = null;
      Array.prototype.forEach.call(doctor.options, function (option) {
        var offers = (option.getAttribute("data-services") || "").split(" ").indexOf(id) >= 0;
        option.hidden = !offers;
        option.disabled = !offers;
        if (offers && firstAllowed === null) { firstAllowed = option; }
      });
      if (doctor.selectedOptions.length === 0 || doctor.selectedOptions[0].disabled) {
        if (firstAllowed) { firstAllowed.selected = true; }
      }
    }

    // Answers can arrive out of order when the visitor changes the choice
    // quickly: only the latest request may fill the list.
    var latest = 0;

    function loadSlots() {
      if (!date.value) { return; }
      var ticket = ++latest;
      message("Looking for free times…");
      var query = "doctor=" + encodeURIComponent(doctor.value) +
        "&service=" + encodeURIComponent(service.value) +
        "&date=" + encodeURIComponent(date.value);
      fetch("/_cms/slots?" + query, { headers: { Accept: "application/json" } })
        .then(function (response) { return response.ok ? response.json() : { items: [] }; })
        .then(function (data) {
          if (ticket !== latest) { return; }
          var items = data.items || [];
          if (items.length === 0) {
            message("No free times that day. Please choose another day.");
            return;
          }
          slots.querySelectorAll("p, label").forEach(function (node) { node.remove(); });
          items.forEach(function (slot, index) {
            var label = document.createElement("label");
            label.className = "booking__slot";
            var input = document.createElement("input");
            input.type = "radio";
            input.name = "start";
            input.value = slot.start;
            input.required = true;
            if (index === 0) { input.checked = true; }
            label.appendChild(input);
            label.appendChild(document.createTextNode(" " + slot.start.slice(11, 16)));
            slots.appendChild(label);
          });
        })
        .catch(function () {
          if (ticket === latest) { message("Free times cannot be loaded right now. Please try again."); }
        });
    }

    service.addEventListener("change", function () { filterDoctors(); loadSlots(); });
    doctor.addEventListener("change", loadSlots);
    date.addEventListener("change", loadSlots);
    filterDoctors();
    loadSlots();
  });
})();
