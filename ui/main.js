import { t, language } from "./i18n.js";

const invoke = window.__TAURI__.core.invoke;
const listen = window.__TAURI__.event.listen;
const $ = (id) => document.getElementById(id);

function translate() {
  document.documentElement.lang = language();
  for (const el of document.querySelectorAll("[data-i18n]")) {
    el.textContent = t(el.dataset.i18n);
  }
  for (const el of document.querySelectorAll("[data-i18n-placeholder]")) {
    el.placeholder = t(el.dataset.i18nPlaceholder);
  }
}

function resultText(r) {
  return t(r.code, { area: r.area ?? "", table: r.table ?? "" }) ?? r.message;
}

function showResult(r) {
  const box = $("result");
  box.className = `result ${r.ok ? "ok" : "refused"}`;
  $("result-title").textContent = resultText(r);
  // The core's sentence names the field for invalid details; otherwise it is shown only
  // where the window has no words of its own.
  $("result-detail").textContent = r.code === "invalid-contact" || !t(r.code) ? r.message : "";
  box.dataset.code = r.code;
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
  $("current-area").textContent = o.current_area ?? "–";
  const body = $("areas").querySelector("tbody");
  body.replaceChildren(
    ...o.areas.map((a) => {
      const tr = document.createElement("tr");
      const name = document.createElement("td");
      const button = document.createElement("button");
      button.textContent = `${a.location} / ${a.name}`;
      button.addEventListener("click", async () => {
        await invoke("select_area", { area: a.id });
        refresh();
        $("wedge").focus();
      });
      name.append(button);
      const n = document.createElement("td");
      n.textContent = String(a.present);
      n.className = "num";
      tr.append(name, n);
      return tr;
    }),
  );
  const devices = Object.entries(o.devices);
  $("devices").replaceChildren(
    ...(devices.length
      ? devices.map(([name, s]) => {
          const li = document.createElement("li");
          li.className = `device ${s.state}`;
          const label = s.state === "connected" ? t("connected") : s.state === "waiting" ? t("waiting") : t("deviceError");
          const detail = s.reason ? ` – ${s.reason}${s.advice ? ` (${s.advice})` : ""}` : "";
          li.textContent = `${name}: ${label}${detail}`;
          return li;
        })
      : [Object.assign(document.createElement("li"), { textContent: t("noScanners") })]),
  );
  $("recent").replaceChildren(
    ...o.recent.map((r) => {
      const li = document.createElement("li");
      li.className = r.ok ? "ok" : "refused";
      li.textContent = `${new Date(r.at * 1000).toLocaleTimeString(language())} ${resultText(r)}`;
      return li;
    }),
  );
  $("warnings").replaceChildren(
    ...o.warnings.map((w) => {
      const div = document.createElement("div");
      div.className = "banner warning";
      const since = w.since ? new Date(w.since * 1000).toLocaleDateString(language()) : "";
      div.textContent = `${t("warning")}: ${t(w.code, { since })}`;
      return div;
    }),
  );
}

async function refresh() {
  try {
    render(await invoke("overview"));
  } catch (e) {
    render({ error: String(e), initialized: false, areas: [], warnings: [], present: 0, data_dir: "", devices: {}, recent: [] });
  }
}

// The keyboard-wedge field keeps focus and measures the gaps between keystrokes, so the
// core can tell a scanner's burst from typing.
const wedge = $("wedge");
let stamps = [];
wedge.addEventListener("keydown", async (e) => {
  if (e.key === "Enter") {
    e.preventDefault();
    const text = wedge.value;
    const gaps = stamps.slice(1).map((s, i) => Math.round(s - stamps[i]));
    wedge.value = "";
    stamps = [];
    if (text.trim()) {
      showResult(await invoke("wedge_scan", { text, gaps }));
      refresh();
    }
  } else if (e.key.length === 1) {
    stamps.push(performance.now());
  }
});
// The wedge field takes the focus back unless staff are typing into the form.
const inForm = () => document.activeElement?.closest?.("#register");
document.addEventListener("click", (e) => {
  if (e.target.tagName !== "BUTTON" && !e.target.closest("#register")) wedge.focus();
});
setInterval(() => {
  if (document.activeElement !== wedge && !inForm()) wedge.focus();
}, 1000);

$("register").addEventListener("submit", async (e) => {
  e.preventDefault();
  const v = (id) => $(id).value;
  const contact = {
    name: v("reg-name"),
    street: v("reg-street"),
    postcode: v("reg-postcode"),
    city: v("reg-city"),
    phone: v("reg-phone"),
    email: v("reg-email"),
  };
  const r = await invoke("register_guest", { contact });
  showResult(r);
  if (r.ok) $("register").reset();
  refresh();
});

// Closing time takes two taps: the first arms the button for five seconds.
let armed = null;
$("close-all").addEventListener("click", async () => {
  const button = $("close-all");
  if (!armed) {
    button.textContent = t("closeAllConfirm");
    button.classList.add("armed");
    armed = setTimeout(() => {
      armed = null;
      button.textContent = t("closeAll");
      button.classList.remove("armed");
    }, 5000);
    return;
  }
  clearTimeout(armed);
  armed = null;
  button.textContent = t("closeAll");
  button.classList.remove("armed");
  await invoke("close_all");
  refresh();
  wedge.focus();
});

translate();
refresh();
setInterval(refresh, 2000);
listen("scan-result", (e) => {
  showResult(e.payload);
  refresh();
});
listen("scanner-state", () => refresh());
