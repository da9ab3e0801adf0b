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
  },
};

export function language() {
  const lang = (navigator.language || "de").slice(0, 2);
  return messages[lang] ? lang : "de";
}

export function t(key) {
  return messages[language()][key] ?? messages.de[key] ?? key;
}
