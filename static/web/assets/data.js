// The import and export page: a person downloads their data in Mastodon's formats (the CSVs of
// follows, lists, blocks, mutes, domain blocks and bookmarks, and the archive of their posts)
// and imports such CSVs, from Mastodon, GoToSocial or another department, watching each import
// until it is done. It speaks the instance's /settings/exports and /settings/imports.

import { api, session } from "./api.js";
import { h, announce, showError, plural, act } from "./dom.js";

const EXPORTS = [
  { file: "follows.csv", label: "Follows" },
  { file: "lists.csv", label: "Lists" },
  { file: "blocks.csv", label: "Blocks" },
  { file: "mutes.csv", label: "Mutes" },
  { file: "domain_blocks.csv", label: "Blocked domains" },
  { file: "bookmarks.csv", label: "Bookmarks" },
  { file: "archive.zip", label: "Archive of your posts" },
];

// IMPORTS are Mastodon's import types; overwrite undoes what the file does not name, which
// Mastodon does not offer for lists.
const IMPORTS = [
  { type: "following", label: "Follows" },
  { type: "lists", label: "Lists", mergeOnly: true },
  { type: "blocking", label: "Blocks" },
  { type: "muting", label: "Mutes" },
  { type: "domain_blocking", label: "Blocked domains" },
  { type: "bookmarks", label: "Bookmarks" },
];

// IMPORT_POLL is how often a running import's progress is read.
const IMPORT_POLL = 1000;

// download fetches an export with the session's token (the exports take no cookie) and hands
// it to the browser as a file of its own name.
async function download(file) {
  const { data } = await api("/settings/exports/" + file, { blob: true });
  const url = URL.createObjectURL(data);
  const a = h("a", { href: url, download: file, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  // The click has handed the blob to the download by now; the URL is only needed for it.
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}

function exportsSection() {
  const list = h("ul", { class: "admin-list exports" }, EXPORTS.map((e) => {
    const button = h("button", { type: "button", class: "button small", "data-export": e.file, "aria-label": `Download ${e.label.toLowerCase()} (${e.file})` }, "Download");
    button.addEventListener("click", () => act(button, async () => {
      await download(e.file);
      announce(`${e.file} downloaded`);
    }));
    return h("li", {}, h("span", { class: "admin-item" }, h("strong", {}, e.label), " ", h("span", { class: "file-name" }, e.file)), button);
  }));
  return h("section", { class: "panel admin-section", id: "data-export", "aria-labelledby": "data-export-h" },
    h("h2", { id: "data-export-h" }, "Export"),
    h("p", {}, "Your data in Mastodon's formats, to keep or to import on another department or server."),
    list);
}

function progressText(imp) {
  const done = imp.state === "finished";
  const counts = `${imp.processed_items} of ${imp.total_items} ${plural(imp.total_items, "row", "rows")}`;
  const failed = imp.failed_items ? `, ${imp.failed_items} could not be imported` : "";
  return done ? `Done: ${imp.imported_items} imported${failed}.` : `Importing: ${counts} done${failed}.`;
}

// follow shows an import's progress in row until it is finished.
async function follow(imp, row) {
  const status = row.querySelector(".import-progress");
  const meter = row.querySelector("progress");
  for (;;) {
    status.textContent = progressText(imp);
    meter.max = Math.max(imp.total_items, 1);
    meter.value = imp.processed_items;
    row.dataset.state = imp.state;
    if (imp.state === "finished") {
      announce(progressText(imp));
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, IMPORT_POLL));
    if (!row.isConnected) return; // the person left the page
    ({ data: imp } = await api("/settings/imports/" + encodeURIComponent(imp.id)));
  }
}

function importsSection() {
  const type = h("select", { id: "import-type", name: "type" }, IMPORTS.map((i) => h("option", { value: i.type }, i.label)));
  const merge = h("input", { type: "radio", name: "mode", value: "merge", id: "import-merge", checked: true });
  const overwrite = h("input", { type: "radio", name: "mode", value: "overwrite", id: "import-overwrite" });
  const file = h("input", { type: "file", id: "import-file", name: "data", accept: ".csv,text/csv", required: true });
  const submit = h("button", { type: "submit", class: "button small" }, "Import");
  const running = h("ul", { class: "admin-list imports", "aria-live": "polite" });
  const syncMode = () => {
    const mergeOnly = IMPORTS.find((i) => i.type === type.value).mergeOnly;
    overwrite.disabled = !!mergeOnly;
    if (mergeOnly) merge.checked = true;
  };
  type.addEventListener("change", syncMode);
  const form = h("form", { class: "import-form" },
    h("label", { for: "import-type" }, "What the file holds"), type,
    h("fieldset", {},
      h("legend", {}, "What to do with what you have now"),
      h("label", { for: "import-merge" }, merge, " Keep it and add the file's"),
      h("label", { for: "import-overwrite" }, overwrite, " Replace it with the file's")),
    h("label", { for: "import-file" }, "CSV file"), file,
    submit);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    act(submit, async () => {
      const data = new FormData(form);
      const { data: imp } = await api("/settings/imports", { method: "POST", form: data });
      const label = IMPORTS.find((i) => i.type === imp.type).label;
      const row = h("li", { "data-import-id": imp.id, "data-state": imp.state },
        h("div", { class: "admin-item" },
          h("strong", {}, `${label} from ${file.files[0].name}`),
          h("p", { class: "import-progress" }),
          h("progress", { "aria-label": `Progress of the ${label.toLowerCase()} import` })));
      running.prepend(row);
      form.reset();
      syncMode();
      follow(imp, row).catch((err) => showError(err.message));
    });
  });
  return h("section", { class: "panel admin-section", id: "data-import", "aria-labelledby": "data-import-h" },
    h("h2", { id: "data-import-h" }, "Import"),
    h("p", {}, "A CSV exported here, by Mastodon or by GoToSocial. Accounts of other departments are looked up as you would search for them."),
    form, running);
}

export async function dataView() {
  const head = h("div", { class: "view-head" }, h("h1", { tabindex: "-1" }, "Import and export"));
  if (!session.token) {
    return { title: "Import and export", node: h("div", {}, head, h("p", { class: "empty" }, "Sign in to export or import your data.")) };
  }
  return { title: "Import and export", node: h("div", { class: "data-page" }, head, exportsSection(), importsSection()) };
}
