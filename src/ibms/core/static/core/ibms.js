/* ibms page behaviour, served from our static files: the Content-Security-Policy allows no inline script and no
   inline event handler (onclick=…). Templates declare behaviour with data attributes; the listeners are delegated
   from the document, so content that HTMX swaps in later works without binding again.

   data-autosubmit              on a form control: submit its form when the value changes (a filter select)
   data-fill="#id"              on an input: copy its value into the element #id when it is chosen (a picker row)
   data-confirm="text"          on a form: ask before submitting it (an irreversible act: execute, approve)
   data-goto                    on a select: go to the address its chosen option holds (a year picker)
*/
(function () {
  "use strict";

  function fill(el) {
    var target = document.querySelector(el.getAttribute("data-fill"));
    if (target) {
      target.value = el.value;
      target.dispatchEvent(new Event("change", { bubbles: true }));
    }
  }

  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (form instanceof Element && form.hasAttribute("data-confirm") && !window.confirm(form.getAttribute("data-confirm"))) {
      ev.preventDefault();
    }
  });

  document.addEventListener("change", function (ev) {
    var el = ev.target;
    if (!(el instanceof Element)) return;
    if (el.hasAttribute("data-goto") && el.value) window.location.assign(el.value);
    if (el.hasAttribute("data-fill")) fill(el);
    if (el.hasAttribute("data-autosubmit") && el.form) {
      if (el.form.requestSubmit) el.form.requestSubmit(); else el.form.submit();
    }
  });
})();
