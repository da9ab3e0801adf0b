// The first-run wizard: venue and key file, backup copy, areas, operator PIN.
import { t, language } from "./i18n.js";
import { $, el, call, choose, errorText } from "./api.js";

let refresh = () => {};
// A step the wizard stays on after the data moved on, until the owner has read its
// confirmation ("copy verified") and goes on.
let heldStep = null;
let shownStep = null;

function addAreaRow(name = "", tables = "") {
  const remove = el("button", { type: "button", textContent: t("removeAreaRow") });
  const row = el(
    "div",
    { className: "row area-row" },
    el("input", { className: "area-name", placeholder: t("areaName"), value: name, autocomplete: "off" }),
    el("input", { className: "area-tables", placeholder: t("tablesOptional"), value: tables, autocomplete: "off" }),
    remove,
  );
  for (const input of row.querySelectorAll("input")) input.setAttribute("aria-label", input.placeholder);
  remove.addEventListener("click", () => {
    row.remove();
    if (!document.querySelector(".area-row")) addAreaRow();
  });
  $("wiz-area-rows").append(row);
}

async function showStrength() {
  const s = await call("passphrase_strength", { passphrase: $("wiz-pass").value, venue: $("wiz-name").value });
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

let trustRoot = null;

// The published fingerprint against the trust file's, as it is typed.
function compareRoot() {
  const norm = (s) => s.toUpperCase().replace(/[^0-9A-Z]/g, "");
  const typed = norm($("wiz-expect-root").value);
  const out = $("wiz-expect-match");
  if (!typed || !trustRoot) {
    out.textContent = "";
    return;
  }
  const ok = typed === norm(trustRoot);
  out.className = ok ? "hint good" : "hint bad";
  out.textContent = ok ? t("expectRootMatch") : norm(trustRoot).startsWith(typed) ? "" : t("expectRootMismatch");
}

// Says plainly whether the key file would lie on this PC's own disk.
async function showKeyPlace() {
  const path = $("wiz-key").value.trim();
  const out = $("wiz-key-place");
  if (!path) {
    out.textContent = "";
    return;
  }
  const p = await call("key_file_place", { path }).catch(() => null);
  if (p?.removable) {
    out.className = "hint good";
    out.textContent = t("keyPlaceRemovable");
  } else if (p?.on_this_pc) {
    out.className = "hint bad";
    out.textContent = t("keyPlaceThisPc");
  } else out.textContent = "";
}

// After a backup: confirmed on screen (the wizard waits there until the owner goes on),
// or why it does not count (next to the button that made it), with the offer to delete
// the key file on this PC's disk once a verified copy is on a removable drive.
async function backupDone(outcome, errorBox) {
  if (!outcome.counted) {
    errorBox.textContent = t("backupSameMedium");
    return;
  }
  heldStep = "backup";
  $("wiz-copy").hidden = true;
  $("wiz-verify").hidden = true;
  $("wiz-postpone-box").hidden = true;
  $("wiz-backup-done-text").textContent = t("backupCounted");
  $("wiz-backup-done").hidden = false;
  if (outcome.pc_copy) {
    $("wiz-pc-copy-path").textContent = outcome.pc_copy;
    $("wiz-pc-copy").hidden = false;
  }
  $("wiz-backup-next").focus();
}

function leaveBackup() {
  heldStep = null;
  for (const id of ["wiz-copy", "wiz-verify", "wiz-postpone-box"]) $(id).hidden = false;
  $("wiz-backup-done").hidden = true;
  $("wiz-pc-copy").hidden = true;
  refresh();
}

// Before the first question: does this PC's keychain work? Without one, the owner is
// asked once, up front, whether the secret may live in a file.
async function checkKeychain() {
  const ok = await call("keychain_available").catch(() => true);
  $("wiz-keychain").hidden = ok;
  $("wiz-file-secret").required = !ok;
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
    const i = await call("inspect_trust_file", { path });
    trustRoot = i.root_fingerprint;
    compareRoot();
    info.className = "info";
    info.textContent = t("trustInfo", {
      authority: i.authority,
      serial: i.serial,
      fp: i.root_fingerprint,
      offices: i.offices.join(", ") || "–",
    });
  } catch (e) {
    trustRoot = null;
    compareRoot();
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
  call("suggest_key_file").then((s) => {
    if (!$("wiz-key").value) $("wiz-key").value = s.path;
    showKeyPlace();
  });
  $("wiz-key").addEventListener("change", showKeyPlace);
  $("wiz-expect-root").addEventListener("input", compareRoot);
  $("wiz-pc-copy-delete").addEventListener("click", async () => {
    const r = await call("delete_pc_key_copy", { pin: null }, { out: $("wiz-pc-copy-error") });
    if (r) {
      $("wiz-pc-copy").hidden = true;
      $("wiz-backup-done-text").textContent = `${t("backupCounted")} ${t("pcCopyDeleted", { path: r.value })}`;
    }
  });
  $("wiz-pc-copy-keep").addEventListener("click", () => ($("wiz-pc-copy").hidden = true));
  $("wiz-backup-next").addEventListener("click", leaveBackup);
  checkKeychain();

  $("wiz-venue").addEventListener("submit", async (e) => {
    e.preventDefault();
    const button = $("wiz-create");
    button.disabled = true;
    const r = await call("create_venue", {
      venue: {
        name: $("wiz-name").value,
        address: $("wiz-address").value,
        trust_file: $("wiz-trust").value,
        expect_root: $("wiz-expect-root").value,
        key_file: $("wiz-key").value,
        passphrase: $("wiz-pass").value,
        passphrase_repeat: $("wiz-pass2").value,
        secret_store: $("wiz-file-secret").checked ? "file" : "keyring",
        server: $("wiz-server-conn").value.trim()
          ? { conn: $("wiz-server-conn").value, ca_file: $("wiz-server-ca").value, password: $("wiz-server-pass").value }
          : null,
      },
    }, { out: $("wiz-venue-error") });
    button.disabled = false;
    if (r) {
      $("wiz-pass").value = "";
      $("wiz-pass2").value = "";
      $("wiz-server-pass").value = "";
      refresh();
    }
  });
  $("wiz-copy").addEventListener("submit", async (e) => {
    e.preventDefault();
    const r = await call("backup_copy", {
      from: "",
      to: $("wiz-copy-to").value,
      passphrase: $("wiz-copy-pass").value,
    }, { out: $("wiz-backup-error") });
    $("wiz-copy-pass").value = "";
    if (r) backupDone(r.value, $("wiz-backup-error"));
  });
  $("wiz-verify").addEventListener("submit", async (e) => {
    e.preventDefault();
    const r = await call("backup_verify", {
      path: $("wiz-verify-path").value,
      passphrase: $("wiz-verify-pass").value,
    }, { out: $("wiz-verify-error") });
    $("wiz-verify-pass").value = "";
    if (r) backupDone(r.value, $("wiz-verify-error"));
  });
  $("wiz-postpone").addEventListener("click", async () => {
    if (await call("backup_postpone", {}, { out: $("wiz-postpone-error") })) refresh();
  });
  $("wiz-join-choose").addEventListener("click", () => choose($("wiz-join-file"), "join"));
  $("wiz-server-ca-choose").addEventListener("click", () => choose($("wiz-server-ca"), "ca"));
  $("wiz-join-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const button = $("wiz-join-go");
    button.disabled = true;
    const r = await call(
      "join_venue",
      {
        join: {
          file: $("wiz-join-file").value,
          passphrase: $("wiz-join-pass").value,
          secret_store: $("wiz-file-secret").checked ? "file" : "keyring",
        },
      },
      { out: $("wiz-join-error"), busy: true },
    );
    button.disabled = false;
    if (r) {
      $("wiz-join-pass").value = "";
      refresh();
    }
  });
  $("wiz-areas").addEventListener("submit", async (e) => {
    e.preventDefault();
    const areas = [...document.querySelectorAll(".area-row")].map((r) => ({
      name: r.querySelector(".area-name").value,
      tables: r.querySelector(".area-tables").value,
    }));
    const r = await call("setup_areas", { location: $("wiz-location").value, areas }, { out: $("wiz-areas-error") });
    if (r) refresh();
  });
  $("wiz-pin").addEventListener("submit", async (e) => {
    e.preventDefault();
    const r = await call("set_pin", { pin: $("wiz-pin1").value, repeat: $("wiz-pin2").value, old: null }, { out: $("wiz-pin-error") });
    $("wiz-pin1").value = "";
    $("wiz-pin2").value = "";
    if (r) refresh();
  });
}

// Shows the step the data says is next ("venue" before the venue exists), or the step
// held for its confirmation. A new step starts at its top, with its heading focused.
export async function renderWizard(dataStep, venue = "") {
  const step = heldStep ?? dataStep;
  for (const li of document.querySelectorAll(".steps li")) {
    li.className = li.dataset.step === step ? "current" : "";
    if (li.dataset.step === step) li.setAttribute("aria-current", "step");
    else li.removeAttribute("aria-current");
  }
  for (const s of ["venue", "backup", "areas", "pin"]) $(`wiz-${s}`).hidden = s !== step;
  $("wiz-join").hidden = step !== "venue";
  if (step !== shownStep) {
    shownStep = step;
    $("main").scrollTop = 0;
    $(`wiz-${step}`).querySelector("h2")?.focus({ preventScroll: true });
    // Most venues are one place: its name is the likely location name.
    if (step === "areas" && !$("wiz-location").value) $("wiz-location").value = venue;
    if (step === "backup") {
      const k = await call("key_status").catch(() => null);
      $("wiz-backup-key").textContent = k?.key_file ?? "";
    }
  }
  document.documentElement.lang = language();
}
