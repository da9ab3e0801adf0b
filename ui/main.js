import { t, language } from "./i18n.js";

const invoke = window.__TAURI__.core.invoke;
const $ = (id) => document.getElementById(id);

function translate() {
  document.documentElement.lang = language();
  for (const el of document.querySelectorAll("[data-i18n]")) {
    el.textContent = t(el.dataset.i18n);
  }
}

function render(o) {
  $("error").hidden = !o.error;
  $("error").textContent = o.error ?? "";
  $("setup").hidden = o.initialized || !!o.error;
  $("counter").hidden = !o.initialized;
  $("datadir").textContent = o.data_dir;
  if (o.venue) $("venue").textContent = o.venue;
  $("fingerprint").textContent = o.fingerprint ? `${t("fingerprint")} ${o.fingerprint}` : "";
  $("present").textContent = String(o.present);
  const body = $("areas").querySelector("tbody");
  body.replaceChildren(
    ...o.areas.map((a) => {
      const tr = document.createElement("tr");
      const name = document.createElement("td");
      name.textContent = `${a.location} / ${a.name}`;
      const n = document.createElement("td");
      n.textContent = String(a.present);
      n.className = "num";
      tr.append(name, n);
      return tr;
    }),
  );
  $("warnings").replaceChildren(
    ...o.warnings.map((w) => {
      const div = document.createElement("div");
      div.className = "banner warning";
      const since = w.since ? new Date(w.since * 1000).toLocaleDateString(document.documentElement.lang) : "";
      div.textContent = `${t("warning")}: ${t(w.code).replace("{since}", since)}`;
      return div;
    }),
  );
}

async function refresh() {
  try {
    render(await invoke("overview"));
  } catch (e) {
    render({ error: String(e), initialized: false, areas: [], warnings: [], present: 0, data_dir: "" });
  }
}

translate();
refresh();
setInterval(refresh, 2000);
