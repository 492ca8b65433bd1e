// The case page's knowledge-base panel: "Insert its reply" asks the server to fill the
// article's reply template in for this case (knowledge.views.article_fill, JSON), then puts the
// text into the message box and names the article in the form's hidden "source" field, so the
// entry's timeline says which article it was written from. Into an empty box it goes as a
// message: "Send to the customer" is ticked. Into a box the agent was already writing in (an
// internal note, perhaps) it is added where the cursor is, replacing nothing, and whether it
// goes to the customer stays as the agent set it: the status line says which it is. The agent
// reads and edits it before sending with the form's own button. Without this script the
// button is a link to a page with the filled-in text to copy.
(function () {
  "use strict";

  function noteForm() {
    var body = document.querySelector("#conversation form [name=body]");
    return body ? body.form : null;
  }

  // Puts the text in; true when the box was empty (the text is the whole message).
  function insert(form, data) {
    var body = form.elements.body;
    var current = body.value;
    var empty = !current.trim();
    if (empty) {
      body.value = data.text;
    } else {
      var at = typeof body.selectionEnd === "number" ? body.selectionEnd : current.length;
      var before = current.slice(0, at).replace(/\s*$/, "");
      var after = current.slice(at).replace(/^\s*/, "");
      body.value = (before ? before + "\n\n" : "") + data.text + (after ? "\n\n" + after : "");
    }
    // Room for the whole text, up to a screenful.
    body.rows = Math.max(body.rows, Math.min(14, body.value.split("\n").length + 2));
    if (form.elements.source) form.elements.source.value = data.source;
    var visible = form.elements.customer_visible;
    if (empty && visible) visible.checked = true;
    body.focus();
    return empty;
  }

  function said(panel, form, data, empty) {
    if (empty) return data.notice;
    var visible = form.elements.customer_visible;
    var kept = visible && visible.checked ? "data-kb-kept-customer" : "data-kb-kept-internal";
    return data.notice + " " + panel.getAttribute(kept);
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
        var empty = insert(form, data);
        if (status) status.textContent = said(panel, form, data, empty);
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
