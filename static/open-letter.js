// The open letter's sign form: shows only the fields for the type of signatory chosen, and
// names the `name` field for it. Without JavaScript both sets show and the server ignores
// the other type's fields.
(function () {
  "use strict";
  var chooser = document.querySelector("[data-signatory-type]");
  if (!chooser) { return; }
  var form = chooser.closest("form");
  var groups = form.querySelectorAll("[data-for]");
  var nameLabel = form.querySelector('label[for="name"]');

  function update() {
    var checked = form.querySelector('input[name="signatory_type"]:checked');
    var type = checked ? checked.value : "individual";
    for (var i = 0; i < groups.length; i++) {
      groups[i].hidden = groups[i].getAttribute("data-for") !== type;
    }
    if (nameLabel && chooser.hasAttribute("data-name-" + type)) {
      nameLabel.textContent = chooser.getAttribute("data-name-" + type);
    }
  }

  chooser.addEventListener("change", update);
  update();
}());
