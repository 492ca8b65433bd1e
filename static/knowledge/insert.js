// The case page's knowledge-base panel: "Insert its reply" asks the server to fill the
// article's reply template in for this case (knowledge.views.article_fill, JSON), then puts the
// text into the message box — replacing what the agent selected there, or after what they
// wrote — ticks "Send to the customer", and names the article in the form's hidden "source"
// field, so the message's timeline entry says which article it was written from. The agent
// reads and edits it before sending with the form's own button. Without this script the
// button is a link to a page with the filled-in text to copy.
(function () {
  "use strict";

  function noteForm() {
    var body = document.querySelector("#conversation form [name=body]");
    return body ? body.form : null;
  }

  function insert(form, data) {
    var body = form.elements.body;
    var current = body.value;
    var start = body.selectionStart;
    var end = body.selectionEnd;
    if (!current.trim()) {
      body.value = data.text;
    } else if (start !== end) {
      body.value = current.slice(0, start) + data.text + current.slice(end);
    } else {
      body.value = current.replace(/\s*$/, "") + "\n\n" + data.text;
    }
    // Room for the whole text, up to a screenful.
    body.rows = Math.max(body.rows, Math.min(14, body.value.split("\n").length + 2));
    if (form.elements.source) form.elements.source.value = data.source;
    if (form.elements.customer_visible) form.elements.customer_visible.checked = true;
    body.focus();
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-kb-insert]");
    if (!button) return;
    var form = noteForm();
    if (!form) return; // no message form on this page: follow the link
    event.preventDefault();
    var panel = button.closest("[data-kb-panel]");
    var status = panel.querySelector("[data-kb-status]");
    var language = panel.querySelector("[name=template_language]");
    var url = new URL(button.getAttribute("href"), window.location.href);
    if (language) url.searchParams.set("language", language.value);
    button.setAttribute("aria-busy", "true");
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        return response.json();
      })
      .then(function (data) {
        insert(form, data);
        if (status) status.textContent = data.notice;
      })
      .catch(function () {
        if (status) status.textContent = panel.getAttribute("data-kb-error");
      })
      .finally(function () {
        button.removeAttribute("aria-busy");
      });
  });

  // A message box emptied by hand is no longer the article's text.
  document.addEventListener("input", function (event) {
    var form = noteForm();
    if (form && event.target === form.elements.body && !event.target.value.trim()) {
      if (form.elements.source) form.elements.source.value = "";
    }
  });
})();
