// All user-visible text of the window, German first.
export const messages = {
  de: {
    title: "Tresen",
    notSetUp: "Noch nicht eingerichtet",
    setupHint: "Richten Sie den Betrieb mit „tresen venue init“ ein. Datenordner:",
    presentGuests: "Gäste anwesend",
    area: "Bereich",
    present: "Anwesend",
    warning: "Achtung",
    fingerprint: "Schlüssel",
    "backup-no-copy":
      "Vom Schlüssel gibt es noch keine geprüfte Sicherungskopie. Speichern Sie eine Kopie auf einem anderen Datenträger und laden Sie sie einmal zur Probe.",
    "backup-not-verified":
      "Die Sicherungskopie des Schlüssels wurde noch nicht geprüft. Laden Sie sie einmal mit der Passphrase.",
    "backup-overdue": "Die Sicherungskopie des Schlüssels wurde zuletzt am {since} geprüft. Bitte erneut prüfen.",
    "secret-in-file":
      "Das lokale Geheimnis liegt in einer Datei statt im Schlüsselbund des Systems. Wer den Datenordner kopiert, kann Besuche eines Tages verknüpfen.",
  },
  en: {
    title: "Tresen",
    notSetUp: "Not set up yet",
    setupHint: "Set up the venue with “tresen venue init”. Data folder:",
    presentGuests: "guests present",
    area: "Area",
    present: "Present",
    warning: "Warning",
    fingerprint: "Key",
    "backup-no-copy":
      "The key file has no verified backup yet. Save a copy on another medium and load it once to check it.",
    "backup-not-verified": "The key file backup has not been checked yet. Load it once with the passphrase.",
    "backup-overdue": "The key file backup was last checked on {since}. Please check it again.",
    "secret-in-file":
      "The local secret is kept in a file instead of the system keyring. Anyone who copies the data folder can link visits of one day.",
  },
};

export function language() {
  const lang = (navigator.language || "de").slice(0, 2);
  return messages[lang] ? lang : "de";
}

export function t(key) {
  return messages[language()][key] ?? messages.de[key] ?? key;
}
