// The first-run wizard: venue and key file, backup copy, areas, operator PIN.
import { t, language } from "./i18n.js";
import { $, el, invoke, attempt, choose, errorText } from "./api.js";

let refresh = () => {};

function addAreaRow(name = "", tables = "") {
  const row = el(
    "div",
    { className: "row area-row" },
    el("input", { className: "area-name", placeholder: t("areaName"), value: name, autocomplete: "off" }),
    el("input", { className: "area-tables", placeholder: t("tablesOptional"), value: tables, autocomplete: "off" }),
  );
  $("wiz-area-rows").append(row);
}

async function showStrength() {
  const s = await invoke("passphrase_strength", { passphrase: $("wiz-pass").value, venue: $("wiz-name").value });
  const share = Math.min(1, s.guesses_log10 / s.min_guesses_log10);
  const bar = $("wiz-meter-bar");
  bar.style.width = `${Math.round(share * 100)}%`;
  bar.className = s.enough ? "ok" : share > 0.6 ? "fair" : "weak";
  $("wiz-strength").textContent = s.enough
    ? t("strengthOk")
    : s.chars === 0
      ? t("strengthEmpty", { min: s.min_chars })
      : s.chars < s.min_chars
        ? t("strengthShort", { n: s.min_chars - s.chars })
        : t("strengthWeak");
}

async function inspectTrust() {
  const info = $("wiz-trust-info");
  const path = $("wiz-trust").value.trim();
  if (!path) {
    info.hidden = true;
    return;
  }
  info.hidden = false;
  try {
    const i = await invoke("inspect_trust_file", { path });
    info.className = "info";
    info.textContent = t("trustInfo", {
      authority: i.authority,
      serial: i.serial,
      fp: i.root_fingerprint,
      offices: i.offices.join(", ") || "–",
    });
  } catch (e) {
    info.className = "info bad";
    info.textContent = errorText(e);
  }
}

export function setupWizard(refreshAll) {
  refresh = refreshAll;
  addAreaRow();
  $("wiz-area-add").addEventListener("click", () => addAreaRow());
  $("wiz-pass").addEventListener("input", showStrength);
  $("wiz-trust").addEventListener("change", inspectTrust);
  $("wiz-trust-choose").addEventListener("click", async () => {
    await choose($("wiz-trust"), "trust");
    inspectTrust();
  });
  $("wiz-key-choose").addEventListener("click", () => choose($("wiz-key"), "save-key"));
  $("wiz-copy-choose").addEventListener("click", () => choose($("wiz-copy-to"), "save-key"));
  $("wiz-verify-choose").addEventListener("click", () => choose($("wiz-verify-path"), "key"));
  invoke("suggest_key_file").then((p) => {
    if (!$("wiz-key").value) $("wiz-key").value = p;
  });

  $("wiz-venue").addEventListener("submit", async (e) => {
    e.preventDefault();
    const button = $("wiz-create");
    button.disabled = true;
    const r = await attempt($("wiz-venue-error"), "create_venue", {
      venue: {
        name: $("wiz-name").value,
        address: $("wiz-address").value,
        trust_file: $("wiz-trust").value,
        expect_root: $("wiz-expect-root").value,
        key_file: $("wiz-key").value,
        passphrase: $("wiz-pass").value,
        passphrase_repeat: $("wiz-pass2").value,
        secret_store: $("wiz-file-secret").checked ? "file" : "keyring",
      },
    });
    button.disabled = false;
    if (r) {
      $("wiz-pass").value = "";
      $("wiz-pass2").value = "";
      refresh();
    }
  });
  $("wiz-copy").addEventListener("submit", async (e) => {
    e.preventDefault();
    const r = await attempt($("wiz-backup-error"), "backup_copy", {
      from: "",
      to: $("wiz-copy-to").value,
      passphrase: $("wiz-copy-pass").value,
    });
    $("wiz-copy-pass").value = "";
    if (r) refresh();
  });
  $("wiz-verify").addEventListener("submit", async (e) => {
    e.preventDefault();
    const r = await attempt($("wiz-backup-error"), "backup_verify", {
      path: $("wiz-verify-path").value,
      passphrase: $("wiz-verify-pass").value,
    });
    $("wiz-verify-pass").value = "";
    if (r) refresh();
  });
  $("wiz-postpone").addEventListener("click", async () => {
    if (await attempt($("wiz-backup-error"), "backup_postpone")) refresh();
  });
  $("wiz-areas").addEventListener("submit", async (e) => {
    e.preventDefault();
    const areas = [...document.querySelectorAll(".area-row")].map((r) => ({
      name: r.querySelector(".area-name").value,
      tables: r.querySelector(".area-tables").value,
    }));
    const r = await attempt($("wiz-areas-error"), "setup_areas", { location: $("wiz-location").value, areas });
    if (r) refresh();
  });
  $("wiz-pin").addEventListener("submit", async (e) => {
    e.preventDefault();
    const r = await attempt($("wiz-pin-error"), "set_pin", { pin: $("wiz-pin1").value, repeat: $("wiz-pin2").value });
    $("wiz-pin1").value = "";
    $("wiz-pin2").value = "";
    if (r) refresh();
  });
}

// Shows the step the data says is next ("venue" before the venue exists).
export async function renderWizard(step) {
  for (const li of document.querySelectorAll(".steps li")) {
    li.className = li.dataset.step === step ? "current" : "";
  }
  for (const s of ["venue", "backup", "areas", "pin"]) $(`wiz-${s}`).hidden = s !== step;
  if (step === "backup") {
    const k = await invoke("key_status").catch(() => null);
    $("wiz-backup-key").textContent = k?.key_file ?? "";
  }
  document.documentElement.lang = language();
}
