// Adds "Copy the link" and, where the browser has it, the system share sheet.
// Without JavaScript the plain share links and the selectable address remain.
(function () {
  "use strict";
  var box = document.querySelector("[data-share]");
  if (!box) { return; }
  var url = box.getAttribute("data-url");
  var copy = box.querySelector("[data-copy]");
  var native = box.querySelector("[data-native-share]");
  var status = box.querySelector("[data-share-status]");

  if (copy && navigator.clipboard && window.isSecureContext) {
    copy.hidden = false;
    copy.addEventListener("click", function () {
      navigator.clipboard.writeText(url).then(function () {
        status.textContent = copy.getAttribute("data-done");
      }, function () {
        var field = document.getElementById("share-url");
        field.focus();
        field.select();
      });
    });
  }
  if (native && navigator.share) {
    native.hidden = false;
    native.addEventListener("click", function () {
      navigator.share({ title: box.getAttribute("data-title"), text: box.getAttribute("data-text"), url: url })
        .catch(function () { /* the signer closed the share sheet */ });
    });
  }
})();
